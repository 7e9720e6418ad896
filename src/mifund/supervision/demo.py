"""The supervision step of `mifund demo run`: screen and store (hits, cases), then evaluate against the
planted labels and write the evaluation beside the report."""

from __future__ import annotations

from pathlib import Path


def demo_step(wh, labels: Path, out_dir: Path, *, actor: str) -> dict[str, int | float]:
    """Screen the demo warehouse, store hits and cases, evaluate against `labels`; writes
    `supervision_evaluation.csv` and `supervision_metrics.csv` in `out_dir`; returns counts for the run."""
    from mifund.supervision.engine import screen
    from mifund.supervision.evaluate import evaluate, read_labels
    from mifund.supervision.profiling import provider_profiles
    from mifund.supervision.store import cases, store_screen

    res = screen(wh)
    store_screen(wh, res, actor=actor)
    claims = wh.to_pandas(wh.table("claims").select("claim_id")).claim_id
    rep = evaluate(read_labels(labels), res.hits.to_pandas(), claims, provider_profiles(wh))
    rep.kinds.to_csv(Path(out_dir) / "supervision_evaluation.csv", index=False)
    rep.metrics.to_csv(Path(out_dir) / "supervision_metrics.csv", index=False)
    judged = rep.kinds[rep.kinds.judged.fillna(False).astype(bool)]
    return {"supervision hits": res.hits.num_rows, "supervision cases": len(cases(wh)),
            "supervision rules failed": len(res.failures),
            "supervision min recall": float(judged.recall.min()) if len(judged) else float("nan"),
            "supervision min precision": float(judged.precision.min()) if len(judged) else float("nan")}
