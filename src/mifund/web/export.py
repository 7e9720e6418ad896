"""Tables as JSON, CSV (UTF-8 with BOM, so Excel reads Chinese) or XLSX downloads."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd
from fastapi.responses import Response

from mifund.web.errors import WebError
from mifund.web.services.fund import records_json

FORMATS = ("json", "csv", "xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """Nested values (a warning's `figures` dict) as JSON text, for CSV and Excel cells."""
    flat = df.copy()
    for c in flat.columns:
        if flat[c].dtype == object and any(isinstance(v, dict | list) for v in flat[c]):
            flat[c] = [json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, dict | list) else v
                       for v in flat[c]]
    return flat


def xlsx_bytes(df: pd.DataFrame, name: str) -> bytes:
    """A workbook for people: the rows under bilingual headers with units ('基金收入（元） / Fund income
    (yuan)', web/columns.py), money to the fen, counts as whole numbers, text as text (no unit, whatever its
    name), and a second sheet naming each column's code, Chinese and English name and unit (the codes are
    the API's and the CSV's headers)."""
    from mifund.web import columns

    numeric = {str(c): pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
               for c in df.columns}
    money = {c: n and columns.is_money(c) for c, n in numeric.items()}  # a text column is never money
    count = {c: n and not money[c] and columns.is_count(c) for c, n in numeric.items()}
    heads = [columns.header(str(c), numeric[str(c)]) for c in df.columns]
    if len(set(heads)) < len(heads):  # two columns with one name: keep them apart by their codes
        heads = [f"{h} [{c}]" for h, c in zip(heads, df.columns, strict=True)]
    out = df.copy()
    for c in out.columns:
        if money[str(c)]:
            out[c] = out[c].round(2)
    out.columns = heads

    def unit(c: str) -> str:
        u = columns.unit_of(c) if numeric[c] and not columns.is_text(c) else None
        return " / ".join(columns.UNIT_WORDS[u]) if u else ""

    legend = pd.DataFrame([{"字段 column": h, "代码 code": str(c), "中文": columns.names(str(c))[0],
                            "English": columns.names(str(c))[1], "单位 unit": unit(str(c))}
                           for h, c in zip(heads, df.columns, strict=True)])
    sheet = name[:31]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"{name}.xlsx"
        with pd.ExcelWriter(p, engine="xlsxwriter") as xw:
            out.to_excel(xw, sheet_name=sheet, index=False)
            ws = xw.sheets[sheet]
            ws.freeze_panes(1, 0)
            money_fmt = xw.book.add_format({"num_format": "#,##0.00"})
            count_fmt = xw.book.add_format({"num_format": "#,##0"})
            for i, (h, c) in enumerate(zip(heads, df.columns, strict=True)):
                fmt = money_fmt if money[str(c)] else count_fmt if count[str(c)] else None
                ws.set_column(i, i, max(10, min(40, len(h) + 2)), fmt)
            legend.to_excel(xw, sheet_name="字段 columns", index=False)
            xw.sheets["字段 columns"].set_column(0, 4, 28)
        return p.read_bytes()


def tabular(df: pd.DataFrame, fmt: str, name: str, *, meta: dict | None = None) -> Response:
    if fmt == "json":
        head = json.dumps({**(meta or {}), "count": len(df)}, ensure_ascii=False)[:-1]
        return Response(f'{head}, "rows": {records_json(df)}}}'.encode(), media_type="application/json")
    if fmt == "csv":
        flat = _flat(df)
        return Response(flat.to_csv(index=False).encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "xlsx":
        data = xlsx_bytes(_flat(df), name)
        return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    raise WebError(f"format must be one of {', '.join(FORMATS)}", code="validation_error", status=422)

