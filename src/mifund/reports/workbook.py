"""The fund operation workbook (基金运行分析): indicators, warnings and settlement, with native charts.

Why XlsxWriter charts and not pictures: analysts re-style and re-use them in their own reports, and a
native chart keeps pointing at the cells, so every plotted figure stays traceable to a number.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mifund.ledger.catalog import INDICATORS

PERCENT = {i.name for i in INDICATORS if i.unit == "percent-as-ratio"}


def _sheet(xw: pd.ExcelWriter, name: str, df: pd.DataFrame, headers: dict[str, str] | None = None) -> None:
    out = df.rename(columns=headers or {})
    out.to_excel(xw, sheet_name=name, index=False)
    ws, wb = xw.sheets[name], xw.book
    money, pct = wb.add_format({"num_format": "#,##0.00"}), wb.add_format({"num_format": "0.00%"})
    ws.freeze_panes(1, 0)
    for i, col in enumerate(df.columns):
        fmt = pct if col in PERCENT else money if pd.api.types.is_float_dtype(df[col]) else None
        ws.set_column(i, i, max(10, min(36, len(str(out.columns[i])) + 4)), fmt)


def write_fund_workbook(path: str | Path, indicators: pd.DataFrame, warnings: pd.DataFrame,
                        settlement: pd.DataFrame | None = None, *, title: str = "基金运行分析 Fund operation") -> Path:
    """Write the workbook: a summary sheet with charts, then indicators, warnings and settlement."""
    path = Path(path)
    zh = {i.name: f"{i.zh} {i.name}" for i in INDICATORS}
    annual = indicators[indicators["month"].isna()] if "month" in indicators else indicators
    latest = int(annual["year"].max()) if len(annual) else None
    with pd.ExcelWriter(path, engine="xlsxwriter") as xw:
        wb = xw.book
        summary = wb.add_worksheet("summary 概览")
        bold = wb.add_format({"bold": True, "font_size": 14})
        summary.write(0, 0, title, bold)
        summary.write(1, 0, f"Latest year 最新年度: {latest}; warnings 预警: {len(warnings)}")
        _sheet(xw, "indicators 指标", annual, zh)
        _sheet(xw, "warnings 预警", warnings.drop(columns=["figures"], errors="ignore"))
        if settlement is not None:
            _sheet(xw, "settlement 结算", settlement)
        # chart data: the latest year's pooled funds by region (leaf regions and the city)
        if latest is not None:
            d = annual[(annual.year == latest) & (annual.fund == "pooled")]
            d = d.pivot_table(index=["region_code", "region_name"], columns="scheme", values="payable_months").reset_index()
            d.to_excel(xw, sheet_name="chart_data", index=False)
            n = len(d)
            chart = wb.add_chart({"type": "column"})
            for scheme in (c for c in d.columns if c in ("employee", "resident")):
                col = list(d.columns).index(scheme)
                chart.add_series({"name": f"{scheme} 可支付月数", "categories": ["chart_data", 1, 1, n, 1],
                                  "values": ["chart_data", 1, col, n, col]})
            chart.set_title({"name": f"Months of payment capacity 可支付月数, {latest}"})
            chart.set_y_axis({"name": "months 月"})
            summary.insert_chart(3, 0, chart, {"x_scale": 1.6, "y_scale": 1.3})
            # balance over the years for the whole area: the top region of the tree only (never a
            # sum over levels, which would count each county twice)
            rank = {"country": 0, "province": 1, "city": 2, "county": 3}
            top_code = annual.assign(_r=annual.region_level.map(rank)).sort_values("_r").region_code.iloc[0]
            top = annual[(annual.region_code == top_code) & (annual.fund == "pooled")]
            series = top.pivot_table(index="year", columns="scheme", values="balance_end")
            series.reset_index().to_excel(xw, sheet_name="chart_data", index=False, startcol=len(d.columns) + 1)
            c0 = len(d.columns) + 1
            line = wb.add_chart({"type": "line"})
            for k, scheme in enumerate(series.columns):
                line.add_series({"name": f"{scheme} 累计结存", "categories": ["chart_data", 1, c0, len(series), c0],
                                 "values": ["chart_data", 1, c0 + 1 + k, len(series), c0 + 1 + k]})
            line.set_title({"name": f"Accumulated balance of pooled funds 统筹基金累计结存, {top_code} (yuan)"})
            summary.insert_chart(24, 0, line, {"x_scale": 1.6, "y_scale": 1.3})
    return path
