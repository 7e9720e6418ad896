"""Render a DataFrame as a Rich table for people, or csv / json / xlsx for machines; ``write_tables`` writes
several tables as one answer (one JSON object, one CSV, one workbook)."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "csv", "json", "xlsx")


# How a float column reads in a people's table, decided by what the column is (its kind), not by the size
# of the number: money to the fen; indices, rates, shares and months to 4 significant digits (a Gini of
# 0.00236 or a contribution rate of 0.075 must not read 0.00 / 0.07). A caller names kinds it knows
# (``kinds={"col": "money"}``); otherwise the column's name decides (tokens below); a column that says
# nothing falls back on the size of its values (< 1,000: 4 significant digits, else money style).
KINDS = ("money", "ratio", "percent", "count", "months")
_RATIO_TOKENS = {"rate", "ratio", "share", "gini", "theil", "cv", "index", "elasticity", "coef", "months",
                 "factor", "probability", "prob", "weight", "mape", "ape", "growth", "cagr", "removed"}
_MONEY_TOKENS = {"income", "expenditure", "balance", "deficit", "surplus", "covered", "topup", "topups",
                 "subsidy", "amount", "reserve", "money", "paid", "received", "contribution", "contributions",
                 "allocation", "allocated", "budget", "yuan", "treasury", "cost", "gain", "opening", "difference",
                 "need", "gap", "shortfall", "fund", "wan", "yi", "pot", "pool", "swing", "spending"}


def column_kind(col: str, kinds: dict[str, str] | None = None, percent_cols: set[str] | None = None) -> str | None:
    """'money' | 'ratio' | 'percent' | 'count' | 'months' | None (unknown: decided by the values)."""
    if kinds and col in kinds:
        return kinds[col]
    if percent_cols and col in percent_cols:
        return "percent"
    tokens = set(str(col).lower().split("_"))
    if str(col).startswith("p_") or tokens & _RATIO_TOKENS:
        return "ratio"
    if tokens & _MONEY_TOKENS:
        return "money"
    return None


def _sig4(v: float) -> str:
    """4 significant digits without an exponent for the figures people read (0.002361, 0.075, 11.44)."""
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) < 1e-4:
        return f"{v:.3e}"
    return f"{float(f'{v:.4g}'):g}"  # 0.07500 -> 0.075, 11.436 -> 11.44


def _cell(v, col: str, percent_cols: set[str], kinds: dict[str, str] | None = None) -> str:
    if v is None or v is pd.NA or (isinstance(v, float | np.floating) and math.isnan(v)):
        return "—"
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, float | np.floating):
        kind = column_kind(col, kinds, percent_cols)
        if kind == "percent":
            return f"{v * 100:.2f}%" if abs(v) >= 0.001 or v == 0 else f"{_sig4(v * 100)}%"
        if kind == "ratio" or (kind is None and abs(v) < 1000):
            return _sig4(float(v))
        if kind == "count":
            return f"{v:,.0f}"
        if kind == "months":  # beside a safety line: a fixed 2 decimals (5.99, 9.44, 10.00), never 6 for 5.9926
            return f"{v:,.2f}"
        return f"{v:,.2f}"
    if isinstance(v, int | np.integer) and not _is_calendar(col):
        return f"{int(v):,}"
    return str(v)


def _is_calendar(col) -> bool:
    """A year or month column (year, from_year, year_end, 年份 …): never a thousands separator (2,015)."""
    c = str(col).lower()
    return bool({"year", "month", "years"} & set(c.split("_"))) or "年" in c or "月" in c


def format_frame(df: pd.DataFrame, *, percent_cols: set[str] | None = None,
                 kinds: dict[str, str] | None = None) -> pd.DataFrame:
    """Every cell as the text a people's table shows (for tables that are transposed before showing)."""
    pc = percent_cols or set()
    return pd.DataFrame({c: [_cell(v, c, pc, kinds) for v in df[c]] for c in df.columns}, index=df.index)


def _short(header: str) -> str:
    """Drop a parenthesised alternative name ('累计结存（累计结余）' -> '累计结存'), keep a unit."""
    return re.sub(r"（[^）]*）", "", header)


def table_console() -> Console:
    """A console for tables: the terminal's width, or a wide page when writing to a pipe or file."""
    c = Console()
    return c if c.is_terminal else Console(width=240)


def render(
    df: pd.DataFrame,
    fmt: str = "table",
    *,
    output: Path | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    percent_cols: set[str] | None = None,
    console: Console | None = None,
    sheet_name: str = "data",
    kinds: dict[str, str] | None = None,
    right: set[str] | None = None,
) -> None:
    """Write `df` in `fmt` to `output` (or stdout; xlsx needs a file). `kinds` names the kind of columns
    (money, ratio, percent, count) where the name does not say it; `right` right-aligns text columns
    (figures already formatted, e.g. by ``format_frame``)."""
    percent_cols = percent_cols or set()
    if fmt == "table":
        console = console or table_console()
        t = Table(title=title, show_lines=False)
        cells = [[_cell(v, c, percent_cols, kinds) for v, c in zip(row, df.columns, strict=True)]
                 for row in df.itertuples(index=False)]
        leading = True  # the text columns before the first figure: what each row's figures belong to
        for i, c in enumerate(df.columns):
            numeric = pd.api.types.is_numeric_dtype(df[c]) or c in (right or ())
            leading = leading and not numeric
            widest = max((cell_len(r[i]) for r in cells), default=1)
            # figures are never cut: a number shown as "1,016,7…" is worse than a wide table; text columns
            # (region code, name, scheme, fund: what the figures belong to) are never squeezed to nothing
            # either; other text wraps
            t.add_column(_short(headers.get(c, c)) if headers else c, justify="right" if numeric else "left",
                         min_width=widest if numeric or leading else None, no_wrap=numeric or leading)
        for r in cells:
            t.add_row(*r)
        console.print(t)
        return
    if fmt == "csv":
        text = df.to_csv(index=False)
    elif fmt == "json":
        records = json.loads(df.to_json(orient="records", date_format="iso", force_ascii=False))
        text = json.dumps(records, ensure_ascii=False, indent=1) + "\n"
    elif fmt == "xlsx":
        if output is None:
            raise ValueError("--format xlsx needs --output FILE.xlsx")
        with pd.ExcelWriter(output, engine="xlsxwriter") as xw:
            df.to_excel(xw, sheet_name=sheet_name, index=False)
            ws = xw.sheets[sheet_name]
            ws.freeze_panes(1, 0)
            for i, c in enumerate(df.columns):
                ws.set_column(i, i, max(10, min(40, len(str(c)) + 2)))
        return
    else:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    write_text(text, output)


def write_text(text: str, output: Path | None) -> None:
    """`text` to the file `output` (UTF-8), or to stdout."""
    if output is None:
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")


def json_value(v):
    """A cell as JSON: missing and infinite values None (JSON has no NaN or Infinity), -0.0 as 0.0, dates
    and times ISO 8601, Decimal and numpy scalars as Python numbers."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float):
        return float(v) + 0.0 if math.isfinite(v) else None
    if isinstance(v, pd.Timestamp | dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if hasattr(v, "item"):  # numpy scalars
        return json_value(v.item())
    return v


def json_rows(df: pd.DataFrame) -> list[dict]:
    """The rows as JSON-ready dicts (``json_value`` of each cell)."""
    return [{k: json_value(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def write_tables(
    tables: dict[str, pd.DataFrame],
    fmt: str,
    output: Path | None = None,
    *,
    single: tuple[str, ...] = (),
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    csv_files: bool = False,
    charts: dict[str, dict] | None = None,
    number_formats: bool = False,
    titles: dict[str, str] | None = None,
    percent_cols: set[str] | None = None,
    console: Console | None = None,
) -> None:
    """Several tables as one answer, to `output` (or stdout; xlsx needs a file):

    - table: a Rich table each (``titles[name]``, default the name; `percent_cols` as in ``render``);
    - json: one object ``{name: [rows]}``; a name in `single` is one object, its first row;
    - csv: one table whose first column ``table`` names each row's table; with `csv_files` and an output
      file, one file per table instead (FILE for the first, FILE_<name>.csv for the others);
    - xlsx: a sheet per table (``write_workbook``: `charts`, `number_formats`).

    `prepare` is applied to every table for json, csv and xlsx (and to the long CSV table, whose columns
    the tables share only in part)."""
    if fmt == "table":
        titles = titles or {}
        for name, df in tables.items():
            render(df, "table", title=titles.get(name, name), percent_cols=percent_cols,
                   console=console or table_console())
        return
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    prepare = prepare or (lambda df: df)
    tables = {n: prepare(df) for n, df in tables.items()}
    if fmt == "json":
        doc = {n: (json_rows(df)[0] if n in single and len(df) else json_rows(df)) for n, df in tables.items()}
        write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", output)
    elif fmt == "csv" and csv_files and output is not None:
        output = Path(output)
        for i, (name, df) in enumerate(tables.items()):
            out = output if i == 0 else output.with_name(f"{output.stem}_{name}{output.suffix}")
            write_text(df.to_csv(index=False), out)
    elif fmt == "csv":
        parts = [df.assign(table=n) for n, df in tables.items()]
        long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["table"])
        long = prepare(long[["table", *[c for c in long.columns if c != "table"]]])
        write_text(long.to_csv(index=False), output)
    else:
        if output is None:
            raise ValueError("xlsx needs an output file")
        write_workbook(output, tables, charts, number_formats=number_formats)


PERCENT_WORDS = ("share", "ratio")  # columns that write_workbook's number formats show as percentages


def write_workbook(path: str | Path, tables: dict[str, pd.DataFrame], charts: dict[str, dict] | None = None,
                   *, number_formats: bool = False) -> Path:
    """A sheet per table (header row frozen, columns sized to their names; time zones dropped, which
    Excel cannot hold). `number_formats`: float columns as money (#,##0.00), columns whose name says
    share or ratio as percentages. `charts[name]` = {category: column, values: [columns], split: column
    (opt), title}: a column chart beside the table; with `split`, one chart per value of that column
    (e.g. one per dimension)."""
    path, charts = Path(path), charts or {}
    with pd.ExcelWriter(path, engine="xlsxwriter") as xw:
        wb = xw.book
        if number_formats:
            money, pct = wb.add_format({"num_format": "#,##0.00"}), wb.add_format({"num_format": "0.00%"})
        for name, df in tables.items():
            sheet = name[:31]
            tz = [c for c in df.columns if isinstance(df[c].dtype, pd.DatetimeTZDtype)]
            if tz:
                df = df.assign(**{c: df[c].dt.tz_localize(None) for c in tz})
            df.to_excel(xw, sheet_name=sheet, index=False)
            ws = xw.sheets[sheet]
            ws.freeze_panes(1, 0)
            for i, col in enumerate(df.columns):
                if number_formats:
                    is_pct = any(w in str(col) for w in PERCENT_WORDS)
                    fmt = pct if is_pct else money if pd.api.types.is_float_dtype(df[col]) else None
                    ws.set_column(i, i, max(10, min(36, len(str(col)) + 3)), fmt)
                else:
                    ws.set_column(i, i, max(10, min(40, len(str(col)) + 2)))
            spec = charts.get(name)
            if not spec or df.empty:
                continue
            cols = list(df.columns)
            cat = cols.index(spec["category"])
            parts = [(None, df.index)] if not spec.get("split") else list(df.groupby(spec["split"], sort=False).groups.items())
            anchor_col = len(cols) + 1
            for k, (label, idx) in enumerate(parts):
                rows = sorted(df.index.get_indexer(idx))
                first, last = rows[0] + 1, rows[-1] + 1  # +1: the header row
                chart = wb.add_chart({"type": "column"})
                for v in spec["values"]:
                    vc = cols.index(v)
                    chart.add_series({"name": [sheet, 0, vc], "categories": [sheet, first, cat, last, cat],
                                      "values": [sheet, first, vc, last, vc]})
                title = spec.get("title", name) + (f" — {label}" if label is not None else "")
                chart.set_title({"name": title})
                chart.set_legend({"position": "bottom"})
                ws.insert_chart(1 + 18 * k, anchor_col, chart, {"x_scale": 1.3, "y_scale": 1.1})
    return path
