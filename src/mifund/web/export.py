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


def tabular(df: pd.DataFrame, fmt: str, name: str, *, meta: dict | None = None) -> Response:
    if fmt == "json":
        head = json.dumps({**(meta or {}), "count": len(df)}, ensure_ascii=False)[:-1]
        return Response(f'{head}, "rows": {records_json(df)}}}'.encode(), media_type="application/json")
    if fmt == "csv":
        flat = _flat(df)
        return Response(flat.to_csv(index=False).encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "xlsx":
        from mifund.views.output import render

        flat = _flat(df)
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / f"{name}.xlsx"
            render(flat, "xlsx", output=p, sheet_name=name[:31])
            data = p.read_bytes()
        return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    raise WebError(f"format must be one of {', '.join(FORMATS)}", code="validation_error", status=422)


TABULAR_RESPONSES = {
    200: {
        "description": "Rows as JSON (`format=json`, the default), or a CSV / XLSX download",
        "content": {
            "application/json": {"schema": {"type": "object", "required": ["count", "rows"], "properties": {
                "count": {"type": "integer"}, "rows": {"type": "array", "items": {"type": "object"}}}}},
            "text/csv": {"schema": {"type": "string"}},
            XLSX: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
