"""`mifund project`: run, compare, backtest (registered by the main CLI as `project`)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from mifund.cli_options import (
    DbOpt,
    FormatOpt,
    OutputOpt,
    check_format,
    err,
    open_warehouse,
    settings,
    write_sheets,
)
from mifund.views.output import render, table_console

app = typer.Typer(help="Fund sustainability projection (基金可持续性预测): cohort model, Monte Carlo, "
                  "scenarios, backtest.", no_args_is_help=True)

SampleOpt = Annotated[str | None, typer.Option("--sample", help="Project a built-in data set instead of the warehouse: national")]
RegionOpt = Annotated[list[str] | None, typer.Option("--region", "-r", help="Region code (exact). Repeatable.")]
SchemeOpt = Annotated[list[str] | None, typer.Option("--scheme", "-s", help="employee | resident. Repeatable.")]
SAMPLE_HINT = "Import data first, or use --sample national."
RulesOpt = Annotated[Path | None, typer.Option(
    "--rules", help="Warning rules YAML laid over the shipped ones: the warning levels and the safety line (the "
    "scenario's safety_line level, orange = 6 months by default) per region, scheme and fund")]
PERCENT = {"p_below_safety_line", "p_exhausted", "share", "cumulative", "p_depleted", "support_ratio_pct",
           "a_p_depleted", "b_p_depleted"}


def _scenario(path: Path | None, **over):
    from mifund.projection.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path, **over)
    except ScenarioError as e:
        err.print(f"[red]Scenario error[/]\n{e}")
        raise typer.Exit(2) from None


@contextmanager
def _scenario_errors():
    """A scenario that validated but fails while projecting (a Monte Carlo draw that takes a rate to
    -100 % or below): the same clean 'Scenario error' and exit code 2 as a bad file, no traceback."""
    from mifund.projection.scenario import ScenarioError

    try:
        yield
    except ScenarioError as e:
        err.print(f"[red]Scenario error[/]\n{e}", highlight=False)
        raise typer.Exit(2) from None


def _left_out(base) -> None:
    """Say which units the starting point left out (a county with no insured persons in the base year)."""
    for n in base.notes:
        if n.startswith("left out"):
            err.print(f"[yellow]{n}[/]", highlight=False)


def _check_rules(rules: Path | None) -> None:
    """Read the rules file before any projection runs, so a bad one fails at once with its file and key."""
    from mifund.ledger.warning_rules import WarningRulesError, load_rules

    try:
        load_rules(rules)
    except WarningRulesError as e:
        err.print(f"[red]Warning rules error[/]\n{e}", highlight=False)
        raise typer.Exit(2) from None


def _line(p, rules: Path | None):
    """The scenario's safety line per unit of ``p`` (mifund.pooling.safety), or a clean exit."""
    from mifund.pooling.safety import SafetyLineError
    from mifund.projection.summary import unit_safety_line

    try:
        return unit_safety_line(p, rules_path=rules)
    except SafetyLineError as e:
        err.print(f"[red]Safety line error:[/] {e}", highlight=False)
        raise typer.Exit(2) from None


def _with_totals(ctx, db, sample, central, mc):
    """central and mc with the regions above the modelled units (the city above its counties) added, summed
    path by path (mifund.projection.store.with_region_totals: what ``--store`` keeps)."""
    add = _totals(ctx, db, sample, central.base.base_year)
    return add(central), None if mc is None else add(mc)


def _totals(ctx, db, sample, year):
    """A function adding the regions above the modelled units to a projection (see ``_with_totals``);
    ``project compare`` applies it to each scenario's runs, so the city's own row is there too."""
    from functools import partial

    from mifund.projection.store import _ledger_units, ledger_units_of, with_region_totals

    if sample:
        from mifund.projection.base import national_sample_frames

        f = national_sample_frames()
        regions, have = f["regions"], ledger_units_of(f["fund_ledger"], year)
    else:
        with open_warehouse(ctx, db, hint=SAMPLE_HINT) as wh:
            regions = wh.to_pandas(wh.table("regions")) if "regions" in wh.con.list_tables() else None
            have = _ledger_units(wh, year)
    return partial(with_region_totals, regions=regions, ledger_units=have)


def _mark_totals(df, units):
    """``basis`` for each row ('modelled', or 'sum of N regions, path by path' for a
    region above them), the regions above first; rows keep their order otherwise."""
    if "basis" not in units or df is None or df.empty or "region_code" not in df:
        return df
    key = ["region_code", "scheme", "fund"]
    b = units[[*key, "basis"]].assign(basis=lambda x: x["basis"].fillna("modelled"))
    out = df.merge(b, on=key, how="left", sort=False)
    out["basis"] = out["basis"].fillna("modelled")
    pos = list(out.columns).index("fund") + 1
    out.insert(pos, "basis", out.pop("basis"))
    first = ~out["basis"].str.startswith("modelled")
    return out.loc[first.sort_values(ascending=False, kind="stable").index].reset_index(drop=True)


def _base(ctx, db, sample, scenario, regions, schemes):
    from mifund.projection.base import base_from_warehouse, build_base, national_sample_frames

    try:
        if sample:
            if sample != "national":
                raise typer.BadParameter("--sample: only 'national'")
            f = national_sample_frames()
            return build_base(f["fund_ledger"], population=f["population"], regions=f["regions"],
                              base_year=scenario.base_year, region_codes=regions, schemes=schemes,
                              tables=scenario.tables)
        with open_warehouse(ctx, db, hint=SAMPLE_HINT) as wh:
            return base_from_warehouse(wh, base_year=scenario.base_year, curve=scenario.expenditure_curve,
                                       region_codes=regions, schemes=schemes, tables=scenario.tables)
    except ValueError as e:
        err.print(f"[red]Cannot build the starting point:[/] {e}")
        raise typer.Exit(2) from None


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    scenario: Annotated[Path | None, typer.Option("--scenario", help="Scenario YAML (default: packaged defaults)")] = None,
    paths: Annotated[int | None, typer.Option("--paths", help="Monte Carlo paths (0 = deterministic only)")] = None,
    years: Annotated[int | None, typer.Option("--years", help="Years to project")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (default: the scenario's)")] = None,
    show: Annotated[str, typer.Option("--show", help="central | bands | risk | depletion | tornado")] = "central",
    charts: Annotated[Path | None, typer.Option("--charts", help="Write fan charts and tornado PNGs to this folder")] = None,
    store: Annotated[bool, typer.Option("--store/--no-store", help="Store the run in the warehouse (projection_runs)")] = False,
    rules: RulesOpt = None,
    region: RegionOpt = None,
    scheme: SchemeOpt = None,
    sample: SampleOpt = None,
    db: DbOpt = None,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """Project every region x scheme: central path, fan-chart bands, risk by year, depletion years, tornado.

    The regions above the modelled units (a city above its counties) come first, as the sum of their
    units path by path (column ``basis``); percentiles and probabilities are taken on the summed paths.
    The safety line is the scenario's level (``safety_line``, orange = 6 months by default) of the
    warning rule payable_months_low, resolved per region, scheme and fund (``--rules`` laid over the
    shipped rules); every title and the risk table's columns name its level and months.
    xlsx writes every table as its own sheet.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from mifund.projection import summary as S
    from mifund.projection.engine import project

    check_format(fmt, output)
    if show not in ("central", "bands", "risk", "depletion", "tornado"):
        raise typer.BadParameter("--show must be central, bands, risk, depletion or tornado")
    s = _scenario(scenario, paths=paths, years=years, seed=seed)
    _check_rules(rules)
    base = _base(ctx, db, sample, s, region, scheme)
    _left_out(base)
    t0 = time.perf_counter()
    with _scenario_errors(), Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                      console=err, transient=True) as bar:
        task = bar.add_task("central projection", total=None)
        central = project(base, s, paths=0)
        mc = None
        if s.paths > 0:
            bar.update(task, description=f"{s.paths:,} Monte Carlo paths")
            mc = project(base, s)
        bar.update(task, description="sensitivity (tornado)")
        torn = S.tornado(base, s, horizon=min(10, s.years)) if show == "tornado" or fmt == "xlsx" or charts else None
    seconds = time.perf_counter() - t0
    modelled = (central, mc)                       # --store sums the regions above them itself
    central, mc = _with_totals(ctx, db, sample, central, mc)
    units = central.base.units
    line = _line(mc if mc is not None else central, rules)
    tables = {"central": S.yearly(central, rules_path=rules)}
    if mc is not None:
        tables["bands"] = S.bands(mc, "balance")
        tables["risk"] = S.risk(mc, line)
        tables["depletion"] = S.depletion(mc)
        tables["depletion_summary"] = S.depletion_summary(mc)
    else:
        tables["depletion"] = S.depletion(central)
    if torn is not None:
        tables["tornado"] = torn
    tables = {k: _mark_totals(v, units) for k, v in tables.items()}
    if show not in tables:
        raise typer.BadParameter(f"--show {show} needs Monte Carlo paths (--paths N > 0)")
    end = int(central.years[-1])
    if charts:
        from mifund.projection.charts import fan_chart, tornado_chart

        charts.mkdir(parents=True, exist_ok=True)
        for u in range(len(units)):
            uu = units.iloc[u]
            tag = f"{uu.region_code}_{uu.scheme}"
            if mc is not None:
                fan_chart(mc, u, charts / f"fan_{tag}.png")
            if torn is not None:
                sel = torn[(torn.region_code == uu.region_code) & (torn.scheme == uu.scheme)]
                if not sel.empty:                  # the sensitivity is of the modelled units only
                    tornado_chart(sel, charts / f"tornado_{tag}.png", horizon=min(10, s.years))
        err.print(f"charts written to {charts}")
    if store:
        from mifund.projection.store import store_projection

        with open_warehouse(ctx, db, read_only=False, create=True) as wh:
            run_id = store_projection(wh, *modelled, actor=settings(ctx).user, seconds=seconds, rules_path=rules)
        err.print(f"stored as run {run_id}")
    if fmt != "table":  # machines: a year or null, and a boolean, never the words
        tables["depletion"] = S.machine_depletion(tables["depletion"])
    if fmt == "xlsx":
        write_sheets(output, {**tables, "notes": __import__("pandas").DataFrame({"note": base.notes})})
        err.print(f"wrote {output}")
        return
    if fmt == "table":
        tables = {k: S.for_people(v, end) if k in ("depletion_summary", "tornado") else v for k, v in tables.items()}
    title = (f"{s.name}: {show} — base {base.base_year}, {len(central.years)} years, "
             f"{0 if mc is None else s.paths:,} paths, seed {s.seed} ({seconds:.1f} s); "
             f"safety line {line.label()}")
    own = {k: v for k, v in s.tables.model_dump().items() if v}
    if own:
        title += "; own tables: " + ", ".join(f"{k} {Path(v).name}" for k, v in own.items())
    render(tables[show], fmt, output=output, title=title, percent_cols=PERCENT, console=table_console())
    if fmt == "table" and mc is not None and show == "central":
        render(tables["depletion_summary"], fmt, title="Depletion year over the paths (基金耗尽年份)",
               percent_cols=PERCENT, console=table_console())


@app.command("compare")
def compare_cmd(
    ctx: typer.Context,
    a: Annotated[Path, typer.Argument(help="Scenario A (usually the baseline)")],
    b: Annotated[Path, typer.Argument(help="Scenario B")],
    paths: Annotated[int | None, typer.Option("--paths", help="Monte Carlo paths for the depletion probability")] = None,
    years: Annotated[int | None, typer.Option("--years", help="Years to project")] = None,
    region: RegionOpt = None,
    scheme: SchemeOpt = None,
    sample: SampleOpt = None,
    db: DbOpt = None,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """What scenario B changes against A (the assumptions diff, with B's sources) and what it buys
    (depletion year, year-10 balance, probability of depletion)."""
    import pandas as pd

    from mifund.projection.scenario import diff, labels
    from mifund.projection.summary import compare, for_people

    check_format(fmt, output)
    sa, sb = _scenario(a, paths=paths, years=years), _scenario(b, paths=paths, years=years)
    na, nb = labels(sa, sb)     # two scenarios of the same name are told apart by their files
    base = _base(ctx, db, sample, sa, region, scheme)
    _left_out(base)
    own = ("age_cost_curve", "age_structure")   # tables that shape the starting point, not only the roll
    base_b = (_base(ctx, db, sample, sb, region, scheme)
              if any(getattr(sa.tables, k) != getattr(sb.tables, k) for k in own) else None)
    d = pd.DataFrame(diff(sa, sb, (na, nb)))
    with _scenario_errors():
        res = compare(base, sa, sb, horizon=min(10, sa.years), base_b=base_b, names=(na, nb),
                      totals=_totals(ctx, db, sample, base.base_year))
    if "basis" in res:  # the city above its counties first, as in `project run`
        res = _mark_totals(res.drop(columns="basis"), res)
    if fmt == "table":
        res = for_people(res, base.base_year + max(sa.years, sb.years))
    if fmt == "xlsx":
        write_sheets(output, {"compare": res, "diff": d})
        return
    if fmt == "table":
        # the columns are named after the scenarios: their figures are rates, shares, yuan and years alike,
        # so 4 significant digits (0.075 must not read 0.07), never money rounding by the column's name
        render(d if not d.empty else pd.DataFrame({"key": ["(no difference)"]}), fmt,
               title=f"{nb} against {na}: changed assumptions and levers", console=table_console(),
               kinds={na: "ratio", nb: "ratio"})
    render(res, fmt, output=output, title=f"{nb} against {na}", percent_cols=PERCENT,
           console=table_console())


@app.command("backtest")
def backtest_cmd(
    ctx: typer.Context,
    k: Annotated[int, typer.Option("--k", help="Years held out: fit on years up to T-k, score k years ahead")] = 3,
    detail: Annotated[bool, typer.Option("--detail", help="Every forecast, not only the MAPE summary")] = False,
    region: RegionOpt = None,
    sample: SampleOpt = None,
    db: DbOpt = None,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """Score GM(1,1), ETS, ARIMA, drift and the cohort model on the ledger: MAPE of k-year-ahead forecasts."""
    from mifund.projection.forecast import backtest

    check_format(fmt, output)
    if sample == "national":
        from mifund.projection.base import national_sample_frames

        ledger = national_sample_frames()["fund_ledger"]
    else:
        with open_warehouse(ctx, db, hint=SAMPLE_HINT) as wh:
            led = wh.table("fund_ledger")
            ledger = wh.to_pandas(led.filter(led.month.isnull()))
    errors, summary = backtest(ledger, k=k, region_codes=region)
    if summary.empty:
        err.print(f"[yellow]No ledger series long enough (need 5 fit years + {k}, consecutive).[/]")
        raise typer.Exit(1)
    if fmt == "xlsx":
        write_sheets(output, {"mape": summary, "forecasts": errors})
        return
    # mape, max_ape and ape are fractions (0.06 = 6 %) in every format: csv / json / xlsx carry the
    # fraction, the table for people shows it as a percentage
    render(errors if detail else summary, fmt,
           output=output, title=f"Backtest: fit to T-{k}, MAPE of 1..{k}-year-ahead forecasts",
           percent_cols={"mape", "max_ape", "ape"}, console=table_console())
    if fmt == "table":
        # what "cohort" scores (forecast._cohort_forecast): say so where the figure is read
        table_console().print("cohort = the projection's accounting from the fit window's last year, its "
                              "cohorts held fixed (no ageing, entrants or retirement) and the window's trends "
                              "per insured: a trend model in the projection's units, not the full cohort model.")
