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
ConfOpt = Annotated[float, typer.Option("--confidence", help="Confidence of the reserve figure (e.g. 0.95)")]


def _inputs(ctx, db, city, scheme, fund, modes, paths, horizon, seed, scenario=None):
    from mifund.pooling.data import PoolingDataError, ledger_input, monte_carlo_input, projection_input
    from mifund.pooling.params import load_modes, safety_line_months
    from mifund.storage import Warehouse

    path = require_warehouse(warehouse_path(ctx, db), "Import a ledger first (or set --db / MIFUND_DB).")
    mf = load_modes(modes)
    try:
        with Warehouse(path, read_only=True) as wh:
            inp, led = ledger_input(wh, city=city, scheme=scheme, fund=fund, targets=mf.targets)
            if scenario is not None:
                inp = projection_input(wh, inp, scheme=scheme, fund=fund, scenario=scenario,
                                       n_paths=max(paths, 1), horizon=horizon, seed=seed, targets=mf.targets)
                return mf, safety_line_months(mf), inp, led
    except PoolingDataError as e:
        err.print(f"[red]{e}[/]")
        raise typer.Exit(1) from e
    if paths > 0:
        last = led[led.year == led.year.max()].set_index("region_code").reindex(inp.regions)
        inp = monte_carlo_input(inp, last.insured.to_numpy(float), horizon=horizon, n_paths=paths, seed=seed,
                                opening_balance=last.balance_end.to_numpy(float), targets=mf.targets)
    return mf, safety_line_months(mf), inp, led


@app.command("simulate")
def simulate_cmd(
    ctx: typer.Context,
    mode: Annotated[str, typer.Option("--mode", "-m", help="Mode name (see `compare`)")] = "adjustment_fund",
    db: DbOpt = None, city: CityOpt = None, scheme: SchemeOpt = "resident", fund: FundOpt = "pooled",
    modes: ModesOpt = None, paths: PathsOpt = 0, horizon: HorizonOpt = 10, seed: SeedOpt = 1,
    fmt: FormatOpt = "table", output: OutputOpt = None,
) -> None:
    """Run one mode: per county and year, own balance (or claim on the city fund), transfers paid and
    received, deficits and who covered them; with --paths, probabilities of deficit and of breaching the
    safety line."""
    from mifund.pooling.engine import simulate
    from mifund.pooling.report import county_years, cross_subsidy
    from mifund.views.output import render

    check_format(fmt, output)
    mf, line, inp, _ = _inputs(ctx, db, city, scheme, fund, modes, paths, horizon, seed)
    if mode not in mf.modes:
        raise typer.BadParameter(f"unknown mode {mode!r}; known: {', '.join(mf.modes)}")
    res = simulate(inp, mf.modes[mode], mode)
    df = county_years(res, line, inp.names)
    if fmt == "xlsx":
        write_sheets(output, {"county_years": df, "cross_subsidy": cross_subsidy(res, inp.names)},
                     ("cross_subsidy", "region_name", "net_cross_subsidy"))
        return
    if fmt == "table":
        df = df[["region_code", "region_name", "year", "income", "expenditure", "paid_to_pool", "received_from_pool",
                 "deficit", "covered_own_balance", "covered_pool", "covered_county_treasury", "covered_city_treasury",
                 "balance_end", "fund_months", *(["p_deficit", "p_below_safety_line"] if paths else [])]]
    render(df, fmt, output=output, title=f"{mf.modes[mode].label_zh} — {scheme}/{fund}",
           percent_cols={"p_deficit", "p_below_safety_line", "p_topup"})


@app.command("compare")
def compare_cmd(
    ctx: typer.Context,
    db: DbOpt = None, city: CityOpt = None, scheme: SchemeOpt = "resident", fund: FundOpt = "pooled",
    modes: ModesOpt = None,
    only: Annotated[list[str] | None, typer.Option("--mode", "-m", help="Only these modes. Repeatable.")] = None,
    paths: PathsOpt = 0, horizon: HorizonOpt = 10, seed: SeedOpt = 1, confidence: ConfOpt = 0.95,
    fmt: FormatOpt = "table", output: OutputOpt = None,
    scenario: Annotated[str | None, typer.Option(
        "--from-projection", help="Paths from the projection module under this scenario file ('default' for "
        "the packaged baseline) instead of the ledger's own growth model; with --paths, --horizon")] = None,
) -> None:
    """All modes side by side on the same counties: deficits and who covered them, treasury top-ups, the
    probability of breaching the safety line, the reserve needed, and the check that money is conserved
    (and, on the historical ledger, reconciles with it)."""
    import pandas as pd

    from mifund.pooling.report import (
        compare,
        conservation,
        cross_subsidy,
        incentives,
        reconcile_with_ledger,
        run_modes,
    )
    from mifund.views.output import render

    check_format(fmt, output)
    mf, line, inp, led = _inputs(ctx, db, city, scheme, fund, modes, paths, horizon, seed, scenario)
    if scenario is not None:
        paths = max(paths, 1)
    try:
        res = run_modes(inp, mf, only)
    except KeyError as e:
        raise typer.BadParameter(str(e)) from e
    summary = compare(res, line, confidence)
    cons = conservation(inp, res)
    if fmt == "xlsx":
        sheets = {"compare": summary, "conservation": cons,
                  "cross_subsidy": pd.concat([cross_subsidy(r, inp.names) for r in res.values()]),
                  "incentives": incentives(inp, mf, list(res))}
        if paths == 0:
            sheets["reconcile_ledger"] = reconcile_with_ledger(res, led)
        write_sheets(output, sheets, ("compare", "mode", "treasury_topups"))
        return
    title = (f"Pooling modes — {scheme}/{fund}, {inp.years[0]}–{inp.years[-1]}, "
             f"{'historical ledger' if paths == 0 else f'{paths} paths'}"
             f"{' from the projection (' + scenario + ')' if scenario else ''}; safety line {line:g} months")
    if fmt == "table":
        render(summary.set_index("mode").T.reset_index().rename(columns={"index": "figure"}), fmt, title=title)
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
    fmt: FormatOpt = "table", output: OutputOpt = None,
) -> None:
    """What a county gains by collecting one more yuan, or loses by letting spending grow one point a year
    faster, under each mode (its own fund's balance less what its treasury pays) — 权责利 in numbers."""
    from mifund.pooling.report import incentives
    from mifund.views.output import render

    check_format(fmt, output)
    mf, _, inp, _ = _inputs(ctx, db, city, scheme, fund, modes, 0, 0, 0)
    df = incentives(inp, mf, only)
    render(df, fmt, output=output, title="Incentives: effect on the county's own position (yuan)",
           percent_cols={"share_of_overspending_borne"})
