"""`mifund pooling simulate|compare|incentives`: pooling modes on the counties of a city."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mifund.cli_options import (
    DbOpt,
    FormatOpt,
    OutputOpt,
    check_format,
    err,
    require_warehouse,
    warehouse_path,
    write_sheets,
)

app = typer.Typer(help="Municipal pooling modes (统筹模式): county pooling, adjustment fund (调剂金), unified "
                  "revenue and expenditure (统收统支); who covers deficits, cross-subsidies, incentives.",
                  no_args_is_help=True)

CityOpt = Annotated[str | None, typer.Option("--city", help="City region code (default: the only city)")]
SchemeOpt = Annotated[str, typer.Option("--scheme", "-s", help="employee | resident")]
FundOpt = Annotated[str, typer.Option("--fund", help="pooled | combined (the fund that is pooled)")]
ModesOpt = Annotated[Path | None, typer.Option("--modes", help="YAML file of user-defined modes, laid over the shipped ones")]
PathsOpt = Annotated[int, typer.Option("--paths", help="0 = the historical ledger; N = Monte Carlo paths projected from it")]
HorizonOpt = Annotated[int, typer.Option("--horizon", help="Years projected (with --paths)")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (with --paths)")]
# shown as percentages in people's tables (the p_… and share_years_… figures are 0..1 as well)
_PERCENT = {"p_any_topup", "topups_removed_vs_county", "p_any_county_fund_below", "share_years_any_county_fund_below",
            "p_city_fund_below", "share_years_city_fund_below", "p_all_funds_below", "share_years_all_funds_below",
            "p_below_safety_line", "share_years_below_safety_line", "p_deficit", "p_topup"}
ConfOpt = Annotated[float, typer.Option("--confidence", help="Confidence of the reserve figure (e.g. 0.95)")]
RulesOpt = Annotated[Path | None, typer.Option(
    "--rules", help="Warning rules YAML laid over the shipped ones: the safety line (its level is the modes "
    "file's safety_line.level, red by default) is read from it per county, scheme and fund")]


class _Lines:
    """The safety line per county (N,) and for the city-wide funds, with the words for a title."""

    def __init__(self, county, city):
        self.county, self.city = county, city

    @property
    def months(self):
        return self.county.months

    def label(self) -> str:
        return self.county.label() if (self.county.months == self.city.months[0]).all() else (
            f"counties {self.county.label()}; city {self.city.label()}")


def _inputs(ctx, db, city, scheme, fund, modes, paths, horizon, seed, scenario=None, rules=None):
    """(modes file, _Lines, PoolingInput, ledger rows); every input error ends in a clean message."""
    from mifund.ledger.warning_rules import WarningRulesError
    from mifund.pooling.data import (
        PoolingDataError,
        city_of,
        ledger_input,
        monte_carlo_input,
        projection_input,
    )
    from mifund.pooling.params import ModesError, load_modes, safety_line_for
    from mifund.pooling.safety import SafetyLineError
    from mifund.projection.scenario import ScenarioError
    from mifund.storage import Warehouse

    if fund not in ("pooled", "combined"):
        raise typer.BadParameter(f"--fund {fund!r}: pooled or combined (personal accounts are not pooled)")
    path = require_warehouse(warehouse_path(ctx, db), "Import a ledger first (or set --db / MIFUND_DB).")
    try:
        mf = load_modes(modes)
        with Warehouse(path, read_only=True) as wh:
            inp, led = ledger_input(wh, city=city, scheme=scheme, fund=fund, targets=mf.targets)
            city_code = city_of(wh, inp.regions[0])
            if scenario is not None:
                inp = projection_input(wh, inp, scheme=scheme, fund=fund, scenario=scenario,
                                       n_paths=max(paths, 1), horizon=horizon, seed=seed, targets=mf.targets)
        lines = _Lines(safety_line_for(mf, inp.regions, scheme, fund, rules),
                       safety_line_for(mf, [city_code], scheme, fund, rules))
    except ScenarioError as e:
        err.print(f"[red]Scenario error[/]\n{e}")
        raise typer.Exit(2) from None
    except (ModesError, PoolingDataError, WarningRulesError, SafetyLineError) as e:
        err.print(f"[red]{e}[/]", highlight=False)
        raise typer.Exit(1) from None
    if paths > 0 and scenario is None:
        last = led[led.year == led.year.max()].set_index("region_code").reindex(inp.regions)
        try:
            inp = monte_carlo_input(inp, last.insured.to_numpy(float), horizon=horizon, n_paths=paths, seed=seed,
                                    opening_balance=last.balance_end.to_numpy(float), targets=mf.targets)
        except PoolingDataError as e:
            err.print(f"[red]{e}[/]", highlight=False)
            raise typer.Exit(1) from None
    for note in inp.notes:
        err.print(f"[yellow]note:[/] {note}", highlight=False)
    return mf, lines, inp, led


@app.command("simulate")
def simulate_cmd(
    ctx: typer.Context,
    mode: Annotated[str, typer.Option("--mode", "-m", help="Mode name (see `compare`)")] = "adjustment_fund",
    db: DbOpt = None, city: CityOpt = None, scheme: SchemeOpt = "resident", fund: FundOpt = "pooled",
    modes: ModesOpt = None, paths: PathsOpt = 0, horizon: HorizonOpt = 10, seed: SeedOpt = 1,
    rules: RulesOpt = None, fmt: FormatOpt = "table", output: OutputOpt = None,
) -> None:
    """Run one mode: per county and year, own balance (or claim on the city fund), transfers paid and
    received, deficits (expenditure above income) and who covered them, and apart the adjustment-fund
    contribution the year's surplus could not pay; with --paths, probabilities of deficit and of the
    fund paying the county being below the safety line."""
    from mifund.pooling.engine import simulate
    from mifund.pooling.report import county_years, cross_subsidy
    from mifund.views.output import render

    check_format(fmt, output)
    mf, lines, inp, _ = _inputs(ctx, db, city, scheme, fund, modes, paths, horizon, seed, rules=rules)
    if mode not in mf.modes:
        raise typer.BadParameter(f"unknown mode {mode!r}; known: {', '.join(mf.modes)}")
    res = simulate(inp, mf.modes[mode], mode, safety_line=lines.months)
    df = county_years(res, lines.months, inp.names)
    if fmt == "xlsx":
        write_sheets(output, {"county_years": df, "cross_subsidy": cross_subsidy(res, inp.names)},
                     ("cross_subsidy", "region_name", "net_cross_subsidy"))
        return
    if fmt == "table":
        df = df[["region_code", "region_name", "year", "income", "expenditure", "paid_to_pool", "received_from_pool",
                 "deficit", "contribution_beyond_surplus", "covered_own_balance", "covered_pool", "covered_county_treasury", "covered_city_treasury",
                 "balance_end", "fund_months", *(["p_deficit", "p_below_safety_line"] if paths else [])]]
    render(df, fmt, output=output, title=f"{mf.modes[mode].label_zh} — {scheme}/{fund}; safety line {lines.label()}",
           percent_cols=_PERCENT)


@app.command("compare")
def compare_cmd(
    ctx: typer.Context,
    db: DbOpt = None, city: CityOpt = None, scheme: SchemeOpt = "resident", fund: FundOpt = "pooled",
    modes: ModesOpt = None,
    only: Annotated[list[str] | None, typer.Option("--mode", "-m", help="Only these modes. Repeatable.")] = None,
    paths: PathsOpt = 0, horizon: HorizonOpt = 10, seed: SeedOpt = 1, confidence: ConfOpt = 0.95,
    rules: RulesOpt = None, fmt: FormatOpt = "table", output: OutputOpt = None,
    scenario: Annotated[str | None, typer.Option(
        "--from-projection", help="Paths from the projection module under this scenario file ('default' for "
        "the packaged baseline) instead of the ledger's own growth model; with --paths, --horizon")] = None,
) -> None:
    """All modes side by side on the same counties: deficits and who covered them, treasury top-ups, the
    probability of breaching the safety line, the reserve needed, and the check that money is conserved
    (and, on the historical ledger, reconciles with it).

    Who covered it: covered_own_balance + covered_pool + covered_county_treasury + covered_city_treasury
    = to_cover = deficit + contribution_beyond_surplus (the adjustment-fund contributions a county's
    surplus could not pay, which its balance or a top-up paid as well; zero in the other modes).

    The safety-line figures name the fund they test: any_county_fund (some county's own fund: county
    and adjustment-fund modes), city_fund (the one fund of a unified mode), all_funds (all money in the
    city's funds, the adjustment pot included, against the city's expenditure: defined the same way in
    every mode; it differs by the treasury top-ups each mode needs). A fund at the line to within half
    a fen is not below it.
    p_… = share of paths with a year below; share_years_… = share of years below.
    With --from-projection the income is the projected contributions, and each mode's own funds (county
    funds, the adjustment pot, the city fund) earn the scenario's interest rate on their balances
    (``interest``; conservation: money_end = opening + income - expenditure + interest + top-ups).
    p_below_safety_line / share_years_below_safety_line (csv, json, xlsx) = the fund paying some county's
    claims (any_county_fund, or city_fund under unified)."""
    import pandas as pd

    from mifund.pooling.report import (
        compare,
        conservation,
        cross_subsidy,
        incentives,
        reconcile_with_ledger,
        run_modes,
    )
    from mifund.views.output import format_frame, render

    check_format(fmt, output)
    mf, lines, inp, led = _inputs(ctx, db, city, scheme, fund, modes, paths, horizon, seed, scenario, rules)
    if scenario is not None:
        paths = max(paths, 1)
    try:
        res = run_modes(inp, mf, only, safety_line=lines.months)
    except KeyError as e:
        raise typer.BadParameter(str(e)) from e
    summary = compare(res, lines.months, confidence, city_line=float(lines.city.months[0]))
    cons = conservation(inp, res)
    if fmt == "xlsx":
        sheets = {"compare": summary, "conservation": cons,
                  "cross_subsidy": pd.concat([cross_subsidy(r, inp.names) for r in res.values()]),
                  "incentives": incentives(inp, mf, list(res))}
        if paths == 0:
            sheets["reconcile_ledger"] = reconcile_with_ledger(res, led)
        write_sheets(output, sheets, ("compare", "mode", "treasury_topups"))
        return
    rate = f"; interest {inp.interest_rate:.2%} earned by each mode on its own balances" if inp.interest_rate else ""
    title = (f"Pooling modes — {scheme}/{fund}, {inp.years[0]}–{inp.years[-1]}, "
             f"{'historical ledger' if paths == 0 else f'{paths} paths'}"
             f"{' from the projection (' + scenario + ')' if scenario else ''}{rate}; safety line {lines.label()}")
    if fmt == "table":
        # the paying-fund figures repeat any_county_fund / city_fund under their old names: not for people
        people = summary.drop(columns=["p_below_safety_line", "share_years_below_safety_line"])
        if paths == 0:  # one path: "share of paths with a year below" is only a yes / no
            people = people.drop(columns=[c for c in people.columns if c.startswith("p_") and c.endswith("_below")])
        # format by column (money to the fen, shares and months to 4 digits), then turn modes into columns
        text = format_frame(people.set_index("mode"), percent_cols=_PERCENT)
        render(text.T.reset_index().rename(columns={"index": "figure"}), fmt, title=title,
               right=set(text.index))
        ok = (cons.difference < 0.01).all()
        Console().print(("[green]" if ok else "[red]") + f"Money conserved across modes: {ok} "
                        f"(max difference {cons.difference.max():.2e} yuan)")
        if paths == 0:
            rec = reconcile_with_ledger(res, led)
            good = rec.difference.abs().max() < 0.01
            Console().print(("[green]" if good else "[red]") + f"Reconciles with the ledger balances: {good} "
                            f"(max difference {rec.difference.abs().max():.2e} yuan)")
        return
    render(summary, fmt, output=output)


@app.command("incentives")
def incentives_cmd(
    ctx: typer.Context,
    db: DbOpt = None, city: CityOpt = None, scheme: SchemeOpt = "resident", fund: FundOpt = "pooled",
    modes: ModesOpt = None,
    only: Annotated[list[str] | None, typer.Option("--mode", "-m", help="Only these modes. Repeatable.")] = None,
    rules: RulesOpt = None, fmt: FormatOpt = "table", output: OutputOpt = None,
) -> None:
    """What a county gains by collecting one more yuan, or loses by letting spending grow one point a year
    faster, under each mode (its own fund's balance less what its treasury pays) — 权责利 in numbers."""
    from mifund.pooling.report import incentives
    from mifund.views.output import render

    check_format(fmt, output)
    mf, lines, inp, _ = _inputs(ctx, db, city, scheme, fund, modes, 0, 0, 0, rules=rules)
    try:
        df = incentives(inp, mf, only, safety_line=lines.months)
    except KeyError as e:
        raise typer.BadParameter(f"unknown mode {e}; known: {', '.join(mf.modes)}") from None
    render(df, fmt, output=output, title="Incentives: effect on the county's own position (yuan)",
           percent_cols={"share_of_overspending_borne"})
