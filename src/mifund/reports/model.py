"""The report as data: sections of paragraphs, key figures, tables and charts, already translated.

Section builders (``sections.py``) produce these objects; the renderers (``xlsx.py``, ``html.py``) only
lay them out. Table values are final: amounts already in 万元 rounded to 0.01, ratios as fractions
(0.0899), so the Excel cell, the HTML cell and the chart all show the same number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from mifund.reports.units import KINDS


@dataclass
class Column:
    key: str  # the column of Table.data
    label: str  # translated header
    kind: str = "text"  # one of units.KINDS

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.key}: kind {self.kind!r} is not one of {KINDS}")


@dataclass
class Table:
    id: str  # stable identifier (tests and anchors): 'key_figures', 'indicators', ...
    title: str
    columns: list[Column]
    data: pd.DataFrame
    note: str | None = None
    emphasis: str | None = None  # a boolean column of data: rows shown in bold (totals, the region itself)

    def __post_init__(self) -> None:
        missing = [c.key for c in self.columns if c.key not in self.data.columns]
        if missing:
            raise ValueError(f"table {self.id}: no data column(s) {missing}")


@dataclass
class Series:
    name: str
    values: list[float | None]
    stack: str | None = None  # series with the same stack id are stacked
    key: str | None = None  # the code behind the name (a warning level: the renderers colour it)


@dataclass
class Chart:
    id: str
    title: str
    kind: str  # 'column' | 'line'
    categories: list[str]
    series: list[Series]
    unit: str  # 'wan' | 'months' | 'pct' | 'int' (how the values are formatted)
    y_label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("column", "line"):
            raise ValueError(f"chart {self.id}: kind {self.kind!r}")
        for s in self.series:
            if len(s.values) != len(self.categories):
                raise ValueError(f"chart {self.id}: series {s.name!r} has {len(s.values)} values for "
                                 f"{len(self.categories)} categories")


@dataclass
class Section:
    id: str  # 'summary', 'indicators', ... (also the key of its title and sheet name in the catalogue)
    title: str
    sheet: str  # Excel sheet name (at most 31 characters)
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    note: str | None = None


@dataclass
class Report:
    lang: str
    title: str
    region_code: str
    region_name: str
    year: int
    meta_lines: list[str]  # scope, generated, units, sources
    sections: list[Section]
    labels: dict[str, str] = field(default_factory=dict)  # a few renderer labels (contents, chart data)
    omitted: dict[str, str] = field(default_factory=dict)  # section id -> why it is not in the report

    def section(self, id: str) -> Section | None:
        return next((s for s in self.sections if s.id == id), None)

    def table(self, id: str) -> Table | None:
        return next((t for s in self.sections for t in s.tables if t.id == id), None)
