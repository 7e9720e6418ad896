"""XLSX output of the account commands: one sheet per table, native charts pointing at the cells."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

PERCENT_WORDS = ("share", "ratio")


def write_workbook(path: str | Path, tables: dict[str, pd.DataFrame], charts: dict[str, dict]) -> Path:
    """`charts[name]` = {category: column, values: [columns], split: column (opt), title}: a column chart
    beside the table; with `split`, one chart per value of that column (e.g. one per dimension)."""
    path = Path(path)
    with pd.ExcelWriter(path, engine="xlsxwriter") as xw:
        wb = xw.book
        money, pct = wb.add_format({"num_format": "#,##0.00"}), wb.add_format({"num_format": "0.00%"})
        for name, df in tables.items():
            sheet = name[:31]
            df.to_excel(xw, sheet_name=sheet, index=False)
            ws = xw.sheets[sheet]
            ws.freeze_panes(1, 0)
            for i, col in enumerate(df.columns):
                is_pct = any(w in str(col) for w in PERCENT_WORDS)
                fmt = pct if is_pct else money if pd.api.types.is_float_dtype(df[col]) else None
                ws.set_column(i, i, max(10, min(36, len(str(col)) + 3)), fmt)
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
