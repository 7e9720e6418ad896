"""Reports for people.

- ``workbook.write_fund_workbook``: the working workbook of ``mifund demo run`` (all indicators, warnings
  and settlement rows, with native charts).
- the annual fund operation analysis report (基金运行分析报告, ``mifund report``): ``build.build_report``
  runs the section builders of ``sections.SECTIONS`` over a region's subtree and a year and returns a
  translated :class:`model.Report` (labels from ``messages/zh.yaml`` / ``messages/en.yaml``, amounts in
  万元); ``xlsx.write_xlsx`` writes it as Excel with native charts, ``html.write_html`` as one
  self-contained HTML file with the vendored ECharts inlined.
"""

__all__ = ["build_report", "write_html", "write_xlsx"]
_WHERE = {"build_report": "build", "write_html": "html", "write_xlsx": "xlsx"}


def __getattr__(name: str):
    """Imported on first use, so that `mifund --help` (which imports reports.cli) stays instant."""
    if name in _WHERE:
        from importlib import import_module

        return getattr(import_module(f"mifund.reports.{_WHERE[name]}"), name)
    raise AttributeError(name)
