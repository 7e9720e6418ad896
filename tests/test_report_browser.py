"""The HTML report in a real browser (Debian's Chromium, headless, driven by Playwright): it opens
offline, the inlined ECharts draws every chart as SVG, and no script error or network request happens.
A screenshot of each language is kept under $MIFUND_TEST_ARTIFACTS when that is set."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mifund.reports.build import build_report
from mifund.reports.html import write_html
from mifund.storage import Warehouse

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian Chromium not installed (make test installs it)"),
]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_report_draws_its_charts_offline(lang, demo_small, tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with Warehouse(demo_small.db, read_only=True) as wh:
        rep = build_report(wh, "360100", 2024, lang)
    path = write_html(rep, tmp_path / f"report_{lang}.html")
    n_charts = sum(len(s.charts) for s in rep.sections)
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type == "error" else None)
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri(), wait_until="load")
            assert page.evaluate("typeof echarts") == "object"
            assert page.evaluate("window.mifundCharts.length") == n_charts
            # every chart container holds a drawn SVG: axes, bars or lines, legend (dozens of shapes)
            shapes = page.evaluate(
                "Array.from(document.querySelectorAll('.chart')).map("
                "e => e.querySelectorAll('svg path, svg rect, svg polyline').length)")
            assert len(shapes) == n_charts and min(shapes) > 20, shapes
            title = page.evaluate("document.querySelector('h1').textContent")
            assert title == rep.title
            shot = tmp_path / f"report_{lang}.png"
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert not errors, errors
    assert [u for u in requests if not u.startswith("file:")] == []
    assert shot.stat().st_size > 20_000
    keep = os.environ.get("MIFUND_TEST_ARTIFACTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)
