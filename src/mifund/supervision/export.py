"""Machine output of supervision results: JSON with real types (a line number is 1, not 1.0; a date is
"2024-09-17", not a midnight timestamp).

``views.output.render`` writes one table and ``views.output.write_tables`` several as one answer (a case:
its row, its hits and its history); ``tidy`` is what both get to read supervision tables right.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mifund.views.output import json_rows, write_text

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


def records(df: pd.DataFrame) -> list[dict]:
    """The rows as JSON-ready dicts (missing values null, dates ISO, integers integers)."""
    return json_rows(tidy(df))


def write_json(df: pd.DataFrame, output: Path | None) -> None:
    write_text(json.dumps(records(df), ensure_ascii=False, indent=1) + "\n", output)
