"""The report as an Excel workbook: one sheet per section, native charts (XlsxWriter) that point at the
cells of a chart-data sheet, so every plotted figure stays traceable and re-stylable."""

from __future__ import annotations

import math
import re
from pathlib import Path

import xlsxwriter

from mifund.reports.html import LEVEL_COLOURS
from mifund.reports.model import Chart, Report, Section, Table

NUM_FORMATS = {"int": "#,##0", "wan": "#,##0.00", "yuan": "#,##0.00", "pct": "0.00%", "months": "0.0",
               "ratio": "0.00", "ratio4": "0.0000"}  # fmt: skip
AXIS_FORMATS = {"int": "0", "wan": "#,##0", "yuan": "#,##0", "pct": "0%", "months": "0"}
WIDTH = 12  # merged columns a paragraph spans


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "sheet"
    out, k = base, 2
    while out.lower() in used:
        out = f"{base[: 31 - len(str(k)) - 1]}_{k}"
        k += 1
    used.add(out.lower())
    return out


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or str(v) in ("<NA>", "nan", "NaT")


class _Writer:
    def __init__(self, path: Path, report: Report):
        self.report = report
        self.wb = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": True})
        self.wb.set_properties({"title": report.title, "subject": report.labels.get("title_short", ""),
                                "author": "mifund", "comments": "; ".join(report.meta_lines)})
        f = self.wb.add_format
        self.f_title = f({"bold": True, "font_size": 16})
        self.f_h1 = f({"bold": True, "font_size": 13, "font_color": "#1F3864"})
        self.f_caption = f({"bold": True})
        self.f_text = f({"text_wrap": True, "valign": "top"})
        self.f_note = f({"italic": True, "font_color": "#595959", "text_wrap": True, "valign": "top"})
        self.f_link = f({"font_color": "blue", "underline": 1})
        self.f_head = f({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"})
        self.cell = {}
        for bold in (False, True):
            self.cell[("text", bold)] = f({"border": 1, "bold": bold})
            for kind, nf in NUM_FORMATS.items():
                self.cell[(kind, bold)] = f({"border": 1, "bold": bold, "num_format": nf})
        self.used: set[str] = set()
        self.data_ws = None
        self.data_row = 0

    # -- pieces --------------------------------------------------------------------------------------
    def paragraph(self, ws, row: int, text: str, fmt=None) -> int:
        lines = max(1, math.ceil(len(text) / (WIDTH * 9 if self.report.lang == "en" else WIDTH * 5)))
        ws.merge_range(row, 0, row, WIDTH - 1, text, fmt or self.f_text)
        ws.set_row(row, 15 * lines + 2)
        return row + 1

    def table(self, ws, row: int, tab: Table) -> int:
        ws.write(row, 0, tab.title, self.f_caption)
        row += 1
        for j, c in enumerate(tab.columns):
            ws.write(row, j, c.label, self.f_head)
        ws.set_row(row, 32)
        row += 1
        emph = tab.data[tab.emphasis].to_numpy(dtype=bool) if tab.emphasis else None
        for i, rec in enumerate(tab.data[[c.key for c in tab.columns]].itertuples(index=False)):
            bold = bool(emph[i]) if emph is not None else False
            for j, (c, v) in enumerate(zip(tab.columns, rec, strict=True)):
                fmt = self.cell[(c.kind, bold)]
                if _missing(v):
                    ws.write_blank(row, j, None, fmt)
                elif c.kind == "text":
                    ws.write_string(row, j, str(v), fmt)
                else:
                    ws.write_number(row, j, float(v), fmt)
            row += 1
        if tab.note:
            row = self.paragraph(ws, row, tab.note, self.f_note)
        return row + 1

    def chart_data(self, ch: Chart) -> tuple[str, int, int]:
        """Write a chart's figures to the chart-data sheet; (sheet, first data row, last data row)."""
        if self.data_ws is None:
            name = _sheet_name(self.report.labels.get("chart_data", "chart data"), self.used)
            self.data_ws = self.wb.add_worksheet(name)
            self.data_ws.write(0, 0, self.report.labels.get("chart_data_note", ""), self.f_note)
            self.data_ws.set_column(0, 0, 22)
            self.data_ws.set_column(1, 12, 16)
            self.data_row = 2
        ws, r = self.data_ws, self.data_row
        ws.write(r, 0, ch.title, self.f_caption)
        ws.write(r + 1, 0, "", self.f_head)
        for k, s in enumerate(ch.series):
            ws.write(r + 1, k + 1, s.name, self.f_head)
        fmt = self.cell[(ch.unit if ch.unit in NUM_FORMATS else "ratio", False)]
        for i, cat in enumerate(ch.categories):
            ws.write_string(r + 2 + i, 0, cat, self.cell[("text", False)])
            for k, s in enumerate(ch.series):
                v = s.values[i]
                if _missing(v):
                    ws.write_blank(r + 2 + i, k + 1, None, fmt)
                else:
                    ws.write_number(r + 2 + i, k + 1, float(v), fmt)
        self.data_row = r + 2 + len(ch.categories) + 1
        return ws.name, r + 2, r + 1 + len(ch.categories)

    def chart(self, ws, row: int, col: int, ch: Chart) -> None:
        sheet, first, last = self.chart_data(ch)
        stacked = any(s.stack for s in ch.series)
        opts = {"type": ch.kind}
        if stacked and ch.kind == "column":
            opts["subtype"] = "stacked"
        c = self.wb.add_chart(opts)
        for k, s in enumerate(ch.series):
            spec = {"name": [sheet, first - 1, k + 1], "categories": [sheet, first, 0, last, 0],
                    "values": [sheet, first, k + 1, last, k + 1]}
            if ch.kind == "line":
                spec["marker"] = {"type": "circle", "size": 4}
            if s.key in LEVEL_COLOURS:
                spec["fill"] = {"color": LEVEL_COLOURS[s.key]}
            c.add_series(spec)
        c.set_title({"name": ch.title, "name_font": {"size": 11}})
        c.set_y_axis({"name": ch.y_label, "num_format": AXIS_FORMATS.get(ch.unit, "General"),
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
        c.set_legend({"position": "bottom"})
        c.set_size({"width": 760, "height": 360})
        ws.insert_chart(row, col, c)

    # -- sheets --------------------------------------------------------------------------------------
    def section(self, sec: Section, ws, row: int = 0) -> None:
        ws.write(row, 0, sec.title, self.f_h1)
        row += 2
        for p in sec.paragraphs:
            row = self.paragraph(ws, row, "• " + p)
        if sec.paragraphs:
            row += 1
        widths: dict[int, int] = {}
        for tab in sec.tables:
            row = self.table(ws, row, tab)
            for j, c in enumerate(tab.columns):
                n = max([len(c.label) // 2 + 2, 10] + [len(str(v)) + 2 for v in tab.data[c.key].head(200)])
                widths[j] = max(widths.get(j, 0), min(n if c.kind == "text" else max(n, 12), 60))
        for j, w in widths.items():
            ws.set_column(j, j, w)
        if not widths:
            ws.set_column(0, WIDTH - 1, 12)
        if sec.note:
            row = self.paragraph(ws, row, sec.note, self.f_note) + 1
        for ch in sec.charts:
            self.chart(ws, row, 0, ch)
            row += 19

    def write(self) -> None:
        # every section's sheet first, so that the chart-data sheet comes last
        sheets = [self.wb.add_worksheet(_sheet_name(s.sheet, self.used)) for s in self.report.sections]
        ws, first = sheets[0], self.report.sections[0]
        ws.write(0, 0, self.report.title, self.f_title)
        row = 1
        for line in self.report.meta_lines:
            row = self.paragraph(ws, row, line, self.f_note)
        # contents (links to each section's sheet), filled in once the sheets exist
        contents_row = row + 1
        row = contents_row + len(self.report.sections) + 2
        self.section(first, ws, row)
        for sec, sheet in zip(self.report.sections[1:], sheets[1:], strict=True):
            self.section(sec, sheet)
        ws.write(contents_row, 0, self.report.labels.get("contents", ""), self.f_caption)
        for i, (sec, sheet) in enumerate(zip(self.report.sections, sheets, strict=True)):
            ws.write_url(contents_row + 1 + i, 0, f"internal:'{sheet.name}'!A1", self.f_link, string=sec.title)
        ws.activate()
        self.wb.close()


def write_xlsx(report: Report, path: str | Path) -> Path:
    path = Path(path)
    _Writer(path, report).write()
    return path
