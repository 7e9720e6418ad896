"""The `mifund` command line. Thin: parse options, call a part of the package, render the result.

Heavy modules are imported inside the commands so that `mifund --help` stays instant.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from mifund.cli_options import (
    DbOpt,
    FormatOpt,
    OutputOpt,
    UserOpt,
    check_format,
    err,
    open_warehouse,
    settings,
)
from mifund.config import get_settings
from mifund.views.output import table_console


class _RootGroup(TyperGroup):
    """`mifund` itself. A warehouse held by another process (WarehouseInUse: a running `mifund serve`) is
    one line and exit status 2 from whichever command meets it, not a traceback: commands that open the
    warehouse themselves rather than through `open_warehouse` (report, pooling compare ...) need no catch of
    their own. The storage module is looked up, not imported, so that `mifund --help` stays instant."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RuntimeError as e:
            storage = sys.modules.get("mifund.storage.warehouse")
            if storage is None or not isinstance(e, storage.WarehouseInUse):
                raise
            err.print(f"[red bold]Warehouse in use:[/] {e}", highlight=False)
            raise typer.Exit(2) from None


app = typer.Typer(
    name="mifund",
    cls=_RootGroup,
    help="Public basic medical insurance funds (基本医疗保险基金) under municipal pooling: "
    "import, ledger indicators, early warning.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
ledger_app = typer.Typer(help="Fund ledger (基金收支台账) helpers.", no_args_is_help=True)
db_app = typer.Typer(help="The warehouse file: schema version, table sizes, audit log.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(db_app, name="db")

console = table_console()

UNITS = {"yuan": 1.0, "wan": 1e4, "yi": 1e8}
UNIT_ZH = {"yuan": "元", "wan": "万元", "yi": "亿元"}
FEN_PLACES = {"yuan": 2, "wan": 6, "yi": 10}  # decimals of one fen (0.01 yuan) in each unit

RegionOpt = Annotated[list[str] | None, typer.Option("--region", "-r", help="Region code; its subtree is included. Repeatable.")]
LedgerRegionOpt = Annotated[list[str] | None, typer.Option("--region", "-r", help="Region code or name (中文 or English); its subtree is included. Repeatable.")]
YearOpt = Annotated[list[int] | None, typer.Option("--year", "-y", help="Year. Repeatable.")]
SchemeOpt = Annotated[list[str] | None, typer.Option("--scheme", "-s", help="employee | resident | total. Repeatable.")]
FundOpt = Annotated[list[str] | None, typer.Option("--fund", help="pooled | account | combined | total. Repeatable.")]


@app.callback()
def _main(
    ctx: typer.Context,
    db: DbOpt = None,
    user: UserOpt = None,
) -> None:
    ctx.obj = get_settings(db=db, user=user)


# --------------------------------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------------------------------
@app.command("import")
def import_cmd(
    ctx: typer.Context,
    paths: Annotated[list[Path] | None, typer.Argument(help="Files (csv, xlsx, parquet) or directories")] = None,
    table: Annotated[str | None, typer.Option("--table", "-t", help="Force the table (else recognised from the file name)")] = None,
    unit: Annotated[str, typer.Option("--unit", help="Unit of the amounts in the files: yuan | wan (万元) | yi (亿元)")] = "yuan",
    sample: Annotated[str | None, typer.Option("--sample", help="Import a built-in data set instead: national")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings (e.g. a broken balance identity) as errors")] = False,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX sheet name (default: the first)")] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="CSV encoding, e.g. gb18030 (default: detect UTF-8/BOM/GB18030)")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Only rows of this region and the regions below it (a county branch's import): a row of another region, or one replacing another region's row, refuses the import; the catalogue is refused")] = None,
) -> None:
    """Import data-contract tables (regions, population, fund_ledger, enrollment, providers, catalog, claims, claim_lines).

    Everything named in one call is imported in dependency order as ONE transaction: any error
    (named by file, row and column) leaves the warehouse exactly as it was.
    """
    from mifund.ingest.importer import sample_names

    if unit not in UNITS:
        raise typer.BadParameter("--unit must be yuan, wan or yi")
    if not paths and not sample:
        raise typer.BadParameter("give files or directories to import, or --sample national")
    if sample and sample not in sample_names():
        raise typer.BadParameter(f"--sample {sample}: no such sample; samples: {', '.join(sample_names())}")
    s = settings(ctx)
    # a failed import writes nothing: not even a new empty warehouse, or a new ID key nothing was hashed with
    made = [p for p in (s.db, s.db.with_name(s.db.name + ".wal")) if not p.exists()]
    made += [s.key_file()] if not s.id_key and not s.key_file().exists() else []
    try:
        report = _import(ctx, s, paths, table, unit, sample, strict, sheet, encoding, region)
    except BaseException:
        for p in made:
            p.unlink(missing_ok=True)
        raise
    from rich.table import Table

    t = Table(title=f"Imported into {s.db} (batch {report.batch_id[:8]})")
    for c in ("file", "table", "rows", "inserted", "replaced", "unchanged"):
        t.add_column(c, justify="left" if c in ("file", "table") else "right")
    for f in report.files:
        t.add_row(Path(f.file).name, f.table, f"{f.rows_read:,}", f"{f.inserted:,}", f"{f.replaced:,}", f"{f.unchanged:,}")
    console.print(t)
    for w in report.warnings:  # named as the errors name them: the path given (two folders may each hold a ledger)
        where = ", ".join(x for x in (w.file or None, f"row {w.row}" if w.row else None, w.column) if x)
        tag = "[dim]note[/]" if w.severity == "info" else "[yellow]warning[/]"
        err.print(f"{tag} {where}: {w.reason}")


def _import(ctx, s, paths, table, unit, sample, strict, sheet, encoding, region):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mifund.ingest import ImportFailed, import_paths, import_sample, load_or_create_id_key

    key = load_or_create_id_key(s)
    with open_warehouse(ctx, read_only=False, create=True) as wh, Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(file: str, done: int, total: int | None) -> None:
            if file not in tasks:
                tasks[file] = bar.add_task(f"import {Path(file).name}", total=total)
            bar.update(tasks[file], completed=done, total=total)

        allowed = None
        if region is not None:
            from mifund.ledger.regions import descendants

            if sample:
                raise typer.BadParameter("--region limits an import of files, not of --sample")
            if region not in set(wh.to_pandas(wh.table("regions").select("region_code"))["region_code"]):
                raise typer.BadParameter(f"--region {region}: no such region in the warehouse (import regions first)")
            allowed = frozenset(descendants(wh, [region]))
        try:
            if sample:
                report = import_sample(wh, sample, actor=s.user, id_key=key, progress=progress)
            else:
                report = import_paths(
                    wh, paths, table=table, unit=unit, actor=s.user, id_key=key, strict=strict,
                    sheet=sheet, encoding=encoding, progress=progress, allowed_regions=allowed,
                    scope_label=region or "",
                )
        except ImportFailed as e:
            bar.stop()
            err.print(f"[red bold]{e}[/]")
            raise typer.Exit(1) from None
    return report


# --------------------------------------------------------------------------------------------------
# ledger
# --------------------------------------------------------------------------------------------------
@ledger_app.command("template")
def ledger_template(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(help="Workbook to write, e.g. ledger.xlsx")],
) -> None:
    """Write a bilingual fund-ledger entry template (drop-downs for scheme, fund and region)."""
    from mifund.ledger.template import write_ledger_template

    regions = None
    s = settings(ctx)
    if s.db.exists():
        with open_warehouse(ctx) as wh:
            regions = wh.to_pandas(wh.table("regions"))
    write_ledger_template(out, regions=regions if regions is not None and len(regions) else None)
    console.print(f"Template written to {out}")


def _display_unit(df, unit: str | None, fmt: str) -> str:
    if unit:
        return unit
    if fmt != "table":
        return "yuan"
    peak = df["income_total"].abs().max() if "income_total" in df and len(df) else 0
    return "yi" if peak >= 1e10 else "wan" if peak >= 1e6 else "yuan"


HEADERS = {
    "zh": {"region_code": "区划代码", "region_name": "地区", "year": "年度", "month": "月", "scheme": "险种", "fund": "基金"},
    "en": {"region_code": "region", "region_name": "name", "year": "year", "month": "month", "scheme": "scheme", "fund": "fund"},
}

TABLE_COLUMNS = [
    "region_code", "region_name", "year", "scheme", "fund", "insured", "insured_rate", "income_total",
    "expenditure_total", "surplus", "surplus_rate", "balance_end", "payable_months", "income_growth",
    "expenditure_growth", "growth_gap",
]


def _no_year_note(wh, years: list[int], monthly: bool) -> str | None:
    """Why `indicators -y` came out empty when the ledger holds none of those years (of the kind asked
    for): the years it covers, and the other kind where that holds them. None when it holds them (the
    other filters left nothing)."""
    import pandas as pd

    led = wh.table("fund_ledger")
    kind = led.filter(led.month.notnull() if monthly else led.month.isnull())
    if len(wh.to_pandas(kind.filter(kind.year.isin(list(years))).select("year").limit(1))):
        return None
    span = wh.to_pandas(kind.aggregate(lo=kind.year.min(), hi=kind.year.max()))
    what = "monthly" if monthly else "annual"
    lo, hi = span["lo"].iloc[0], span["hi"].iloc[0]
    note = f"the ledger's {what} rows cover {int(lo)}–{int(hi)}" if pd.notna(lo) else f"the ledger has no {what} rows"
    other = led.filter(led.month.isnull() if monthly else led.month.notnull())
    if len(wh.to_pandas(other.filter(other.year.isin(list(years))).select("year").limit(1))):
        note += "; it has annual rows for them: drop --monthly" if monthly else "; it has monthly rows for them: add --monthly"
    return f"No ledger rows for {', '.join(map(str, years))} ({note})."


@app.command("indicators")
def indicators_cmd(
    ctx: typer.Context,
    region: LedgerRegionOpt = None,
    year: YearOpt = None,
    scheme: SchemeOpt = None,
    fund: FundOpt = None,
    monthly: Annotated[bool, typer.Option("--monthly", help="Monthly rows (where the ledger has months)")] = False,
    all_columns: Annotated[bool, typer.Option("--all", help="Every indicator column in the table view")] = False,
    cagr_span: Annotated[str | None, typer.Option("--cagr", help="Compound annual growth over START:END, e.g. 2020:2024")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Amounts in yuan | wan | yi (table default: chosen by size)")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Table headers: zh | en")] = "zh",
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """Fund indicators per region × scheme × fund × year: insured rate, surplus, balance, months of payment capacity, growth …

    Regions without their own ledger rows are aggregated from their counties: flows and stocks are
    summed and every ratio is recomputed from the sums.
    """
    from mifund.ledger import filters
    from mifund.ledger.catalog import INDICATORS
    from mifund.ledger.indicators import cagr, compute_indicators, coverage_gaps, coverage_lines
    from mifund.ledger.regions import region_names
    from mifund.views.output import render

    check_format(fmt, output)
    if unit and unit not in UNITS:
        raise typer.BadParameter("--unit must be yuan, wan or yi")
    if lang not in HEADERS:
        raise typer.BadParameter("--lang must be zh or en")
    with open_warehouse(ctx) as wh:
        try:  # a value that can match nothing is an error, not an empty table
            region, scheme, fund = filters.regions(wh, region), filters.schemes(scheme), filters.funds(fund)
        except filters.FilterError as e:
            raise typer.BadParameter(str(e)) from None
        df = compute_indicators(wh, regions=region, years=None if cagr_span else year, schemes=scheme, funds=fund, monthly=monthly)
        names = region_names(wh)
        empty_ledger = len(df) == 0 and wh.count("fund_ledger") == 0
        no_year = _no_year_note(wh, year, monthly) if len(df) == 0 and year and not empty_ledger else None
    if cagr_span:
        try:
            start, end = (int(x) for x in cagr_span.split(":"))
        except ValueError:
            raise typer.BadParameter("--cagr takes START:END, e.g. 2020:2024") from None
        parts = [cagr(df, m, start, end) for m in ("insured", "income_total", "expenditure_total", "balance_end")]
        out = parts[0]
        for p in parts[1:]:
            out = out.merge(p, how="outer")
        # money in the unit asked for (as the indicators table), persons as persons: the unit column says which
        u = _display_unit(df, unit, fmt)
        money = out["measure"] != "insured"
        for c in ("value_start", "value_end"):
            out[c] = out[c].astype("float64")
            out.loc[money, c] = (out.loc[money, c] / UNITS[u]).round(FEN_PLACES[u])
        out.insert(out.columns.get_loc("value_start"), "unit", ["persons" if not m else u for m in money])
        if fmt == "table":  # years are labels: 2015, not "2,015"; persons whole, money to the fen
            out = out.assign(start=out["start"].astype(str), end=out["end"].astype(str),
                             unit=[("人" if lang == "zh" else "persons") if not m else (UNIT_ZH[u] if lang == "zh" else u)
                                   for m in money])
            for c in ("value_start", "value_end"):
                out[c] = ["—" if v != v else f"{v:,.2f}" if m else f"{v:,.0f}"
                          for v, m in zip(out[c], money, strict=True)]
        render(out, fmt, output=output, title=f"Compound annual growth {start}–{end} (年均复合增长率)",
               percent_cols={c for c in out.columns if c.startswith("cagr")}, console=console,
               right={"value_start", "value_end"})
        return
    u = _display_unit(df, unit, fmt)
    # fund amounts in the unit asked for; per-capita figures stay in yuan (人均筹资 is read in 元)
    amount_cols = [i.name for i in INDICATORS if i.unit == "yuan" and i.name in df.columns
                   and not i.name.endswith("_per_capita")]
    if UNITS[u] != 1:  # to the fen in the unit (0.000001 万元), without the division's float noise
        df[amount_cols] = (df[amount_cols] / UNITS[u]).round(FEN_PLACES[u])
    percent = {i.name for i in INDICATORS if i.unit == "percent-as-ratio"}
    unit_label = UNIT_ZH[u] if lang == "zh" else u
    headers = {i.name: (i.zh if lang == "zh" else i.en) + (f" ({unit_label})" if i.name in amount_cols else "") for i in INDICATORS}
    if lang != "zh":  # English names are long and figure columns never wrap: break them onto lines
        import textwrap

        headers = {k: "\n".join(textwrap.wrap(v, 14)) for k, v in headers.items()}
    headers.update(HEADERS[lang])  # lang was checked above
    if fmt == "table":
        gaps = coverage_gaps(df, names)
        if not monthly and "month" in df:
            df = df.drop(columns=["month"])
        cols = list(df.columns) if all_columns else [c for c in TABLE_COLUMNS if c in df.columns]
        if len(gaps):  # a total short of a county says so in its row, and which county below the table
            df["coverage"] = [f"{c}/{e}" if isinstance(m, str) else "" for c, e, m in
                              zip(df["units_covered"], df["units_expected"], df["missing_regions"], strict=True)]
            headers["coverage"] = "覆盖地区" if lang == "zh" else "coverage"
            cols.insert(cols.index("fund") + 1 if "fund" in cols else len(cols), "coverage")
        if empty_ledger:
            err.print("[yellow]No ledger rows.[/] Import a fund_ledger first (`mifund import …`).")
        elif no_year:  # a year the ledger does not hold: say so, and which years it holds; no empty table
            err.print(f"[yellow]{no_year}[/]", highlight=False)
            return
        elif len(df) == 0:
            err.print("[yellow]No ledger rows match these filters.[/]")
        render(df[cols], "table", title=f"Fund indicators 基金运行指标 (amounts in {UNIT_ZH[u]})",
               headers=headers, percent_cols=percent, console=console, kinds={"payable_months": "months"})
        for line in coverage_lines(gaps, lang):
            console.print(f"[yellow]{'覆盖不全' if lang == 'zh' else 'incomplete'}[/] {line}", highlight=False)
    else:
        if u != "yuan":  # the unit travels in the column name: income_total_wan, not a bare income_total
            df = df.rename(columns={c: f"{c}_{u}" for c in amount_cols})
        render(df, fmt, output=output, sheet_name="indicators")
        if no_year:  # on stderr: the csv/json on stdout stay clean
            err.print(f"[yellow]{no_year}[/]", highlight=False)


@app.command("warnings")
def warnings_cmd(
    ctx: typer.Context,
    region: LedgerRegionOpt = None,
    year: YearOpt = None,
    scheme: SchemeOpt = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="Your warning-rule YAML (overrides the shipped defaults)")] = None,
    level: Annotated[list[str] | None, typer.Option("--level", help="Only these levels: red, orange, yellow, blue")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Message language in the table: zh | en")] = "zh",
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """Early warnings (风险预警): safety line, idle balance, deficits, income/expenditure inversion, falling balance or insured, data quality."""
    from mifund.ledger import filters
    from mifund.ledger.indicators import coverage_gaps, coverage_lines, warning_indicators
    from mifund.ledger.regions import region_names
    from mifund.ledger.warning_rules import LEVELS
    from mifund.ledger.warnings import evaluate, load_rules
    from mifund.views.output import render

    check_format(fmt, output)
    if lang not in ("zh", "en"):
        raise typer.BadParameter("--lang must be zh or en")
    try:
        level = filters.levels(level, LEVELS)
        scheme = filters.schemes(scheme)
    except filters.FilterError as e:
        raise typer.BadParameter(str(e)) from None
    try:
        rule_set = load_rules(rules)
    except Exception as e:  # a bad rules file: say which key, don't dump a trace
        err.print(f"[red]Invalid warning rules:[/] {e}")
        raise typer.Exit(2) from None
    with open_warehouse(ctx) as wh:
        try:
            region = filters.regions(wh, region)
        except filters.FilterError as e:
            raise typer.BadParameter(str(e)) from None
        # annual and monthly rows: the rules' `monthly` part judges the latest month of a year in progress
        ind = warning_indicators(wh, regions=region, schemes=scheme)
        names = region_names(wh)
    w = evaluate(ind, rule_set)
    # totals short of a region below are not compared with other years (their growth is NULL): say so
    shown = ind[ind["month"].isna() & (ind["year"].isin(year) if year else True)]
    notes = coverage_lines(coverage_gaps(shown, names), lang if fmt == "table" else "en")
    tag = "[yellow]覆盖不全[/]" if lang == "zh" and fmt == "table" else "[yellow]incomplete[/]"
    if year:
        w = w[w["year"].isin(year)]
    if level:
        w = w[w["level"].isin(level)]
    if fmt == "table":
        cols = ["level", "region_code", "region_name", "year", "scheme", "fund", "rule", f"message_{lang}"]
        if len(w) == 0 and year and not ind["year"].isin(year).any():
            err.print(f"[yellow]No ledger rows for {', '.join(map(str, year))}:[/] nothing to warn about.")
        elif len(w) == 0:
            console.print("No warnings.")
        else:
            render(w[cols].reset_index(drop=True), "table", title="Early warnings 风险预警", console=console)
        for line in notes:
            console.print(f"{tag} {line}", highlight=False)
    else:
        if fmt != "json":  # a cell holds text: the figures as JSON, not a Python dict's repr
            import json

            w = w.assign(figures=[json.dumps(f, ensure_ascii=False) for f in w["figures"]])
        render(w, fmt, output=output, sheet_name="warnings")
        for line in notes:
            err.print(f"{tag} {line}", highlight=False)


# --------------------------------------------------------------------------------------------------
# db
# --------------------------------------------------------------------------------------------------
@db_app.command("info")
def db_info(
    ctx: typer.Context,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """Schema version and the number of rows in every table of the warehouse, by the part that made it."""
    import re

    import pandas as pd

    from mifund.storage.warehouse import migrations
    from mifund.views.output import render

    check_format(fmt, output)
    # every table the warehouse's catalogue holds, with the migration that created it (its part)
    part = {}
    for version, name, sql in migrations():
        for t in re.findall(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", sql, flags=re.IGNORECASE):
            part.setdefault(t, f"{version:04d} {name}")
    with open_warehouse(ctx) as wh:
        names = sorted(wh.con.list_tables(), key=lambda n: (part.get(n, "~"), n))
        rows = [{"part": part.get(n, "(warehouse)"), "table": n, "rows": wh.count(n)} for n in names]
        version, path = wh.schema_version(), wh.path
    df = pd.DataFrame(rows, columns=["part", "table", "rows"])
    if fmt == "table":
        console.print(f"{path}: schema version {version}, {len(df)} tables")
        render(df, "table", console=console)
    else:
        render(df.assign(schema_version=version), fmt, output=output, sheet_name="tables")


@db_app.command("audit")
def db_audit(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Most recent N entries")] = 20,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """The audit log: every import and every replaced record with old and new values, who and when."""
    from mifund.views.output import render

    check_format(fmt, output)
    with open_warehouse(ctx) as wh:
        t = wh.table("audit_log")
        df = wh.to_pandas(t.order_by(t.audit_id.desc()).limit(limit))
    render(df, fmt, output=output, title="Audit log 审计日志", console=console, sheet_name="audit_log")


# --------------------------------------------------------------------------------------------------
# demo (issue #4: the synthetic demo municipality)
# --------------------------------------------------------------------------------------------------
demo_app = typer.Typer(help="The synthetic demo municipality (合成演示数据).", no_args_is_help=True)
app.add_typer(demo_app, name="demo")


@demo_app.command("generate")
def demo_generate(
    size: Annotated[str, typer.Option("--size", help="small (about 20 thousand insured) | medium (500 thousand) | large (5 million)")] = "small",
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed and size give the same files")] = 1,
    out: Annotated[Path, typer.Option("--out", help="Directory to write")] = Path("demo_data"),
) -> None:
    """Write a synthetic municipality (Nanchang's real region codes, everything else synthetic) in the data-contract formats."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mifund.demo import SIZES, generate

    if size not in SIZES:
        raise typer.BadParameter(f"--size must be one of {', '.join(SIZES)}")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("persons and claims", total=SIZES[size])

        def progress(step: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=step)

        result = generate(size, seed=seed, out_dir=out, progress=progress)
    for name, n in result.rows.items():
        console.print(f"  {name}: {n:,} rows")
    console.print(f"wrote {out} in {result.seconds:.1f} s (SYNTHETIC data; planted abuse labels in {out / 'truth' / 'labels.csv'})")
    console.print(f"next: mifund import {out}")

@demo_app.command("run")
def demo_run(
    ctx: typer.Context,
    size: Annotated[str, typer.Option("--size", help="small | medium | large")] = "small",
    seed: Annotated[int, typer.Option("--seed", help="Random seed")] = 1,
    out: Annotated[Path, typer.Option("--out", help="Directory for the data, warehouse, report")] = Path("demo"),
    port: Annotated[int, typer.Option("--port", help="Port of the dashboard address printed at the end "
                                      "(`make demo` passes its PORT and serves there)")] = 8000,
    force: Annotated[bool, typer.Option("--force", help="Replace a warehouse or data folder in --out that "
                                        "the demo did not make")] = False,
) -> None:
    """The whole pipeline on the synthetic municipality: generate, import, indicators, warnings, settle, report.

    Replaces an earlier demo in --out; refuses to delete anything else there (a real warehouse) without --force.
    `make demo` runs this.
    """
    from mifund.demo import SIZES
    from mifund.demo.pipeline import DemoOutError, check_not_in_use, check_out_dir, run_demo
    from mifund.storage import WarehouseInUse

    if size not in SIZES:
        raise typer.BadParameter(f"--size must be one of {', '.join(SIZES)}")
    try:
        if not force:
            check_out_dir(out)
        check_not_in_use(out / "mifund.duckdb")
    except DemoOutError as e:
        err.print(f"[red]{e}[/]")
        raise typer.Exit(2) from e
    except WarehouseInUse as e:
        err.print(f"[red bold]Warehouse in use:[/] {e}", highlight=False)
        raise typer.Exit(2) from None
    s = settings(ctx)
    with err.status("generating the synthetic municipality …") as status:
        run = run_demo(out, size=size, seed=seed, actor=s.user, force=True,
                       step=lambda name: status.update(f"done: {name} …"))
    for name, secs in run.steps:
        console.print(f"  [green]✓[/] {name} ({secs:.1f} s)")
    for name, n in run.counts.items():
        console.print(f"    {name}: {n:,}")
    if run.pooling is not None:
        from mifund.views.output import render

        cols = ["label", "deficit", "covered_own_balance", "covered_pool", "covered_county_treasury",
                "covered_city_treasury", "contributions_to_pot", "contribution_beyond_surplus", "paid_from_pot",
                "share_years_any_county_fund_below", "share_years_city_fund_below", "pool_months_end", "money_end"]
        render(run.pooling[[c for c in cols if c in run.pooling.columns]], "table",
               percent_cols={"share_years_any_county_fund_below", "share_years_city_fund_below"},
               title="Pooling modes on the resident pooled fund's ledgers, yuan (统筹模式比较; mifund pooling compare)",
               console=console)
    console.print(f"Warehouse: {run.db}   (e.g. MIFUND_DB={run.db} mifund indicators --region 360100)")
    console.print(f"Projection run: {run.projection_run}   (mifund project run --db {run.db} for more)")
    console.print(f"Settled claims: {run.settled}")
    for r in run.annual_reports:
        console.print(f"Annual report: {r}")
    console.print(f"Report: {run.report}")
    console.print(f"Dashboard: mifund serve --db {run.db} --port {port}  →  http://127.0.0.1:{port}/  "
                  "(make demo serves it)")
    for u in run.demo_users:
        console.print(f"  login {u['username']} / {u['password']}  ({u['role']}, {u['region_code']})", highlight=False)


# --------------------------------------------------------------------------------------------------
# settle and policy (issue #3: benefit policy engine and claim settlement)
# --------------------------------------------------------------------------------------------------
policy_app = typer.Typer(help="Benefit policies (待遇政策) as data: compare regions, harmonise.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
PolicyOpt = Annotated[Path, typer.Option("--policy", "-p", help="Directory (or file) of policy YAML files")]


_SETTLE_REQUIRED = {
    "claims": ("claim_id", "person_id", "provider_id", "visit_type", "admit_date", "discharge_date", "total_amount",
               "self_pay_amount", "copay_first_amount"),
    "enrollment": ("person_id", "year", "region_code", "scheme", "category"),
    "providers": ("provider_id", "level"),
}
_SETTLE_NUMBERS = ("total_amount", "self_pay_amount", "copay_first_amount", "policy_scope_amount", "level", "year")
_SETTLE_DATES = ("admit_date", "discharge_date", "birth_date")
_SETTLE_MONEY = ("total_amount", "self_pay_amount", "copay_first_amount", "policy_scope_amount")
_SETTLE_WHOLE = ("level", "year")
_SETTLE_BOOLS = ("cross_region",)
_TRUE = {"true", "t", "1", "yes", "y", "是"}
_FALSE = {"false", "f", "0", "no", "n", "否"}


def _read_table_file(path: Path, kind: str = "claims"):
    """A claims/enrollment/providers file (`kind`) as pandas, ids as strings, with `_row` (the file row).

    A missing file or column, or a cell that is not a number or a date where one is due, is an error
    naming the file, row and column (exit 1), before anything is settled: the settlement itself could
    only name the claim, or fail in the engine."""
    import numpy as np
    import pandas as pd

    def fail(lines: list[str], more: int = 0):
        tail = [f"… and {more} more"] if more else []
        err.print("[red bold]Nothing settled:[/]")
        err.print("\n".join(lines + tail), highlight=False, markup=False)
        raise typer.Exit(1)

    if not path.is_file():
        fail([f"{path}: no such file"])
    ids = {"claim_id": str, "person_id": str, "provider_id": str, "region_code": str}
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        elif suffix in (".xlsx", ".xlsm", ".xls"):
            df = pd.read_excel(path, dtype=ids)
        else:
            df = pd.read_csv(path, dtype=ids)
    except Exception as e:  # noqa: BLE001 - any reader's refusal: the file cannot be read, say why
        fail([f"{path}: cannot be read as {kind} ({suffix or 'csv'}): {e}"])
    missing = [c for c in _SETTLE_REQUIRED[kind] if c not in df.columns]
    if missing:
        fail([f"{path}: no column {c} (a {kind} file needs {', '.join(_SETTLE_REQUIRED[kind])})" for c in missing])
    first = 1 if suffix in (".parquet", ".pq") else 2  # the row the user sees (a spreadsheet's header is row 1)
    rows = np.arange(first, len(df) + first)
    problems: list[str] = []
    count = 0

    def check(col: str, parsed, what: str) -> None:
        nonlocal count
        raw = df[col]
        bad = (parsed.isna() & raw.notna() & (raw.astype(str).str.strip() != "")).to_numpy()
        count += int(bad.sum())
        problems.extend(f"{path.name} row {r}, column {col}: {str(v)!r} is not {what}"
                        for r, v in zip(rows[bad][:10], raw[bad][:10], strict=True))

    for c in _SETTLE_NUMBERS:
        if c in df and not pd.api.types.is_numeric_dtype(df[c]):
            parsed = pd.to_numeric(df[c].astype("string").str.strip(), errors="coerce")
            check(c, parsed, "a number")
            df[c] = parsed.astype("float64")
    # an amount is in yuan to the fen, a level or year a whole number: anything finer would be rounded
    # silently by the settlement (the policy files refuse the same)
    for c, scale, what in [*((c, 100, "an amount to the fen (more than 2 decimals)") for c in _SETTLE_MONEY),
                           *((c, 1, "a whole number") for c in _SETTLE_WHOLE)]:
        if c in df and pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
            x = df[c].astype("float64") * scale
            bad = (x.notna() & ((x - x.round()).abs() > 1e-6 * scale)).to_numpy()
            count += int(bad.sum())
            problems.extend(f"{path.name} row {r}, column {c}: {v!r} is not {what}"
                            for r, v in zip(rows[bad][:10], df[c][bad][:10], strict=True))
    for c in _SETTLE_BOOLS:
        if c in df and not pd.api.types.is_bool_dtype(df[c]):
            text = df[c].astype("string").str.strip().str.lower()
            text = text.str.replace(r"\.0$", "", regex=True)  # 1.0 / 0.0: a spreadsheet's numbers
            parsed = text.map(lambda v: True if v in _TRUE else False if v in _FALSE else None, na_action="ignore")
            check(c, parsed, "true or false (also 1/0, yes/no, 是/否)")
            df[c] = parsed.astype("boolean")
    for c in _SETTLE_DATES:
        if c in df:
            parsed = pd.to_datetime(df[c], errors="coerce", format="ISO8601")
            retry = parsed.isna() & df[c].notna()
            if retry.any():  # other spellings (2024/3/10, 10.03.2024 …), element by element
                parsed[retry] = pd.to_datetime(df[c][retry].astype(str), errors="coerce", format="mixed")
            check(c, parsed, "a date (YYYY-MM-DD)")
            df[c] = parsed.dt.date.where(parsed.notna(), None)
    if problems:
        fail(problems[:10], more=count - min(count, 10))
    df["_row"] = rows
    return df


def _settle_sources(ctx, claims: str, enrollment: Path | None, providers: Path | None, *, writable: bool = False):
    """(source for mifund.settlement, claims override, warehouse to close or None). `writable` opens the
    warehouse for writing (settlement results are to be stored in it)."""
    wh = None
    if claims != "warehouse" and enrollment is not None and providers is not None:
        return ({"claims": _read_table_file(Path(claims)), "enrollment": _read_table_file(enrollment, "enrollment"),
                 "providers": _read_table_file(providers, "providers")}, None, None)
    wh = open_warehouse(ctx, read_only=not writable)  # no warehouse: the same error for writing as for reading
    if claims == "warehouse" and enrollment is None and providers is None:
        return wh, None, wh
    src = {n: wh.table(n) for n in ("claims", "enrollment", "providers")}
    if claims != "warehouse":
        src["claims"] = _read_table_file(Path(claims))
    if enrollment is not None:
        src["enrollment"] = _read_table_file(enrollment, "enrollment")
    if providers is not None:
        src["providers"] = _read_table_file(providers, "providers")
    return src, None, wh


def _no_claims_message(src, year: int | None, claims: str) -> str:
    """Why nothing was settled: no claims at all, or none in the year asked for (and the years there are)."""
    import pandas as pd

    from mifund.storage import Warehouse

    t = src.table("claims") if isinstance(src, Warehouse) else src["claims"]
    where = "the warehouse" if claims == "warehouse" else claims
    if year is None:
        return f"no claims in {where}"
    if isinstance(t, pd.DataFrame):
        years = sorted({d.year for d in t["discharge_date"].dropna()})
    else:
        yrs = t.discharge_date.cast("date").year().name("y")
        years = sorted(int(y) for y in t.select(yrs).distinct().to_pandas()["y"].dropna())
    have = ", ".join(map(str, years)) if years else "none"
    return f"no claims discharged in {year} in {where} (the years with claims: {have})"


def _load_policies_or_exit(policy: Path):
    from mifund.policy import PolicyError, load_policies

    try:
        return load_policies(policy)
    except PolicyError as e:
        err.print(f"[red bold]Invalid policy:[/]\n{e}")
        raise typer.Exit(2) from None


def _settle_explain(ctx, claim_id: str, policy: Path | None, from_claims: Path | None, enrollment: Path | None,
                    providers: Path | None, year: int | None, lang: str) -> None:
    """`settle explain`: the stored settlement of a warehouse claim, explained under the policies of the
    run that stored it (unless --policy), then checked against the stored row: a difference (a policy
    edited since, claims changed) is a warning and exit status 1, never an explanation of figures nobody
    was paid. Only the claim's person-year is settled: other people's claims are not validated."""
    import ibis

    from mifund.settlement import SettlementError, settlement_inputs
    from mifund.settlement.explain import compare_stored, explain_with_figures
    from mifund.storage import Warehouse

    if lang not in ("zh", "en"):
        raise typer.BadParameter("zh or en", param_hint="--lang")
    src, _, wh = _settle_sources(ctx, str(from_claims) if from_claims else "warehouse", enrollment, providers)
    try:
        stored = run_id = None
        if wh is not None and from_claims is None:  # the warehouse's claim: its stored row and run
            s = wh.table("settlement")
            row = wh.to_pandas(s.filter(s.claim_id == claim_id))
            if len(row):
                stored = row.iloc[0].to_dict()
                run_id = stored["run_id"]
                r = wh.table("settlement_runs")
                run = wh.to_pandas(r.filter(r.run_id == run_id).select("policy_source"))
                if policy is None and len(run) and run.iloc[0]["policy_source"]:
                    policy = Path(run.iloc[0]["policy_source"])
                    if not policy.exists():
                        err.print(f"The policies of settlement run {run_id} ({policy}) are not there; name them "
                                  "with --policy", style="red bold", highlight=False, markup=False)
                        raise typer.Exit(2)
                    err.print(f"Policies of settlement run {run_id}: {policy}", highlight=False, markup=False)
        policies = _load_policies_or_exit(policy or Path("policies"))
        t = src.table("claims") if isinstance(src, Warehouse) else src["claims"]
        t = t if isinstance(t, ibis.expr.types.Table) else ibis.memtable(t)
        hit = t.filter(t.claim_id == claim_id).select("person_id", "discharge_date").execute()
        if hit.empty:
            raise KeyError(f"claim {claim_id} not found")
        pid, day = hit.iloc[0]["person_id"], hit.iloc[0]["discharge_date"]
        mine = t.filter(t.person_id == pid) if pid is not None and pid == pid else t.filter(t.claim_id == claim_id)
        yr = year if day is None or day != day else day.year
        con, prepared, _ = settlement_inputs(src, policies, year=yr, claims=mine)
        lines, figures = explain_with_figures(con, prepared, policies, claim_id, lang=lang)
        for line in lines:
            console.print(line, highlight=False, markup=False)
        if wh is not None and from_claims is None:
            said, differs = compare_stored(figures, stored, run_id, lang)
            for line in said:
                (err if differs else console).print(line, style="red bold" if differs else None, highlight=False,
                                                    markup=False)
            if differs:
                raise typer.Exit(1)
    except (SettlementError, KeyError, ValueError) as e:
        err.print(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e), style="red bold",
                  highlight=False, markup=False)
        raise typer.Exit(1) from None
    finally:
        if wh is not None:
            wh.close()


@app.command("settle")
def settle_cmd(
    ctx: typer.Context,
    claims: Annotated[str, typer.Argument(help="Claims file (parquet, csv, xlsx), or the word `warehouse`; "
                                          "or `explain` followed by a claim id")],
    claim_id: Annotated[str | None, typer.Argument(help="With `explain`: the claim to explain")] = None,
    policy: Annotated[Path | None, typer.Option("--policy", "-p", help="Directory (or file) of policy YAML files "
                                                "(default: policies; `explain` of a warehouse claim: the policies "
                                                "of the settlement run that stored it)")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write settled claims here (.parquet, .csv, .json "
                                             "or .xlsx, by the suffix)")] = None,
    totals: Annotated[Path | None, typer.Option("--totals", help="Write person-year totals here (.parquet, .csv, "
                                                ".json or .xlsx)")] = None,
    year: Annotated[int | None, typer.Option("--year", "-y", help="Only claims discharged in this year")] = None,
    enrollment: Annotated[Path | None, typer.Option("--enrollment", help="Enrolment file (default: the warehouse's)")] = None,
    providers: Annotated[Path | None, typer.Option("--providers", help="Providers file (default: the warehouse's)")] = None,
    from_claims: Annotated[Path | None, typer.Option("--claims", help="With `explain`: claims file (default: the warehouse)")] = None,
    store: Annotated[bool | None, typer.Option("--store/--no-store", help="Store the results in the warehouse "
                                               "(default: when CLAIMS is `warehouse`)")] = None,
    lang: Annotated[str, typer.Option("--lang", help="With `explain`: the explanation's language, zh | en")] = "zh",
) -> None:
    """Settle claims under benefit policies (三重保障: pooled fund, catastrophic, assistance, account).

    \b
    mifund settle claims.parquet --policy policies/ --out settled.parquet
    mifund settle warehouse --policy policies/ --year 2025 --out settled.parquet --totals person_year.csv
    mifund settle explain C000123 --policy policies/        (the warehouse's claims; or --claims FILE)

    Enrolment (the person's category, special group, scheme and insured region for the claim's year)
    and providers (level) come from the warehouse unless --enrollment / --providers name files.
    Output per claim: claim_id, deductible_applied, pooled_fund_paid, catastrophic_paid, assistance_paid,
    account_paid, out_of_pocket (yuan, exact to the fen; the parts sum to total_amount), plus
    person_id, year, policy_key, policy_version, total_amount. Claims of a person are settled in
    discharge-date order within the calendar year (ties by claim id). Any bad claim (an empty amount or
    date, a cell that is not a number or a date, a negative amount, parts above the total, discharge
    before admission, unknown person or provider, a provider level, insured category or special group
    the policy does not have) is an error naming the row; no claim is left out, nothing is written.
    --out and --totals write Parquet, csv, json or xlsx by their suffix; a bad path is refused first.

    With --store (the default for `warehouse`) the results go into the warehouse as a new settlement
    run: tables settlement (replaced by claim id, changes audited), settlement_person_year and
    settlement_runs; the run id is printed.
    """
    from mifund.settlement import SettlementError, person_year_totals, settle_with_gaps
    from mifund.settlement.store import XLSX_MAX_ROWS, output_problem, write_table

    # output paths are checked before anything is settled or stored: a bad --out must not fail after the work
    outputs = [p for p in (out, totals) if p is not None]
    if len(outputs) == 2 and out.resolve() == totals.resolve():
        raise typer.BadParameter("--out and --totals name the same file")
    for p in outputs:
        if problem := output_problem(p):
            raise typer.BadParameter(problem)
    if claims == "explain":
        if not claim_id:
            raise typer.BadParameter("settle explain needs a CLAIM_ID")
        _settle_explain(ctx, claim_id, policy, from_claims, enrollment, providers, year, lang)
        return
    policy = policy or Path("policies")
    policies = _load_policies_or_exit(policy)
    if claim_id:
        raise typer.BadParameter("give one CLAIMS source (a second argument is only for `explain`)")
    if store is None:
        store = claims == "warehouse"
    src, _, wh = _settle_sources(ctx, claims, enrollment, providers, writable=store)
    run_id = None
    try:
        result, gaps = settle_with_gaps(src, policies, year=year, detail=True, source_name=Path(claims).name)
        if result.num_rows == 0:
            raise SettlementError([_no_claims_message(src, year, claims)])
        tot = person_year_totals(result)
        if out is not None and out.suffix.lower() == ".xlsx" and result.num_rows > XLSX_MAX_ROWS:
            raise SettlementError([f"{out}: {result.num_rows:,} settled claims do not fit an Excel sheet "
                                   f"({XLSX_MAX_ROWS:,} rows); use .parquet or .csv"])
        if store:
            from mifund.settlement.store import store_settlement

            if wh is None:  # claims, enrolment and providers all from files: store in the warehouse anyway
                wh = open_warehouse(ctx, read_only=False, create=True)
            run_id = store_settlement(wh, result, actor=settings(ctx).user, policy_source=str(policy),
                                      no_basic_layer=gaps.to_dict("records"))
    except SettlementError as e:
        err.print(f"[red bold]Nothing settled:[/]\n{e}")
        raise typer.Exit(1) from None
    finally:
        if wh is not None:
            wh.close()

    written: list[Path] = []
    try:
        for table, path in ((result, out), (tot, totals)):
            if path is not None:
                write_table(table, path)
                written.append(path)
    except (OSError, ValueError) as e:
        for path in written:  # both files or neither
            path.unlink(missing_ok=True)
        err.print(f"[red bold]Could not write the results:[/] {e}" + (
            f"\n(the settlement is stored in the warehouse as run {run_id})" if run_id else ""))
        raise typer.Exit(1) from None
    import pandas as pd

    sums = {c: float(pd.Series(result[c].to_pylist(), dtype="object").sum()) for c in
            ("total_amount", "pooled_fund_paid", "catastrophic_paid", "assistance_paid", "account_paid", "out_of_pocket")}
    summary = pd.DataFrame([{"claims": result.num_rows, "person_years": tot.num_rows, **sums}])
    from mifund.views.output import render

    render(summary, "table", title=f"Settled {result.num_rows:,} claims (yuan)" + (f" → {out}" if out else ""),
           console=console)
    for g in gaps.itertuples():  # a gap of the policy file, not a benefit rule: said, never silently 0
        err.print(f"Warning: {g.claims:,} {g.visit_group} claims ({g.total_amount:,.2f} yuan): policy {g.policy_key} "
                  f"has no {g.visit_group} layer in force, pooled fund paid 0", style="yellow", highlight=False,
                  markup=False)
    if run_id:
        console.print(f"Stored in the warehouse as settlement run {run_id}", highlight=False)


@policy_app.command("test")
def policy_test_cmd(
    policy: Annotated[Path, typer.Argument(help="Policy file or directory")] = Path("policies"),
) -> None:
    """Run the worked examples written in the policy files (`tests:`) through the settlement engine.

    Every expected figure must match to the fen; exit status 1 if any case fails (each failure names the
    file, case, claim and figure)."""
    from rich.table import Table

    from mifund.policy.cases import run_policy_tests

    policies = _load_policies_or_exit(policy)
    results = run_policy_tests(policies)
    t = Table(title=f"Policy test cases in {policy}")
    for c in ("policy", "case", "result"):
        t.add_column(c)
    for r in results:
        t.add_row(r.policy, r.name, "[green]passed[/]" if r.passed else "[red]FAILED[/]\n" + "\n".join(r.failures))
    console.print(t)
    failed = sum(not r.passed for r in results)
    console.print(f"{len(results) - failed} passed, {failed} failed", highlight=False)
    if failed:
        for r in results:
            for f in r.failures:
                err.print(f"{r.file}: {r.name}: {f}", highlight=False)
        raise typer.Exit(1)


@policy_app.command("compare")
def policy_compare_cmd(
    policy: PolicyOpt = Path("policies"),
    amounts: Annotated[str, typer.Option("--amounts", help="Inpatient bills (yuan), comma-separated")] = "5000,20000,50000,100000,300000",
    on: Annotated[str, typer.Option("--date", help="Policy date (YYYY-MM-DD)")] = "",
    region: RegionOpt = None,
    special_group: Annotated[list[str] | None, typer.Option(
        "--special-group", help="Also settle the profiles for this special group (low_income, extreme_poverty, "
        "relapse_risk, disabled; `none`: no group; `all`: none and every group); adds a special_group "
        "column. Repeatable.")] = None,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Also draw the curves: a self-contained .html "
                                              "(ECharts inlined, opens offline)")] = None,
) -> None:
    """Out of pocket and fund payment for standard inpatient profiles, per region × scheme × category × level.

    With --plot FILE.html: out-of-pocket and fund-share curves against the bill, one line per region × level."""
    import datetime as dt

    from mifund.policy.compare import PROFILE_MONEY, compare_profiles, in_force, parse_amounts, region_subtree
    from mifund.policy.schema import SPECIAL_GROUPS
    from mifund.views.output import render

    check_format(fmt, output)
    groups = None
    if special_group:
        groups = list(dict.fromkeys(g for x in special_group for g in (("none", *SPECIAL_GROUPS) if x == "all" else (x,))))
        if bad := [g for g in groups if g not in ("none", *SPECIAL_GROUPS)]:
            raise typer.BadParameter(f"{', '.join(bad)}: not a special group (one of none, "
                                     f"{', '.join(SPECIAL_GROUPS)}, all)", param_hint="--special-group")
    if plot is not None and plot.suffix.lower() != ".html":  # before anything is written
        raise typer.BadParameter("--plot writes an .html file", param_hint="--plot")
    try:
        day = dt.date.fromisoformat(on) if on else dt.date.today()
    except ValueError:
        raise typer.BadParameter(f"{on!r} is not a date (YYYY-MM-DD)", param_hint="--date") from None
    try:
        bills = parse_amounts(amounts)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--amounts") from None
    policies = _load_policies_or_exit(policy)
    # a region's subtree, as --region says: a city brings its counties' own policies
    regions = region_subtree(region, [p.region_code for p in policies]) if region else None
    found, later = in_force(policies, day, regions)
    missing = sorted(r for r in region or () if not region_subtree([r], [p.region_code for p in policies]))
    if missing:
        err.print(f"[red bold]No policy file for region {', '.join(missing)} in {policy}[/] (a county without "
                  "a file takes its city's policy: name the city)", highlight=False)
        raise typer.Exit(1)
    for p in later:
        err.print(f"{p.key}: no version in force on {day} (first version {p.versions[0]}); left out",
                  highlight=False)
    if not found:
        err.print(f"[red bold]No policy in force on {day}[/]", highlight=False)
        raise typer.Exit(1)
    for p in found:  # its profiles would read as paid by no basic layer, silently
        if p.model.inpatient is None or not p.resolve(day, category=p.categories[0], special_group=None, level=1,
                                                      visit_group="inpatient")["vg_on"]:
            err.print(f"Warning: {p.key} has no inpatient layer in force on {day}: the pooled fund pays "
                      "nothing on its profiles", style="yellow", highlight=False, markup=False)
    df = compare_profiles(policies, bills, day=day, regions=regions, special_group=groups)
    render(df, fmt, output=output, title=f"Standard inpatient profiles on {day} (yuan)", console=console,
           sheet_name="compare", kinds={**dict.fromkeys(PROFILE_MONEY, "money"), "fund_share": "ratio"})
    if fmt == "table":  # what each policy leaves out (e.g. a large-amount layer above the pooled cap)
        for p in found:
            if p.model.metadata is not None and p.model.metadata.note:
                console.print(f"Note, {p.key}: {p.model.metadata.note}", highlight=False, markup=False)
    if plot is not None:
        from mifund.policy.plot import write_compare_html

        console.print(f"Plot: {write_compare_html(df, plot, day=str(day))}", highlight=False)


@policy_app.command("harmonise")
def policy_harmonise_cmd(
    ctx: typer.Context,
    claims: Annotated[str, typer.Option("--claims", help="Claims file or `warehouse`")] = "warehouse",
    from_dir: Annotated[Path, typer.Option("--from", help="Current (county) policies")] = Path("policies"),
    to_dir: Annotated[Path, typer.Option("--to", help="Unified (city) policy directory")] = Path("policies"),
    year: Annotated[int | None, typer.Option("--year", "-y")] = None,
    by: Annotated[str | None, typer.Option("--by", help="band (county × category × cost band) | county | total. "
                                           "Default: all three tables for people, band for machines")] = None,
    enrollment: Annotated[Path | None, typer.Option("--enrollment", help="Enrolment file (default: the warehouse's)")] = None,
    providers: Annotated[Path | None, typer.Option("--providers", help="Providers file (default: the warehouse's)")] = None,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """Re-settle the same claims under a unified policy: change in fund payment and out of pocket by
    county, insured category and cost band, per county and in all (what it costs the fund), with the
    claims and persons better off (out of pocket falls) and worse off (it rises). Amounts in yuan, to the fen."""
    from mifund.policy.compare import COUNTS, MONEY, harmonise_report
    from mifund.settlement import SettlementError
    from mifund.views.output import render

    check_format(fmt, output)
    if by is not None and by not in ("band", "county", "total"):
        raise typer.BadParameter("--by is band, county or total", param_hint="--by")
    before, after = _load_policies_or_exit(from_dir), _load_policies_or_exit(to_dir)
    src, _, wh = _settle_sources(ctx, claims, enrollment, providers)
    try:
        rep = harmonise_report(src, before, after, year=year, source_name=Path(claims).name)
    except SettlementError as e:
        err.print(f"[red bold]{e}[/]")
        raise typer.Exit(1) from None
    finally:
        if wh is not None:
            wh.close()
    frames = {"band": (rep.by_band, "by county × insured category × cost band"),
              "county": (rep.by_county, "by county"), "total": (rep.total, "in all: what it costs the fund")}
    kinds = {**dict.fromkeys(MONEY, "money"), **dict.fromkeys(COUNTS, "count")}
    if fmt != "table":
        df, _ = frames[by or "band"]
        render(df, fmt, output=output, console=console, sheet_name=f"harmonise_{by or 'band'}", kinds=kinds)
        return
    # for people: the changes and who gains / loses (the before/after sums are in --format csv|json|xlsx)
    shown = ["claims", "persons", "persons_better_off", "persons_worse_off", "fund_before", "fund_change",
             "account_before", "account_change", "oop_before", "oop_change"]
    for key in [by] if by else ["band", "county", "total"]:
        df, what = frames[key]
        cols = [c for c in df.columns if c not in COUNTS + MONEY] + shown
        render(df[cols], "table", console=console, kinds=kinds,
               title=f"Harmonisation {what} (yuan; change = unified − current; fund = pooled + catastrophic + "
                     "assistance; account = individual accounts; oop = out of pocket)")


# -- parts with command modules of their own (each registers one sub-app) ------------------------------
def _register_parts() -> None:
    from mifund.accounts.cli import app as accounts_app
    from mifund.disparity.cli import app as disparity_app
    from mifund.disparity.cli import transfers_app
    from mifund.pooling.cli import app as pooling_app
    from mifund.projection.cli import app as project_app
    from mifund.reports.cli import report_cmd
    from mifund.scale.cli import app as dataset_app
    from mifund.supervision.cli import app as supervise_app
    from mifund.users.cli import app as users_app
    from mifund.web.cli import serve

    app.command("report")(report_cmd)
    app.add_typer(project_app, name="project")
    app.add_typer(pooling_app, name="pooling")
    app.add_typer(disparity_app, name="disparity")
    app.add_typer(transfers_app, name="transfers")
    app.add_typer(supervise_app, name="supervise")
    app.add_typer(accounts_app, name="accounts")
    app.add_typer(dataset_app, name="dataset")
    app.add_typer(users_app, name="users")
    app.command("serve")(serve)


_register_parts()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
