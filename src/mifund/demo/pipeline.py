"""`mifund demo run`: the whole pipeline on the synthetic municipality, as `make demo` runs it.

generate → import → indicators and warnings → settle the claims → workbook. Each later part of the
mission (projection, pooling, supervision, dashboard) adds its step here as it lands, so the README's
first command stays one line.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass
class DemoRun:
    out_dir: Path
    db: Path
    data_dir: Path
    report: Path
    settled: Path
    steps: list[tuple[str, float]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    settlement_run: str | None = None
    projection_run: str | None = None
    pooling: pd.DataFrame | None = None
    annual_reports: list[Path] = field(default_factory=list)
    demo_users: list[dict] = field(default_factory=list)


def settlement_summary(settled: pd.DataFrame, enrollment: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """Settled amounts by insured region × scheme × visit type (yuan)."""
    e = enrollment.drop_duplicates(["person_id", "year"])[["person_id", "year", "region_code", "scheme"]]
    s = settled.merge(claims[["claim_id", "visit_type"]], on="claim_id").merge(e, on=["person_id", "year"])
    amounts = ["total_amount", "pooled_fund_paid", "catastrophic_paid", "assistance_paid", "account_paid", "out_of_pocket"]
    g = s.groupby(["region_code", "scheme", "visit_type"])[amounts].sum().reset_index()
    g.insert(3, "claims", s.groupby(["region_code", "scheme", "visit_type"]).size().to_numpy())
    g["fund_share"] = (g.pooled_fund_paid + g.catastrophic_paid) / g.total_amount
    return g


def _project(wh, actor: str, paths: int = 500) -> str:
    """The packaged baseline scenario on the warehouse's funds: the central path and Monte Carlo bands,
    stored (the dashboard and the report serve the stored run). The counties are modelled; the store adds
    the city as their sum path by path, so the city's report and dashboard show its projection."""
    from mifund.projection.base import base_from_warehouse
    from mifund.projection.engine import project
    from mifund.projection.scenario import load_scenario
    from mifund.projection.store import store_projection

    s = load_scenario(None, paths=paths)
    base = base_from_warehouse(wh)
    t = time.perf_counter()
    central, mc = project(base, s, paths=0), project(base, s)
    return store_projection(wh, central, mc, actor=actor, seconds=time.perf_counter() - t)


def _city(wh) -> str:
    """The demo municipality's city code (its one region of level `city`)."""
    return str(wh.to_pandas(wh.table("regions").filter(lambda t: t.level == "city"))["region_code"].iloc[0])


def _accounts(wh, path: Path, city: str) -> None:
    """Every employee under the old and the new account rules: the pooled fund's gain, who gains and
    loses, the idle balance — as a workbook."""
    from mifund.accounts import load_account_rules
    from mifund.accounts import simulate as simulate_accounts
    from mifund.accounts.analysis import gains_losses, idle_balance, member_changes, pooled_summary
    from mifund.accounts.reconcile import reconcile
    from mifund.views.output import write_workbook

    sim = simulate_accounts(wh, load_account_rules(region_code=city))
    # beside the simulation, the ledger's and the stored settlement's account figures: they are three
    # models of one fund, and the workbook says how far apart they are
    write_workbook(path, {"pooled_fund": pooled_summary(sim), "idle_balance": idle_balance(sim),
                          "gains_losses": gains_losses(member_changes(sim)), "reconciliation": reconcile(sim, wh)},
                   {"gains_losses": {"category": "group", "values": ["net_gain_mean"], "split": "dimension",
                                     "title": "Mean net gain from the new rules (yuan)"}}, number_formats=True)


def _compare_pooling(wh) -> pd.DataFrame:
    """County pooling, adjustment fund and unified revenue and expenditure on the resident pooled fund's
    ledgers; the comparison must reconcile with the ledger (to the fen) or the demo stops."""
    from mifund.pooling.data import ledger_input
    from mifund.pooling.params import load_modes, safety_line_months
    from mifund.pooling.report import compare, reconcile_with_ledger, run_modes

    mf = load_modes()
    inp, led = ledger_input(wh, scheme="resident", fund="pooled", targets=mf.targets)
    res = run_modes(inp, mf)
    gap = float(reconcile_with_ledger(res, led).difference.abs().max())
    if gap >= 0.01:
        raise RuntimeError(f"pooling modes do not reconcile with the ledger (largest difference {gap:.2f} yuan)")
    return compare(res, safety_line_months(mf))


class DemoOutError(ValueError):
    """--out holds something the demo did not make: it is not ours to delete."""


def check_out_dir(out: Path) -> None:
    """Refuse an --out whose warehouse or data folder the demo did not write. The demo replaces its own
    earlier output (the generator marks its data folder with README_SYNTHETIC.md); a real warehouse or
    data put there by a user (`--out .` beside ./mifund.duckdb) must never be deleted by it."""
    data, db = out / "data", out / "mifund.duckdb"
    ours = (data / "README_SYNTHETIC.md").is_file()
    if data.is_dir() and any(data.iterdir()) and not ours:
        raise DemoOutError(f"{data} holds files the demo did not write; choose another --out "
                           "(or --force to replace them)")
    if db.exists() and not ours:
        raise DemoOutError(f"{db} is not a demo warehouse (no {data / 'README_SYNTHETIC.md'} beside it); "
                           "choose another --out (or --force to replace it)")


def check_not_in_use(db: Path) -> None:
    """WarehouseInUse if another process (a running `mifund serve`) has the warehouse `db` open. The demo
    deletes its earlier warehouse before building a new one; deleting a file a server has open would leave
    that server writing users, imports, case decisions and audit entries into a file no longer on disk,
    all lost on its restart. So it opens the file first, as every other command does, and is refused the same way."""
    from mifund.storage import Warehouse, WarehouseInUse

    if not db.exists():
        return
    try:
        Warehouse(db, read_only=True, migrate=False).close()
    except WarehouseInUse:
        raise
    except Exception:  # noqa: BLE001, S110 - not a readable warehouse (--force over a stray file): nothing holds it
        pass


def run_demo(out_dir: str | Path = "demo", *, size: str = "small", seed: int = 1, actor: str = "demo",
             id_key: bytes | None = None, step: Callable[[str], None] | None = None,
             force: bool = False) -> DemoRun:
    """Build the demo warehouse from nothing in `out_dir` (replacing an earlier demo there; anything else
    there is refused unless `force`, see ``check_out_dir``)."""
    from mifund.demo.generate import DEMO_POLICIES, generate
    from mifund.ingest import import_paths
    from mifund.ledger.indicators import compute_indicators
    from mifund.ledger.warnings import evaluate, load_rules
    from mifund.policy import load_policies
    from mifund.reports.workbook import write_fund_workbook
    from mifund.settlement import settle
    from mifund.storage import Warehouse

    out = Path(out_dir)
    if not force:
        check_out_dir(out)
    check_not_in_use(out / "mifund.duckdb")
    out.mkdir(parents=True, exist_ok=True)
    data = out / "data"
    db = out / "mifund.duckdb"
    for p in (data,):
        shutil.rmtree(p, ignore_errors=True)
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)
    run = DemoRun(out, db, data, out / "fund_report.xlsx", out / "settled.parquet")
    t = time.perf_counter()

    def done(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        run.steps.append((name, now - t))
        t = now
        if step:
            step(name)

    gen = generate(size, seed=seed, out_dir=data)
    run.counts.update(gen.rows)
    done("generate the synthetic municipality")
    key = id_key or b"mifund-demo-key-not-secret-00000"
    with Warehouse(db) as wh:
        import_paths(wh, [data], actor=actor, id_key=key)
        done("import into the warehouse")
        ind = compute_indicators(wh)
        warn = evaluate(ind, load_rules())
        run.counts["warnings"] = len(warn)
        done("indicators and early warnings")
        settled = settle(wh, load_policies(DEMO_POLICIES), detail=True)
        import pyarrow.parquet as pq

        pq.write_table(settled, run.settled)
        from mifund.settlement.store import store_settlement

        run.settlement_run = store_settlement(wh, settled, actor=actor, policy_source=str(DEMO_POLICIES))
        run.counts["settled claims"] = settled.num_rows
        sdf = settled.to_pandas()
        for c in sdf.columns:
            if c.endswith(("_paid", "_amount", "_applied")) or c == "out_of_pocket":
                sdf[c] = sdf[c].astype(float)
        summary = settlement_summary(sdf, wh.to_pandas(wh.table("enrollment")), wh.to_pandas(wh.table("claims")))
        done("settle the claims (three layers)")
        from mifund.supervision.demo import demo_step

        run.counts.update(demo_step(wh, data / "truth" / "labels.csv", out, actor=actor))
        done("supervision: screen the claims, cases, evaluation against the planted labels")
        city = _city(wh)
        _accounts(wh, out / "accounts.xlsx", city)
        done("individual accounts: old vs new rules (2021 reform)")
        from mifund.users import create_demo_users

        run.demo_users = create_demo_users(wh, actor=actor)
        done("demo logins for the dashboard")
        run.projection_run = _project(wh, actor)
        done("project the funds (cohort model, Monte Carlo)")
        run.pooling = _compare_pooling(wh)
        done("compare pooling modes")
        from mifund.reports import build_report, write_html, write_xlsx

        for lang in ("zh", "en"):
            rep = build_report(wh, city, None, lang, synthetic=True)  # every demo file says it is synthetic
            write_xlsx(rep, out / f"annual_report_{lang}.xlsx")
            write_html(rep, out / f"annual_report_{lang}.html")
            run.annual_reports += [out / f"annual_report_{lang}.xlsx", out / f"annual_report_{lang}.html"]
        done("write the annual fund report (基金运行分析报告, zh/en, xlsx/html)")
    write_fund_workbook(run.report, ind, warn, summary, title="演示市 基金运行分析 (SYNTHETIC demo municipality)")
    done("write the workbook")
    return run
