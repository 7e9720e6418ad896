"""The `mifund` command line. Thin: parse options, call a part of the package, render the result.

Heavy modules are imported inside the commands so that `mifund --help` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mifund.config import Settings, get_settings
from mifund.views.output import table_console

app = typer.Typer(
    name="mifund",
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
err = Console(stderr=True)

UNITS = {"yuan": 1.0, "wan": 1e4, "yi": 1e8}
UNIT_ZH = {"yuan": "元", "wan": "万元", "yi": "亿元"}

FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table (for people) | csv | json | xlsx (for machines)")]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (required for xlsx)")]
RegionOpt = Annotated[list[str] | None, typer.Option("--region", "-r", help="Region code; its subtree is included. Repeatable.")]
YearOpt = Annotated[list[int] | None, typer.Option("--year", "-y", help="Year. Repeatable.")]
SchemeOpt = Annotated[list[str] | None, typer.Option("--scheme", "-s", help="employee | resident | total. Repeatable.")]
FundOpt = Annotated[list[str] | None, typer.Option("--fund", help="pooled | account | combined | total. Repeatable.")]


@app.callback()
def _main(
    ctx: typer.Context,
    db: Annotated[Path | None, typer.Option("--db", help="Warehouse file (default ./mifund.duckdb, or $MIFUND_DB)")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Name recorded in the audit log (default $MIFUND_USER or login)")] = None,
) -> None:
    ctx.obj = get_settings(db=db, user=user)


def _settings(ctx: typer.Context) -> Settings:
    return ctx.obj if isinstance(ctx.obj, Settings) else get_settings()


def _check_format(fmt: str, output: Path | None) -> None:
    from mifund.views.output import FORMATS

    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    if fmt == "xlsx" and output is None:
        raise typer.BadParameter("--format xlsx needs --output FILE.xlsx")


def _open(ctx: typer.Context, *, read_only: bool = False):
    from mifund.storage import Warehouse

    s = _settings(ctx)
    if read_only and not s.db.exists():
        err.print(f"[red]No warehouse at {s.db}.[/] Run `mifund import …` first (or set --db / MIFUND_DB).")
        raise typer.Exit(2)
    return Warehouse(s.db, read_only=read_only)


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
) -> None:
    """Import data-contract tables (regions, population, fund_ledger, enrollment, providers, catalog, claims, claim_lines).

    Everything named in one call is imported in dependency order as ONE transaction: any error
    (named by file, row and column) leaves the warehouse exactly as it was.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mifund.ingest import ImportFailed, import_paths, import_sample, load_or_create_id_key

    if unit not in UNITS:
        raise typer.BadParameter("--unit must be yuan, wan or yi")
    if not paths and not sample:
        raise typer.BadParameter("give files or directories to import, or --sample national")
    s = _settings(ctx)
    key = load_or_create_id_key(s)
    with _open(ctx) as wh, Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(file: str, done: int, total: int | None) -> None:
            if file not in tasks:
                tasks[file] = bar.add_task(f"import {Path(file).name}", total=total)
            bar.update(tasks[file], completed=done, total=total)

        try:
            if sample:
                report = import_sample(wh, sample, actor=s.user, id_key=key, progress=progress)
            else:
                report = import_paths(
                    wh, paths, table=table, unit=unit, actor=s.user, id_key=key, strict=strict,
                    sheet=sheet, encoding=encoding, progress=progress,
                )
        except ImportFailed as e:
            bar.stop()
            err.print(f"[red bold]{e}[/]")
            raise typer.Exit(1) from None
    from rich.table import Table

    t = Table(title=f"Imported into {s.db} (batch {report.batch_id[:8]})")
    for c in ("file", "table", "rows", "inserted", "replaced", "unchanged"):
        t.add_column(c, justify="left" if c in ("file", "table") else "right")
    for f in report.files:
        t.add_row(Path(f.file).name, f.table, f"{f.rows_read:,}", f"{f.inserted:,}", f"{f.replaced:,}", f"{f.unchanged:,}")
    console.print(t)
    for w in report.warnings:
        where = ", ".join(x for x in (Path(w.file).name if w.file else None, f"row {w.row}" if w.row else None, w.column) if x)
        tag = "[dim]note[/]" if w.severity == "info" else "[yellow]warning[/]"
        err.print(f"{tag} {where}: {w.reason}")


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
    s = _settings(ctx)
    if s.db.exists():
        with _open(ctx, read_only=True) as wh:
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


@app.command("indicators")
def indicators_cmd(
    ctx: typer.Context,
    region: RegionOpt = None,
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
    from mifund.ledger.catalog import INDICATORS
    from mifund.ledger.indicators import cagr, compute_indicators
    from mifund.views.output import render

    _check_format(fmt, output)
    if unit and unit not in UNITS:
        raise typer.BadParameter("--unit must be yuan, wan or yi")
    with _open(ctx, read_only=True) as wh:
        df = compute_indicators(wh, regions=region, years=None if cagr_span else year, schemes=scheme, funds=fund, monthly=monthly)
    if cagr_span:
        try:
            start, end = (int(x) for x in cagr_span.split(":"))
        except ValueError:
            raise typer.BadParameter("--cagr takes START:END, e.g. 2020:2024") from None
        parts = [cagr(df, m, start, end) for m in ("insured", "income_total", "expenditure_total", "balance_end")]
        out = parts[0]
        for p in parts[1:]:
            out = out.merge(p, how="outer")
        render(out, fmt, output=output, title=f"Compound annual growth {start}–{end} (年均复合增长率)",
               percent_cols={c for c in out.columns if c.startswith("cagr")}, console=console)
        return
    u = _display_unit(df, unit, fmt)
    amount_cols = [i.name for i in INDICATORS if i.unit == "yuan" and i.name in df.columns]
    if UNITS[u] != 1:
        df[amount_cols] = df[amount_cols] / UNITS[u]
    percent = {i.name for i in INDICATORS if i.unit == "percent-as-ratio"}
    unit_label = UNIT_ZH[u] if lang == "zh" else u
    headers = {i.name: (i.zh if lang == "zh" else i.en) + (f" ({unit_label})" if i.name in amount_cols else "") for i in INDICATORS}
    headers.update(HEADERS[lang] if lang in HEADERS else {})
    if fmt == "table":
        if not monthly and "month" in df:
            df = df.drop(columns=["month"])
        cols = list(df.columns) if all_columns else [c for c in TABLE_COLUMNS if c in df.columns]
        if len(df) == 0:
            err.print("[yellow]No ledger rows match.[/] Import a fund_ledger first (`mifund import …`).")
        render(df[cols], "table", title=f"Fund indicators 基金运行指标 (amounts in {UNIT_ZH[u]})",
               headers=headers, percent_cols=percent, console=console)
    else:
        render(df, fmt, output=output, sheet_name="indicators")


@app.command("warnings")
def warnings_cmd(
    ctx: typer.Context,
    region: RegionOpt = None,
    year: YearOpt = None,
    scheme: SchemeOpt = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="Your warning-rule YAML (overrides the shipped defaults)")] = None,
    level: Annotated[list[str] | None, typer.Option("--level", help="Only these levels: red, orange, yellow, blue")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Message language in the table: zh | en")] = "zh",
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """Early warnings (风险预警): safety line, idle balance, deficits, income/expenditure inversion, falling balance or insured, data quality."""
    from mifund.ledger.indicators import compute_indicators
    from mifund.ledger.warnings import evaluate, load_rules
    from mifund.views.output import render

    _check_format(fmt, output)
    try:
        rule_set = load_rules(rules)
    except Exception as e:  # a bad rules file: say which key, don't dump a trace
        err.print(f"[red]Invalid warning rules:[/] {e}")
        raise typer.Exit(2) from None
    with _open(ctx, read_only=True) as wh:
        ind = compute_indicators(wh, regions=region, schemes=scheme)
    w = evaluate(ind, rule_set)
    if year:
        w = w[w["year"].isin(year)]
    if level:
        w = w[w["level"].isin(level)]
    if fmt == "table":
        cols = ["level", "region_code", "region_name", "year", "scheme", "fund", "rule", f"message_{lang}"]
        if len(w) == 0:
            console.print("No warnings.")
            return
        render(w[cols].reset_index(drop=True), "table", title="Early warnings 风险预警", console=console)
    else:
        render(w, fmt, output=output, sheet_name="warnings")


# --------------------------------------------------------------------------------------------------
# db
# --------------------------------------------------------------------------------------------------
@db_app.command("info")
def db_info(ctx: typer.Context) -> None:
    """Schema version and the number of rows in every table."""
    import pandas as pd

    from mifund.contract import TABLES
    from mifund.views.output import render

    with _open(ctx, read_only=True) as wh:
        rows = [{"table": n, "rows": wh.count(n)} for n in (*TABLES, "audit_log", "import_batches")]
        console.print(f"{wh.path}: schema version {wh.schema_version()}")
    render(pd.DataFrame(rows), "table", console=console)


@db_app.command("audit")
def db_audit(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Most recent N entries")] = 20,
    fmt: FormatOpt = "table",
    output: OutputOpt = None,
) -> None:
    """The audit log: every import and every replaced record with old and new values, who and when."""
    from mifund.views.output import render

    _check_format(fmt, output)
    with _open(ctx, read_only=True) as wh:
        t = wh.table("audit_log")
        df = wh.to_pandas(t.order_by(t.audit_id.desc()).limit(limit))
    render(df, fmt, output=output, title="Audit log 审计日志", console=console, sheet_name="audit_log")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
