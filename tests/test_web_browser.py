"""Browser tests: Playwright drives Debian's Chromium against uvicorn on a free loopback port, on a copy
of the demo warehouse. Log in, see a county's page (charts drawn), switch language, export to Excel,
be refused another county; screenshots of the main pages are kept in tests/artifacts/ and the
README's screenshot is written to docs/img/dashboard.png (when missing, or with MIFUND_UPDATE_SCREENSHOT=1)."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from pathlib import Path

import openpyxl
import pytest

from web_helpers import PASSWORD, ensure_cases, ensure_projection, fast_hashing, web_warehouse

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
README_SHOT = ROOT / "docs" / "img" / "dashboard.png"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian Chromium not installed (make test installs it)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_small, tmp_path_factory):
    import uvicorn

    from mifund.web.app import create_app
    from mifund.web.services import Services
    from mifund.web.settings import WebSettings

    with pytest.MonkeyPatch.context() as mp:
        fast_hashing(mp)
        db = web_warehouse(demo_small.db, tmp_path_factory.mktemp("browser"))
        assert ensure_cases(db, demo_small.data_dir, db.parent / "supervision") > 0
        assert ensure_projection(db) > 0
        settings = WebSettings(db=db)
        services = Services(settings)
        port = _free_port()
        srv = uvicorn.Server(uvicorn.Config(create_app(settings, services), host="127.0.0.1", port=port,
                                            log_level="warning"))
        th = threading.Thread(target=srv.run, daemon=True)
        th.start()
        deadline = time.monotonic() + 30
        while not srv.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
        srv.should_exit = True
        th.join(10)
        services.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


def _watch(page) -> list[str]:
    """Errors of a page: uncaught exceptions and console errors (a Content-Security-Policy violation, e.g.
    an inline handler the policy blocks, is only a console error). A refused page (403/404 on purpose) logs
    "Failed to load resource"; a test that asks for one removes that line itself."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text} ({m.location.get('url')})")
            if m.type == "error" else None)
    return errors


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/")


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_county_analyst_logs_in_sees_the_county_switches_language_exports(server, browser, tmp_path):
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True, locale="zh-CN")
    page = ctx.new_page()
    errors = _watch(page)
    _login(page, server, "county")
    assert page.locator("h1").first.inner_text() == "基金运行总览"
    page.wait_for_selector("#treemap svg")
    _shot(page, "overview_county_zh")

    page.click("a.region[data-region='360102']")
    page.wait_for_url(f"{server}/region/360102")
    page.wait_for_selector("#chart-flows svg")
    page.wait_for_selector("#chart-months svg")
    assert "东湖区" in page.locator("#region-title").inner_text()
    assert page.locator("#indicator-table tbody tr").count() == 10
    _shot(page, "region_360102_zh")

    page.click("#lang-en")
    page.wait_for_selector("text=Accumulated balance")
    assert "Donghu" in page.locator("#region-title").inner_text()
    page.wait_for_selector("#chart-flows svg")
    _shot(page, "region_360102_en")

    with page.expect_download() as dl:
        page.click("#export-xlsx")
    path = tmp_path / "export.xlsx"
    dl.value.save_as(path)
    wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    ws = wb.active
    codes = {r[0] for r in ws.iter_rows(min_row=2, values_only=True)}
    header = [c.value for c in ws[1]]
    assert header[0] == "地区代码 / Region code" and codes == {"360102"}  # bilingual, with units where any
    assert next(wb["字段 columns"].iter_rows(min_row=2, values_only=True))[1] == "region_code"

    # another county: refused, and none of its figures shown
    resp = page.goto(f"{server}/region/360103")
    assert resp.status == 403
    assert "Xihu" not in page.locator("main").inner_text()
    _shot(page, "forbidden_360103_en")
    assert page.request.get(f"{server}/api/v1/indicators?region=360103").status == 403
    refused = [e for e in errors if "status of 403" in e]
    assert len(refused) == 1 and "/region/360103" in refused[0], errors  # the refusal asked for, and only it
    errors.remove(refused[0])
    assert not errors, errors
    ctx.close()


def test_admin_pages_and_the_readme_screenshot(server, browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    errors = _watch(page)
    _login(page, server, "admin")
    page.wait_for_selector("#treemap svg")
    page.wait_for_timeout(1500)  # let the treemap settle
    if not README_SHOT.exists() or os.environ.get("MIFUND_UPDATE_SCREENSHOT"):  # a tracked file: not rewritten each run
        README_SHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(README_SHOT))
    _shot(page, "overview_admin_zh")
    page.goto(f"{server}/region/360100")
    page.wait_for_selector("#chart-flows svg")
    _shot(page, "region_360100_zh")
    page.goto(f"{server}/projection?region=360124&scheme=resident")
    page.wait_for_selector("#chart-fan svg")
    page.wait_for_selector("#chart-scenarios svg")
    assert page.locator("#projection-table tbody tr").count() > 0
    _shot(page, "projection_360124_zh")
    page.goto(f"{server}/pooling")
    page.wait_for_selector("#chart-pooling svg")
    _shot(page, "pooling_zh")
    page.goto(f"{server}/disparity")
    page.wait_for_selector("#chart-lorenz svg")
    page.wait_for_selector("#chart-inequality svg")
    _shot(page, "disparity_zh")
    page.goto(f"{server}/policies/compare")
    page.wait_for_selector("#chart-compare svg")
    _shot(page, "policy_compare_zh")
    page.goto(f"{server}/audit")
    assert page.locator("#audit-table tbody tr").count() > 0
    _shot(page, "audit_zh")
    page.goto(f"{server}/imports")
    _shot(page, "imports_zh")
    page.click("#logout")
    page.wait_for_url(f"{server}/login")
    assert page.goto(f"{server}/").url.startswith(f"{server}/login")
    assert not errors, errors
    ctx.close()


def test_supervisor_works_a_case(server, browser):
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    errors = _watch(page)
    _login(page, server, "supervisor")
    page.click("nav >> text=监管案件")
    page.wait_for_url(f"{server}/cases")
    assert page.locator("#case-table tbody tr").count() > 0
    _shot(page, "cases_queue_zh")
    first = page.locator("a.case-link").first
    case_id = first.inner_text()
    first.click()
    page.wait_for_selector("#move-form")
    assert page.locator("#case-state").inner_text() == "待处理"
    page.select_option("#move-to", "in_review")
    page.fill("#move-note", "调取病历核查")
    page.click("#move-submit")
    page.wait_for_selector("#case-state:has-text('核查中')")
    history = page.locator("#history-table").inner_text()
    assert "调取病历核查" in history and "supervisor" in history
    page.select_option("#move-to", "confirmed")
    page.fill("#move-amount", "1500")
    page.click("#move-submit")
    page.wait_for_selector("#case-state:has-text('已确认')")
    _shot(page, "case_worked_zh")
    # the queue of open cases no longer lists it
    page.goto(f"{server}/cases?status=open")
    assert case_id not in page.locator("#case-table").inner_text()
    assert not errors, errors
    ctx.close()


def test_year_and_scheme_selects_change_the_page(server, browser):
    """The overview's year and the region page's scheme are <select>s that submit on change (a listener in
    static/app.js: the CSP blocks inline onchange handlers, and the submit button is only in <noscript>)."""
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    errors = _watch(page)
    _login(page, server, "analyst")
    years = page.locator("#year option").all_inner_texts()
    assert len(years) > 1 and page.locator("#year").input_value() == years[0]  # the latest year, first
    earlier = years[-1]
    page.select_option("#year", earlier)
    page.wait_for_url(f"{server}/?year={earlier}")
    assert f"{earlier} 年预警" in page.locator("main").inner_text()
    assert page.locator("#year").input_value() == earlier

    page.goto(f"{server}/region/360124")
    page.wait_for_selector("#chart-flows svg")
    page.select_option("#scheme", "resident")
    page.wait_for_url(f"{server}/region/360124?scheme=resident")
    assert page.locator("#scheme").input_value() == "resident"
    assert not errors, errors
    ctx.close()
