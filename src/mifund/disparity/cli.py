"""`mifund disparity measure|lorenz` and `mifund transfers allocate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mifund.cli_options import DbOpt, FormatOpt, OutputOpt, check_format, err, open_warehouse, write_sheets
from mifund.disparity.data import INDICATORS

app = typer.Typer(help="Regional disparity (地区差异) of an indicator: population-weighted Williamson CV, Gini, "
                  "Theil T and L with between/within decomposition, max/min ratio, Lorenz curve.",
                  no_args_is_help=True)
transfers_app = typer.Typer(help="Fiscal transfers (财政补助分配): allocate a budget by rule; effect on disparity and "
                            "on months of payment capacity; the allocation leaving fewest regions below the safety line.",
                            no_args_is_help=True)


@transfers_app.callback()
def _transfers() -> None:
    """Fiscal transfers: allocation rules and the optimal allocation."""

SchemeOpt = Annotated[str, typer.Option("--scheme", "-s", help="employee | resident | total")]
FundOpt = Annotated[str, typer.Option("--fund", help="pooled | account | combined | total")]
IndOpt = Annotated[str, typer.Option("--indicator", "-i", help=" | ".join(INDICATORS))]
LevelOpt = Annotated[str, typer.Option("--level", help="Regions compared: county | city | province")]
WeightOpt = Annotated[str, typer.Option("--weight", "-w", help="population | insured | equal")]
GroupOpt = Annotated[str, typer.Option("--group", help="Decompose Theil by: parent (e.g. counties in cities) | none")]


@app.command("measure")
def measure_cmd(
    ctx: typer.Context, indicator: IndOpt = "financing_per_capita", db: DbOpt = None,
    scheme: SchemeOpt = "resident", fund: FundOpt = "pooled", level: LevelOpt = "county",
    weight: WeightOpt = "population", group: GroupOpt = "parent",
    years: Annotated[list[int] | None, typer.Option("--year", "-y", help="Year. Repeatable.")] = None,
    fmt: FormatOpt = "table", output: OutputOpt = None,
) -> None:
    """Weighted disparity of one indicator across regions, year by year (did the gaps narrow?)."""
    from mifund.disparity.data import disparity_by_year, indicator_frame
    from mifund.views.output import render

    check_format(fmt, output)
    with open_warehouse(ctx, db) as wh:
        try:
            frame = indicator_frame(wh, indicator, scheme=scheme, fund=fund, level=level, weight=weight, years=years)
        except ValueError as e:
            raise typer.BadParameter(str(e)) from e
    if frame.dropna(subset=["value"]).empty:
        err.print(f"[yellow]No {indicator} values for {level} regions ({scheme}/{fund}).[/]")
        raise typer.Exit(1)
    df = disparity_by_year(frame, "parent_code" if group == "parent" else None)
    if fmt == "xlsx":
        write_sheets(output, {"disparity": df, "regions": frame}, ("disparity", "year", "gini"))
        return
    zh, en = INDICATORS[indicator]
    left = df[df.n_zero_weight_left_out > 0] if "n_zero_weight_left_out" in df else df.iloc[:0]
    for _, r in left.iterrows():
        err.print(f"[yellow]{int(r.year)}: {int(r.n_zero_weight_left_out)} region(s) of {weight} 0 left out of "
                  "every measure (n, min, max and the ratios included)[/]", highlight=False)
    render(df, fmt, output=output, title=f"{zh} {en} — {scheme}/{fund}, {level} regions, weighted by {weight}")


@app.command("lorenz")
def lorenz_cmd(
    ctx: typer.Context, indicator: IndOpt = "financing_per_capita", year: Annotated[int | None, typer.Option(
        "--year", "-y", help="Year (default: the latest)")] = None, db: DbOpt = None,
    scheme: SchemeOpt = "resident", fund: FundOpt = "pooled", level: LevelOpt = "county",
    weight: WeightOpt = "population", fmt: FormatOpt = "table", output: OutputOpt = None,
) -> None:
    """Points of the weighted Lorenz curve (xlsx: with a native scatter chart)."""
    from mifund.disparity.data import indicator_frame
    from mifund.disparity.measures import lorenz
    from mifund.views.output import render

    check_format(fmt, output)
    with open_warehouse(ctx, db) as wh:
        frame = indicator_frame(wh, indicator, scheme=scheme, fund=fund, level=level, weight=weight)
    frame = frame.dropna(subset=["value", "weight"])
    frame = frame[frame.weight != 0]      # weight 0: no width on the curve (left out, as in `measure`)
    year = int(frame.year.max()) if year is None else year
    f = frame[frame.year == year].sort_values("value", kind="stable")
    lc = lorenz(f.value, f.weight)
    lc.insert(0, "region_name", ["", *f.region_name.tolist()])
    if fmt == "xlsx":
        import pandas as pd

        with pd.ExcelWriter(output, engine="xlsxwriter") as xw:
            lc.to_excel(xw, sheet_name="lorenz", index=False)
            ch = xw.book.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
            n = len(lc)
            ch.add_series({"name": "Lorenz", "categories": ["lorenz", 1, 1, n, 1], "values": ["lorenz", 1, 2, n, 2]})
            ch.add_series({"name": "equality", "categories": ["lorenz", 1, 1, n, 1], "values": ["lorenz", 1, 1, n, 1]})
            ch.set_title({"name": f"{indicator} {year}"})
            xw.sheets["lorenz"].insert_chart(1, 5, ch)
        return
    render(lc, fmt, output=output, title=f"Lorenz curve, {indicator} {year}", percent_cols={"weight_share", "value_share"})


@transfers_app.command("allocate")
def allocate_cmd(
    ctx: typer.Context,
    budget: Annotated[float, typer.Option("--budget", "-b", help="Subsidy budget to allocate (yuan)")],
    db: DbOpt = None,
    city: Annotated[str | None, typer.Option("--city", help="City region code (default: the only city)")] = None,
    scheme: SchemeOpt = "resident", fund: FundOpt = "pooled",
    year: Annotated[int | None, typer.Option("--year", "-y", help="Ledger year (default: the latest)")] = None,
    rules_file: Annotated[Path | None, typer.Option("--rules", help="YAML of rule parameters (default: shipped)")] = None,
    safety_line: Annotated[float | None, typer.Option(
        "--safety-line", help="Months, the same for every county (default: read per county from the warning rules)")] = None,
    warning_rules: Annotated[Path | None, typer.Option(
        "--warning-rules", help="Warning rules YAML laid over the shipped ones, for the safety line "
        "(rule payable_months_low, with its per-region / per-scheme overrides)")] = None,
    safety_level: Annotated[str, typer.Option(
        "--safety-level", help="Which level of payable_months_low is the safety line: red (3 months in the "
        "shipped rules) | orange (6) | yellow")] = "red",
    detail: Annotated[bool, typer.Option("--detail", help="One row per region and rule")] = False,
    weight: Annotated[str, typer.Option("--weight", "-w", help="Weight of the disparity measures of months "
                                        "after the transfer: insured | population | equal")] = "insured",
    fmt: FormatOpt = "table", output: OutputOpt = None,
) -> None:
    """Allocate --budget across the counties by each rule (equal per capita, by fund gap, by need, by
    performance, and the MILP minimising the regions below the safety line, its leftover narrowing the
    largest remaining shortfall)."""
    from mifund.disparity.transfers import TransferError, evaluate, load_transfer_rules, transfer_frame
    from mifund.ledger.warning_rules import WarningRulesError
    from mifund.pooling.data import PoolingDataError
    from mifund.pooling.safety import SafetyLineError, resolve
    from mifund.views.output import render

    check_format(fmt, output)
    if budget < 0:
        raise typer.BadParameter(f"--budget {budget:g}: must be >= 0 (yuan)")
    if safety_line is not None and safety_line < 0:
        raise typer.BadParameter(f"--safety-line {safety_line:g}: months, must be >= 0")
    if weight not in ("insured", "population", "equal"):
        raise typer.BadParameter(f"--weight {weight}: one of insured, population, equal")
    try:
        with open_warehouse(ctx, db) as wh:
            frame = transfer_frame(wh, city=city, scheme=scheme, fund=fund, year=year)
        if safety_line is not None:
            line, words = safety_line, f"{safety_line:g} months (--safety-line)"
        else:
            sl = resolve(frame.assign(scheme=scheme, fund=fund), level=safety_level, rules=warning_rules)
            line, words = sl.months, sl.label()
        regions, summary = evaluate(frame, budget, safety_line=line, rules=load_transfer_rules(rules_file),
                                    weight=weight)
    except (TransferError, PoolingDataError, WarningRulesError, SafetyLineError) as e:
        err.print(f"[red]{e}[/]", highlight=False)
        raise typer.Exit(1) from None
    if fmt == "xlsx":
        write_sheets(output, {"rules": summary, "regions": regions, "inputs": frame},
                     ("rules", "rule", "regions_below_line"))
        return
    # the weight is named: `disparity measure` weights by population by default, so unnamed they disagree
    by = {"insured": "insured persons", "population": "population", "equal": "none (regions equal)"}[weight]
    title = (f"Transfers of {budget:,.0f} yuan, {scheme}/{fund} {int(frame.year.max())}; safety line {words}; "
             f"disparity of months weighted by {by}")
    render(regions if detail else summary, fmt, output=output, title=title)
