"""Render a DataFrame as a Rich table for people, or csv / json / xlsx for machines."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "csv", "json", "xlsx")


def _cell(v, col: str, percent_cols: set[str]) -> str:
    if v is None or v is pd.NA or (isinstance(v, float | np.floating) and math.isnan(v)):
        return "—"
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, float | np.floating):
        return f"{v * 100:.2f}%" if col in percent_cols else f"{v:,.2f}"
    if isinstance(v, int | np.integer) and col not in ("year", "month"):
        return f"{int(v):,}"
    return str(v)


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
) -> None:
    """Write `df` in `fmt` to `output` (or stdout; xlsx needs a file)."""
    percent_cols = percent_cols or set()
    if fmt == "table":
        console = console or table_console()
        t = Table(title=title, show_lines=False)
        cells = [[_cell(v, c, percent_cols) for v, c in zip(row, df.columns, strict=True)] for row in df.itertuples(index=False)]
        for i, c in enumerate(df.columns):
            numeric = pd.api.types.is_numeric_dtype(df[c])
            widest = max((len(r[i]) for r in cells), default=1)
            # figures are never cut: a number shown as "1,016,7…" is worse than a wide table
            t.add_column(_short(headers.get(c, c)) if headers else c, justify="right" if numeric else "left",
                         min_width=widest if numeric else None, no_wrap=numeric)
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
