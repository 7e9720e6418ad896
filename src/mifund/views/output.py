"""Render a DataFrame as a Rich table for people, or csv / json / xlsx for machines."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "csv", "json", "xlsx")


def _cell(v, col: str, percent_cols: set[str]) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "—"
    if isinstance(v, float):
        if col in percent_cols:
            return f"{v * 100:.2f}%"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10000:
        return f"{v:,}"
    return str(v)


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
        console = console or Console()
        t = Table(title=title, show_lines=False)
        for c in df.columns:
            t.add_column(headers.get(c, c) if headers else c, justify="right" if pd.api.types.is_numeric_dtype(df[c]) else "left")
        for row in df.itertuples(index=False):
            t.add_row(*(_cell(v, c, percent_cols) for v, c in zip(row, df.columns, strict=True)))
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
