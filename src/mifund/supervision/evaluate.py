"""Evaluation against a labels file: recall per kind, precision, precision at k, ROC AUC and AUPRC.

Labels (CSV, XLSX or Parquet) come in three shapes, mixed freely, one label per row:

- ``claim_id, kind`` (optionally ``line_no``): a claim (or line) of that kind;
- ``provider_id, kind``: a provider (scored by provider profiling);
- ``person_id, year, kind``: a person-year (person-level rules, e.g. duplicate enrolment).

A row with ``claim_id`` is a claim label; else with ``provider_id`` (and no ``person_id``) a provider
label; else a person label. An optional ``is_abuse`` column marks near-misses (false): legitimate
look-alikes a good screen leaves alone, counted as ``near_miss_flagged``. Person ids in the warehouse
are keyed hashes when the data came with citizen IDs; pass ``id_key`` to hash the labels' ids the same way.

Definitions (claim level): a label of kind k is *found* when a rule of kind k hit its claim; a rule kind's
*precision* is the share of the claims it flagged that carry an abuse label of any kind (``precision_same_kind``
counts only labels of its own kind). *Overall precision* is over the rule kinds that occur in the labels
(rules of other kinds are reported, not judged: nothing was planted for them). Scores: a claim's score is
the best score of its hits (0 when none); ROC AUC and AUPRC rank all claims by it against "has an abuse
label"; precision at k takes the k highest-scored claims. Providers are ranked by the profile score.

What the figures can and cannot show (each metric row carries a ``note``): a hit's score is its check's
severity times its rule's hand-set ``weight``, so where every rule kind with planted abuse weighs more than
every kind without (the shipped rules and the demo), the score ranking (ROC AUC, AUPRC, precision at k)
measures that choice of weights, not the screen; the same metrics ranked by severity alone (no weights)
are reported beside them. Precision over the judged kinds leaves out the rules with nothing planted, whose
hits fill the case queue too: ``precision, all rules`` and the share of the amount at stake on labelled
claims say how much of the queue points at labelled abuse. Provider metrics rest on a handful of labelled
providers: the ROC AUC comes with its number of positives and a conservative 95% interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score


@dataclass
class EvalReport:
    kinds: pd.DataFrame      # one row per (level, kind): labelled, found, recall, flagged, precision, ...
    metrics: pd.DataFrame    # level, metric, value
    problems: list[str] = field(default_factory=list)  # labels that match nothing (check_labels)


def read_labels(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such labels file")
    if path.suffix.lower() in (".xlsx", ".xls"):
        df = pd.read_excel(path, dtype=str)
    elif path.suffix.lower() == ".parquet":
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df = df.replace({"": None})
    if "kind" not in df.columns or not ({"claim_id", "provider_id", "person_id"} & set(df.columns)):
        raise ValueError(f"{path}: labels need a kind column and claim_id, provider_id or person_id "
                         f"(found: {', '.join(df.columns)})")
    for c in ("claim_id", "provider_id", "person_id", "year", "line_no", "is_abuse"):
        if c not in df.columns:
            df[c] = None
    df["is_abuse"] = df.is_abuse.map(lambda v: True if v is None else str(v).strip().lower() in ("true", "1", "yes"))
    df["level"] = np.where(df.claim_id.notna(), "claim",
                           np.where(df.provider_id.notna() & df.person_id.isna(), "provider", "person"))
    return df


def _row_name(path: Path, i: int) -> str:
    """Where label i (0-based, in file order) is: the line of a CSV and the row of a sheet (the header is
    line / row 1), the row number of a Parquet file."""
    return f"{path.name} row {i + 1}" if path.suffix.lower() == ".parquet" else f"{path.name} line {i + 2}"


def check_labels(wh, labels: pd.DataFrame, path: str | Path, rules=None, *,
                 id_key: bytes | None = None, examples: int = 5) -> list[str]:
    """Labels that can match nothing, one message per problem (naming the file's row and the id or
    kind): claim, provider and person ids not in the warehouse, and abuse labels of claims and persons
    whose kind is no rule's kind. Without this a typo reads as "recall 0" or as a rule kind "not judged"."""
    from mifund.supervision.spec import load_rules

    path = Path(path)
    out = []
    known = {
        "claim": set(wh.to_pandas(wh.table("claims").select("claim_id")).claim_id),
        "provider": set(wh.to_pandas(wh.table("providers").select("provider_id")).provider_id),
        "person": set(wh.to_pandas(wh.table("enrollment").select("person_id").distinct()).person_id),
    }
    persons = labels.person_id
    if id_key is not None:
        from mifund.ingest.idnumber import hash_ids

        m = persons.notna()
        persons = persons.copy()
        persons[m] = hash_ids(id_key, [str(v).strip().upper() for v in persons[m]])
    for level, col, ids in (("claim", "claim_id", labels.claim_id), ("provider", "provider_id", labels.provider_id),
                            ("person", "person_id", persons)):
        at = labels.level == level
        bad = [(i, v) for i, v in zip(labels.index[at], ids[at], strict=True) if v not in known[level]]
        if bad:
            shown = "; ".join(f"{_row_name(path, i)}: {labels.at[i, col]}" for i, _ in bad[:examples])
            out.append(f"{len(bad)} {level} label(s) whose {col} is not in the warehouse ({shown}"
                       + (", ..." if len(bad) > examples else "") + ")")
    kinds = {r.kind for r in load_rules()} | {r.kind for r in rules or []}
    at = labels.level.isin(["claim", "person"]) & labels.is_abuse & ~labels.kind.isin(kinds)
    for kind, g in labels[at].groupby("kind", sort=True):
        rows = ", ".join(_row_name(path, i) for i in g.index[:examples]) + (", ..." if len(g) > examples else "")
        out.append(f"{kind}: no rule of this kind ({rows}); known kinds: {', '.join(sorted(kinds))}")
    return out


def _at_k(order_labels: np.ndarray, ks=(10, 50, 100)) -> dict[str, float]:
    return {f"precision_at_{k}": float(order_labels[:k].mean()) for k in ks if len(order_labels) >= k}


def _ranking_metrics(y: np.ndarray, score: np.ndarray, ks) -> dict[str, float]:
    out: dict[str, float] = {"positives": int(y.sum()), "ranked": len(y)}
    if 0 < y.sum() < len(y):
        out["roc_auc"] = float(roc_auc_score(y, score))
        out["auprc"] = float(average_precision_score(y, score))
    order = np.lexsort((-np.arange(len(y)), -score))
    out.update(_at_k(y[order], ks))
    return out


def _auc_interval(auc: float, n_pos: int) -> tuple[float, float]:
    """A conservative 95% interval of a ROC AUC that few positives rest on. The AUC is the mean, over the
    positives, of each one's share of negatives ranked below it: values in 0..1, so their variance is at
    most AUC x (1 - AUC), as for a proportion of n_pos trials. Hence the Wilson score interval with n =
    n_pos (Hanley-McNeil's gives 1.00-1.00 for a perfect ranking of 2 positives, which says nothing):
    a perfect ranking of 2 positives gives 0.34-1.00."""
    z2 = 1.96 ** 2
    centre = (auc + z2 / (2 * n_pos)) / (1 + z2 / n_pos)
    half = 1.96 * np.sqrt(auc * (1 - auc) / n_pos + z2 / (4 * n_pos * n_pos)) / (1 + z2 / n_pos)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def evaluate(labels: pd.DataFrame, hits: pd.DataFrame, all_claims: pd.Series,
             profiles: pd.DataFrame | None = None, *, id_key: bytes | None = None) -> EvalReport:
    """Score `hits` (a screen's hits, as a DataFrame) and `profiles` against `labels` (read_labels)."""
    rows, metrics = [], []
    if id_key is not None:
        from mifund.ingest.idnumber import hash_ids

        m = labels.person_id.notna()
        labels.loc[m, "person_id"] = hash_ids(id_key, [str(v).strip().upper() for v in labels.person_id[m]])
    # -- claims ------------------------------------------------------------------------------------
    cl = labels[labels.level == "claim"]
    ch = hits[hits.claim_id.notna()]
    abuse_claims = set(cl.claim_id[cl.is_abuse])
    near = set(cl.claim_id[~cl.is_abuse])
    label_kinds = set(cl.kind[cl.is_abuse])
    for kind, g in cl[cl.is_abuse].groupby("kind"):
        found = set(ch.claim_id[ch.kind == kind])
        rows.append({"level": "claim", "kind": kind, "labelled": g.claim_id.nunique(),
                     "found": len(set(g.claim_id) & found),
                     "found_by_any_rule": len(set(g.claim_id) & set(ch.claim_id))})
    for kind, g in cl[~cl.is_abuse].groupby("kind"):
        rows.append({"level": "claim", "kind": kind, "labelled": g.claim_id.nunique(), "near_miss": True,
                     "near_miss_flagged": len(set(g.claim_id) & set(ch.claim_id))})
    for kind, g in ch.groupby("kind"):
        flagged = set(g.claim_id)
        same = set(cl.claim_id[cl.is_abuse & (cl.kind == kind)])
        r = next((x for x in rows if x["kind"] == kind and x["level"] == "claim"), None)
        if r is None:
            r = {"level": "claim", "kind": kind, "labelled": 0}
            rows.append(r)
        r.update(rules=", ".join(sorted(g.rule_id.unique())), flagged=len(flagged),
                 true_flags=len(flagged & abuse_claims), precision=len(flagged & abuse_claims) / len(flagged),
                 precision_same_kind=len(flagged & same) / len(flagged), near_miss_flagged=len(flagged & near),
                 judged=kind in label_kinds)
    judged = set(ch.claim_id[ch.kind.isin(label_kinds)])
    notes = {}  # metric -> what it does and does not show (a column of the metrics table)
    if judged:
        metrics.append(("claim", "overall_precision (rule kinds in the labels)", len(judged & abuse_claims) / len(judged)))
        metrics.append(("claim", "overall_recall (abuse claims found by any rule)",
                        len(abuse_claims & set(ch.claim_id)) / max(1, len(abuse_claims))))
        notes["overall_precision (rule kinds in the labels)"] = (
            "only the rule kinds with planted abuse; the queue holds every rule's hits: see 'precision, all rules'")
    if len(ch):
        flagged_all = set(ch.claim_id)
        metrics.append(("claim", "precision, all rules", len(flagged_all & abuse_claims) / len(flagged_all)))
        notes["precision, all rules"] = "share of all flagged claims (every rule) that carry an abuse label"
        # each flagged claim at its largest rule amount (a line-level rule's lines added up)
        per = ch.assign(a=ch.amount_at_stake.astype(float).fillna(0.0)).groupby(["claim_id", "rule_id"]).a.sum()
        at_stake = per.groupby("claim_id").max()
        if at_stake.sum() > 0:
            metrics.append(("claim", "share of amount at stake on abuse-labelled claims",
                            float(at_stake[at_stake.index.isin(abuse_claims)].sum() / at_stake.sum())))
            notes["share of amount at stake on abuse-labelled claims"] = (
                "each flagged claim at its largest rule amount; the rest points at claims with no abuse label")
    if abuse_claims:
        y = all_claims.isin(abuse_claims).to_numpy()
        # the score is severity x the rule's hand-set weight: ranking by it measures the weights chosen;
        # ranking by severity alone (no weights) is the check that does not rest on them
        w = (ch.score / ch.severity.where(ch.severity > 0)).groupby(ch.kind).max().round(3)
        circular = "score = severity x hand-set rule weight: this measures the weights chosen, not screening skill"
        if len(w.index.intersection(list(label_kinds))) and len(w.index.difference(list(label_kinds))):
            lo, hi = float(w[w.index.isin(label_kinds)].min()), float(w[~w.index.isin(label_kinds)].max())
            metrics.append(("claim", "rule weight, lowest of the kinds with planted abuse", lo))
            metrics.append(("claim", "rule weight, highest of the kinds without", hi))
            if lo > hi:
                circular += " (every kind with planted abuse weighs more than every kind without)"
        for col, suffix, note in (("score", "", circular),
                                  ("severity", " (severity, no rule weights)",
                                   "ranked by the checks' severity alone; most checks give 1.0 (ties)")):
            best = ch.groupby("claim_id")[col].max()
            score = all_claims.map(best).fillna(0.0).to_numpy(float)
            for k, v in _ranking_metrics(y, score, (10, 50, 100)).items():
                metrics.append(("claim", k + suffix, v))
                if k not in ("positives", "ranked"):
                    notes[k + suffix] = note
    # -- persons -----------------------------------------------------------------------------------
    pl = labels[(labels.level == "person") & labels.is_abuse]
    ph = hits[hits.claim_id.isna() & hits.person_id.notna()].copy()
    if len(pl) or len(ph):
        ph["year"] = pd.to_datetime(ph.service_date).dt.year.astype(str)
        for kind in sorted(set(pl.kind) | set(ph.kind)):
            lk = pl[pl.kind == kind]
            hk = ph[ph.kind == kind]
            with_year = lk.year.notna()
            lab_keys = set(zip(lk.person_id[with_year], lk.year[with_year].astype(str), strict=True))
            lab_persons = set(lk.person_id[~with_year])
            found = sum(1 for p, y in lab_keys if ((hk.person_id == p) & (hk.year == y)).any()) + len(
                lab_persons & set(hk.person_id))
            flagged = list(zip(hk.person_id, hk.year, strict=True))
            true = sum(1 for p, y in flagged if (p, y) in lab_keys or p in lab_persons)
            rows.append({"level": "person", "kind": kind, "labelled": len(lab_keys) + len(lab_persons),
                         "found": found, "rules": ", ".join(sorted(hk.rule_id.unique())), "flagged": len(flagged),
                         "true_flags": true, "precision": true / len(flagged) if flagged else np.nan,
                         "precision_same_kind": true / len(flagged) if flagged else np.nan,
                         "judged": len(lk) > 0})
    # -- providers ---------------------------------------------------------------------------------
    pv = labels[(labels.level == "provider") & labels.is_abuse]
    if len(pv) and profiles is not None and len(profiles):
        y = profiles.provider_id.isin(set(pv.provider_id)).to_numpy()
        k = max(1, int(y.sum()))
        top = set(profiles.sort_values("score", ascending=False).provider_id.head(k))
        for kind, g in pv.groupby("kind"):
            if kind == "upcoding_provider" and "upcoding_suspect" in profiles.columns:
                # the explicit upcoding screen (case-mix and cost index far above the peers')
                flagged = set(profiles.provider_id[profiles.upcoding_suspect.astype(bool)])
                rule = "profile: case-mix z ≥ 5 and cost z ≥ 1"
            else:
                flagged, rule = top, f"profile score, top {k}"
            true = len(set(g.provider_id) & flagged)
            rows.append({"level": "provider", "kind": kind, "labelled": g.provider_id.nunique(),
                         "found": true, "rules": rule, "flagged": len(flagged), "true_flags": true,
                         "precision": true / len(flagged) if flagged else np.nan, "judged": True})
        n_pos = int(y.sum())
        for col in ("score", "max_z_above"):
            for m, v in _ranking_metrics(y, profiles[col].to_numpy(float), (k, 5, 10)).items():
                metrics.append(("provider", f"{m} ({col})", v))
                if m == "roc_auc":
                    lo, hi = _auc_interval(v, n_pos)
                    metrics.append(("provider", f"roc_auc 95% interval low ({col})", lo))
                    metrics.append(("provider", f"roc_auc 95% interval high ({col})", hi))
                    notes[f"{m} ({col})"] = (f"{n_pos} labelled provider(s) of {len(y)}: too few to read as "
                                             "skill (a conservative Wilson interval beside it)")
    kinds = pd.DataFrame(rows)
    for c in ("found", "found_by_any_rule", "flagged", "true_flags", "near_miss_flagged"):
        if c not in kinds.columns:
            kinds[c] = np.nan
    kinds["recall"] = kinds.found / kinds.labelled.where(kinds.labelled > 0)
    cols = ["level", "kind", "labelled", "found", "recall", "rules", "flagged", "true_flags", "precision",
            "precision_same_kind", "near_miss_flagged", "found_by_any_rule", "judged"]
    kinds = kinds.reindex(columns=cols)
    m = pd.DataFrame(metrics, columns=["level", "metric", "value"])
    m["note"] = m.metric.map(notes)
    return EvalReport(kinds, m)


def evaluate_warehouse(wh, labels_path: str | Path, rules=None, *, id_key: bytes | None = None,
                       profiles: bool = True, allow_bad_input: bool = False) -> EvalReport:
    """Screen the warehouse (nothing stored), profile the providers and evaluate against the labels."""
    from mifund.supervision.engine import screen
    from mifund.supervision.profiling import provider_profiles

    labels = read_labels(labels_path)
    problems = check_labels(wh, labels, labels_path, rules, id_key=id_key)
    res = screen(wh, rules, allow_bad_input=allow_bad_input)
    hits = res.hits.to_pandas()
    claims = wh.to_pandas(wh.table("claims").select("claim_id")).claim_id
    prof = provider_profiles(wh) if profiles and (labels.level == "provider").any() else None
    rep = evaluate(labels, hits, claims, prof, id_key=id_key)
    rep.problems = problems
    for r in res.failures:
        rep.metrics.loc[len(rep.metrics)] = ("rule failed", r.rule_id, np.nan)
    return rep
