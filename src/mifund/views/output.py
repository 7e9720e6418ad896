"""Render a DataFrame as a Rich table for people, or csv / json / xlsx for machines."""

from __future__ import annotations

import json
import math
import re
import sys
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
KINDS = ("money", "ratio", "percent", "count")
_RATIO_TOKENS = {"rate", "ratio", "share", "gini", "theil", "cv", "index", "elasticity", "coef", "months",
                 "factor", "probability", "prob", "weight", "mape", "ape", "growth", "cagr", "removed"}
_MONEY_TOKENS = {"income", "expenditure", "balance", "deficit", "surplus", "covered", "topup", "topups",
                 "subsidy", "amount", "reserve", "money", "paid", "received", "contribution", "contributions",
                 "allocation", "allocated", "budget", "yuan", "treasury", "cost", "gain", "opening", "difference",
                 "need", "gap", "shortfall", "fund", "wan", "yi", "pot", "pool", "swing", "spending"}


def column_kind(col: str, kinds: dict[str, str] | None = None, percent_cols: set[str] | None = None) -> str | None:
    """'money' | 'ratio' | 'percent' | 'count' | None (unknown: decided by the values)."""
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
    if output is None:
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")
