"""`mifund report`: the annual fund operation analysis report (基金运行分析报告) as Excel or HTML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mifund.cli_options import DbOpt, err, require_warehouse, warehouse_path

app = typer.Typer(
    help="The annual fund operation analysis report (基金运行分析报告): Excel (native charts) or one "
    "self-contained HTML file, in Chinese or English. Amounts in 万元.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
OUT_KINDS = {".xlsx": "xlsx", ".html": "html", ".htm": "html"}


@app.command("report")
def report_cmd(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the report here: FILE.xlsx or FILE.html "
                                             "(without it, the findings and key figures are printed)")] = None,
    region: Annotated[str | None, typer.Option("--region", "-r", help="Region code or name; its subtree is "
                                               "included (default: the top region)")] = None,
    year: Annotated[int | None, typer.Option("--year", "-y", help="Report year (default: the latest year "
                                             "with an annual ledger row)")] = None,
    lang: Annotated[str, typer.Option("--lang", "-l", help="zh | en")] = "zh",
    section: Annotated[list[str] | None, typer.Option("--section", help="Only these sections (repeatable): "
                                                      "summary, indicators, trend, warnings, disparity, projection, settlement, supervision")] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="Your warning-rule YAML (overrides the shipped "
                                               "defaults)")] = None,
    db: DbOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="What is printed: table (findings and key figures, "
                                     "for people) | csv | json (key figures, for machines) | xlsx (= --out "
                                     "FILE.xlsx)")] = "table",
) -> None:
    """Write the annual fund operation analysis of a region and its subtree for one year.

    Sections (each only where its data exists): overview with generated findings (safety line, deficits, idle balances, expenditure vs income growth, warnings, settlement), key indicators by region, income and expenditure over the years, risk warnings with their reasons, disparity across the regions below (Gini, Theil), projection (stored runs), settlement by region × scheme × visit type, and intelligent supervision results (stored screens and cases).

    Examples: [bold]mifund report --region 360100 --year 2024 --lang zh --out 南昌市2024.xlsx[/] ·
    [bold]mifund report -r Nanchang -y 2024 -l en -o nanchang-2024.html[/]
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from mifund.reports.build import build_report
    from mifund.reports.context import ReportError
    from mifund.reports.i18n import LANGS
    from mifund.storage import Warehouse
    from mifund.views.output import FORMATS

    if lang not in LANGS:
        raise typer.BadParameter(f"--lang must be one of {', '.join(LANGS)}")
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    kind = OUT_KINDS.get(out.suffix.lower()) if out else None
    if out is not None and kind is None:
        raise typer.BadParameter("--out must end in .xlsx or .html")
    if fmt == "xlsx" and kind != "xlsx":
        raise typer.BadParameter("--format xlsx needs --out FILE.xlsx")
    path = require_warehouse(warehouse_path(ctx, db))
    rule_set = None
    if rules is not None:
        from mifund.ledger.warnings import load_rules

        try:
            rule_set = load_rules(rules)
        except Exception as e:  # a bad rules file: say which key, don't dump a trace
            err.print(f"[red]Invalid warning rules:[/] {e}")
            raise typer.Exit(2) from None
    with Warehouse(path, read_only=True) as wh, Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("report")
        try:
            rep = build_report(wh, region, year, lang, rules=rule_set, sections=section,
                               progress=lambda name: bar.update(task, description=f"section: {name}"))
        except ReportError as e:
            err.print(f"[red]{e}[/]")
            raise typer.Exit(2) from None
        if out is not None:
            bar.update(task, description=f"write {out.name}")
            out.parent.mkdir(parents=True, exist_ok=True)
            if kind == "xlsx":
                from mifund.reports.xlsx import write_xlsx

                write_xlsx(rep, out)
            else:
                from mifund.reports.html import write_html

                write_html(rep, out)
    key = rep.table("key_figures")
    if fmt in ("csv", "json") and key is not None:
        df = key_figures_frame(rep)
        if fmt == "csv":
            typer.echo(df.to_csv(index=False), nl=False)
        else:
            summary = rep.section("summary")
            doc = {"title": rep.title, "region_code": rep.region_code, "year": rep.year, "lang": rep.lang,
                   "unit": "wan_yuan", "out": str(out) if out else None,
                   "sections": [s.id for s in rep.sections], "omitted": rep.omitted,
                   "findings": summary.paragraphs if summary else [],
                   "key_figures": json.loads(df.to_json(orient="records", force_ascii=False))}
            typer.echo(json.dumps(doc, ensure_ascii=False, indent=1))
    elif fmt in ("table", "xlsx"):
        _print(rep)
    if rep.omitted:  # on stderr, so that csv/json on stdout stay clean
        from mifund.reports.i18n import Catalog

        t = Catalog(rep.lang)  # in the report's language, as its header says it: no English prefix on zh reasons
        items = [t("omitted.item", section=t.get(f"section.{k}", k), reason=v) for k, v in rep.omitted.items()]
        err.print(t("report.omitted", items=t("meta.list_sep").join(items)), highlight=False)
    if out is not None:
        err.print(f"Wrote {out} ({', '.join(s.id for s in rep.sections)})")


# Key figures for machines: amounts in 万元 carry the unit in their name (income_total_wan), as
# `mifund indicators --unit wan` writes them; coverage says which regions below a total lacks.
MACHINE_COVERAGE = ("units_covered", "units_expected", "missing_regions")


def key_figures_frame(rep):
    """The key figures table for csv/json: region_code, year, scheme, fund, the figures (万元 columns
    named ``<name>_wan``; per-capita 元 columns ``<name>_yuan``) and the coverage columns."""
    key = rep.table("key_figures")
    cols = [c for c in key.columns if c.key not in ("pair", "coverage")]
    names = {c.key: f"{c.key}_{c.kind}" if c.kind in ("wan", "yuan") else c.key for c in cols}
    df = key.data[["scheme", "fund", *names]].rename(columns=names)
    df = df.assign(**{c: key.data[c] for c in MACHINE_COVERAGE if c in key.data})
    df.insert(0, "year", rep.year)
    df.insert(0, "region_code", rep.region_code)
    return df.reset_index(drop=True)


def _print(rep) -> None:
    import pandas as pd

    from mifund.reports.units import fmt_cell
    from mifund.views.output import render, table_console

    console = table_console()
    console.print(f"[bold]{rep.title}[/]")
    summary = rep.section("summary")
    for p in summary.paragraphs if summary else []:
        console.print(f"• {p}")
    key = rep.table("key_figures")
    if key is not None:
        # every figure as the report prints it (money to 0.01 万元, months to 0.1, rates in per cent), not
        # as a guess from the size of the number: 163.87, never 163.9 beside 1,026.75
        df = pd.DataFrame({c.label: [fmt_cell(v, c.kind) for v in key.data[c.key]] for c in key.columns})
        figures = {c.label for c in key.columns if c.kind != "text"}
        render(df, "table", title=key.title, console=console, right=figures)
        if key.note:
            console.print(key.note, highlight=False)


if __name__ == "__main__":  # pragma: no cover
    app()
