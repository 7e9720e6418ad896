"""Machine output of supervision results: JSON with real types (a line number is 1, not 1.0; a date is
"2024-09-17", not a midnight timestamp) and several tables in one answer (a case: its row, its hits and
its history) — one JSON object keyed by table name, one CSV with a leading ``table`` column, or one
workbook with a sheet per table.

``views.output.render`` writes one table; this module is for what must stay together.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd

DATE_COLUMNS = ("service_date",)  # DATE in the warehouse, read back as midnight timestamps
INT_COLUMNS = ("line_no", "hits", "claims", "event_id", "rank")


def tidy(df: pd.DataFrame) -> pd.DataFrame:
    """Whole-number columns as integers (nullable) and date columns as dates."""
    df = df.copy()
    for c in INT_COLUMNS:
        if c in df.columns and pd.api.types.is_float_dtype(df[c]):
            df[c] = df[c].astype("Int64")
    for c in DATE_COLUMNS:
        if c in df.columns and pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].dt.date
    return df


def _value(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp | dt.datetime):
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if hasattr(v, "item"):  # numpy scalars
        return _value(v.item())
    return v


def records(df: pd.DataFrame) -> list[dict]:
    """The rows as JSON-ready dicts (missing values null, dates ISO, integers integers)."""
    df = tidy(df)
    return [{k: _value(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")


def write_json(df: pd.DataFrame, output: Path | None) -> None:
    _write(json.dumps(records(df), ensure_ascii=False, indent=1) + "\n", output)


def write_tables(tables: dict[str, pd.DataFrame], fmt: str, output: Path | None, *, single: tuple[str, ...] = ()) -> None:
    """Several tables as one answer: json = {name: [rows]} (a name in `single` is one object, its first
    row); csv = one table, the first column `table` naming each row's table; xlsx = a sheet per table."""
    if fmt == "json":
        doc = {n: (records(df)[0] if n in single and len(df) else records(df)) for n, df in tables.items()}
        _write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", output)
    elif fmt == "csv":
        parts = [tidy(df).assign(table=n) for n, df in tables.items()]
        long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["table"])
        long = tidy(long[["table", *[c for c in long.columns if c != "table"]]])
        _write(long.to_csv(index=False), output)
    elif fmt == "xlsx":
        if output is None:
            raise ValueError("xlsx needs an output file")
        with pd.ExcelWriter(output, engine="xlsxwriter") as xw:
            for n, df in tables.items():
                df = tidy(df)
                for c in df.columns:
                    if isinstance(df[c].dtype, pd.DatetimeTZDtype):
                        df[c] = df[c].dt.tz_localize(None)
                df.to_excel(xw, sheet_name=n[:31], index=False)
                ws = xw.sheets[n[:31]]
                ws.freeze_panes(1, 0)
                for i, c in enumerate(df.columns):
                    ws.set_column(i, i, max(10, min(40, len(str(c)) + 2)))
    else:
        raise ValueError(f"unknown format {fmt!r}")
