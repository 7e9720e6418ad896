"""The report as one self-contained HTML file: inline CSS, Apache ECharts inlined from the vendored,
pinned file (no URL is fetched, the file opens offline and prints), charts drawn as SVG."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup

from mifund.reports.model import Chart, Report
from mifund.reports.units import fmt_cell

ECHARTS = ("web", "static", "vendor", "echarts-5.6.0.min.js")
PALETTE = ["#2f5597", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#a5a5a5", "#c00000"]
LONG_TEXT = {"message", "source", "pair"}  # text columns allowed to wrap
LEVEL_COLOURS = {"red": "#c00000", "orange": "#ed7d31", "yellow": "#ffc000", "blue": "#4472c4"}


@cache
def echarts_source() -> str:
    js = resources.files("mifund").joinpath(*ECHARTS).read_text(encoding="utf-8")
    if "</script" in js.lower():  # would end the inline <script> early
        raise ValueError("the vendored ECharts file contains '</script'; it cannot be inlined")
    return js


def _env() -> jinja2.Environment:
    loader = jinja2.PackageLoader("mifund.reports", "templates")
    return jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(["html"]),
                              undefined=jinja2.StrictUndefined, trim_blocks=False)


def chart_option(ch: Chart) -> dict:
    """The ECharts option of a chart (values in the chart's unit; ratios as per cent)."""
    scale = 100.0 if ch.unit == "pct" else 1.0
    series = []
    for s in ch.series:
        item = {"name": s.name, "type": "bar" if ch.kind == "column" else "line",
                "data": [None if v is None else round(float(v) * scale, 4) for v in s.values]}
        if s.stack:
            item["stack"] = s.stack
        if ch.kind == "line":
            item.update(symbol="circle", symbolSize=5, connectNulls=False)
        if s.key in LEVEL_COLOURS:
            item["itemStyle"] = {"color": LEVEL_COLOURS[s.key]}
        series.append(item)
    rotate = 30 if len(ch.categories) > 6 and max((len(c) for c in ch.categories), default=0) > 4 else 0
    return {
        "animation": False,
        "color": PALETTE,
        "title": {"text": ch.title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0, "type": "scroll"},
        "grid": {"left": 70, "right": 30, "top": 50, "bottom": 80 if rotate else 60},
        "xAxis": {"type": "category", "data": ch.categories, "axisLabel": {"rotate": rotate, "interval": 0}},
        "yAxis": {"type": "value", "name": ch.y_label,
                  "axisLabel": {"formatter": "{value}%" if ch.unit == "pct" else "{value}"}},
        "series": series,
    }


def render_html(report: Report) -> str:
    tables = {}
    for s in report.sections:
        out = []
        for tab in s.tables:
            emph = tab.data[tab.emphasis].to_numpy(dtype=bool) if tab.emphasis else None
            levels = tab.data["level"].tolist() if "level" in tab.data and "level_label" in tab.data else None
            rows = []
            for i, rec in enumerate(tab.data[[c.key for c in tab.columns]].itertuples(index=False)):
                cells = []
                for c, v in zip(tab.columns, rec, strict=True):
                    cls = "num" if c.kind != "text" else ("long" if c.key in LONG_TEXT else None)
                    if levels is not None and c.key == "level_label":
                        cls = f"level-{levels[i]}"
                    cells.append({"text": fmt_cell(v, c.kind), "cls": cls})
                rows.append({"em": bool(emph[i]) if emph is not None else False, "cells": cells})
            out.append({"id": tab.id, "title": tab.title, "columns": tab.columns, "rows": rows, "note": tab.note})
        tables[s.id] = out
    specs = [{"id": ch.id, "unit": ch.unit, "option": chart_option(ch)}
             for s in report.sections for ch in s.charts]
    charts_json = json.dumps(specs, ensure_ascii=False, allow_nan=False).replace("</", "<\\/")
    return _env().get_template("report.html").render(
        report=report, tables=tables, html_lang="zh-CN" if report.lang == "zh" else "en",
        echarts_js=Markup(echarts_source()), charts_json=Markup(charts_json),
    )


def write_html(report: Report, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(render_html(report), encoding="utf-8")
    return path
