"""Review of the web dashboard and API: a region-scoped administrator stays in its subtree (users, imports,
audit log, import batches); a year without data is refused, never shown as a year without warnings;
downloads label text and counts as such; pages speak their language (no CLI flags, no server paths, no raw
action codes); the viewer exports nothing; truncated lists say so; unknown runs and statuses are named."""

from __future__ import annotations

import io
import re

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mifund.storage import Warehouse
from mifund.users import add_user, get_user
from mifund.web.app import create_app
from mifund.web.services import Services
from mifund.web.settings import WebSettings
from web_helpers import PASSWORD, csrf_of, ensure_projection, fast_hashing, login, web_warehouse

COUNTY, OTHER = "360102", "360103"  # 东湖区 and its sibling 西湖区, under the city 360100


@pytest.fixture(scope="module")
def web(demo_small, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        fast_hashing(mp)
        db = web_warehouse(demo_small.db, tmp_path_factory.mktemp("web_review"))
        with Warehouse(db) as wh:
            # an administrator scoped to one county, and a user of that county it may manage
            add_user(wh, "cadmin", PASSWORD, role="admin", region_code=COUNTY, actor="test")
            add_user(wh, "c_viewer", PASSWORD, role="viewer", region_code=COUNTY, actor="test")
        assert ensure_projection(db) > 0
        settings = WebSettings(db=db, login_fail_per_user=1000, login_fail_per_client=1000)
        services = Services(settings)
        app = create_app(settings, services)
        with TestClient(app) as c:
            yield app, c
        services.close()


@pytest.fixture(scope="module")
def tokens(web):
    _, c = web
    out = {}
    for name in ("admin", "cadmin", "viewer", "analyst"):
        r = c.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        out[name] = {"Authorization": f"Bearer {r.json()['token']}"}
    return out


@pytest.fixture
def client(web):
    yield TestClient(web[0])


def _same(web):
    """The app's warehouse connection under its lock."""
    svc = web[0].state.services

    class _Ctx:
        def __enter__(self):
            svc.lock.acquire()
            return svc.wh

        def __exit__(self, *a):
            svc.lock.release()

    return _Ctx()


def _visible(html: str) -> str:
    """What a reader sees: no scripts, no folded <details>, no tags (so no attributes)."""
    html = re.sub(r"<script.*?</script>|<details.*?</details>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code, r.text
    return r.json()["error"]


# -- 1. a region-scoped administrator stays in its subtree -------------------------------------------
def test_scoped_admin_cannot_create_unscoped_or_wider_users(web, client):
    login(client, "cadmin")
    page = client.get("/users")
    assert page.status_code == 200
    # the form offers no "all regions" and no region outside the county
    select = re.search(r'<select name="region_code">(.*?)</select>', page.text, re.S).group(1)
    assert re.findall(r'value="([^"]*)"', select) == [COUNTY]
    form = {"csrf_token": csrf_of(page.text), "password": "a good long password"}
    r = client.post("/users", data={**form, "username": "boss2", "role": "admin", "region_code": ""})
    assert r.status_code == 422 and COUNTY in r.text
    r = client.post("/users", data={**form, "username": "boss3", "role": "admin", "region_code": "360100"})
    assert r.status_code == 403
    r = client.post("/users", data={**form, "username": "spy", "role": "viewer", "region_code": OTHER})
    assert r.status_code == 403
    with _same(web) as wh:
        assert get_user(wh, "boss2") is None and get_user(wh, "boss3") is None and get_user(wh, "spy") is None
    r = client.post("/users", data={**form, "username": "c_new", "role": "viewer", "region_code": COUNTY})
    assert r.status_code == 200 and "c_new" in r.text
    with _same(web) as wh:
        assert get_user(wh, "c_new").region_code == COUNTY


def test_scoped_admin_manages_only_users_of_its_subtree(web, client):
    login(client, "cadmin")
    page = client.get("/users")
    listed = set(re.findall(r"<tr><td>([\w.\-]+)</td>", page.text))
    assert {"cadmin", "county", "c_viewer"} <= listed
    assert not listed & {"admin", "analyst", "supervisor", "viewer"}  # the city's users are not its to see
    for name in ("analyst", "admin"):
        r = client.post(f"/users/{name}/disable", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 422, name
        with _same(web) as wh:
            assert not get_user(wh, name).disabled, name
    r = client.post("/users/c_viewer/disable", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200
    r = client.post("/users/c_viewer/enable", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200
    with _same(web) as wh:
        assert not get_user(wh, "c_viewer").disabled
    # the city administrator still manages everyone, unscoped users included
    city = TestClient(web[0])
    login(city, "admin")
    page = city.get("/users")
    assert 'value="">' in re.search(r'<select name="region_code">(.*?)</select>', page.text, re.S).group(1)
    r = city.post("/users", data={"csrf_token": csrf_of(page.text), "username": "admin2", "role": "admin",
                                  "password": "a good long password", "region_code": ""})
    assert r.status_code == 200
    with _same(web) as wh:
        assert get_user(wh, "admin2").region_code is None


def _population(rows: list[tuple[str, int, int]]) -> bytes:
    df = pd.DataFrame([{"region_code": r, "year": y, "sex": "F", "age_band": "0-4", "persons": n,
                        "source": "review test"} for r, y, n in rows])
    return df.to_csv(index=False).encode()


def _persons(web, region: str, year: int) -> list[int]:
    with _same(web) as wh:
        p = wh.table("population")
        return list(wh.to_pandas(p.filter(p.region_code == region, p.year == year, p.sex == "F",
                                          p.age_band == "0-4")).persons)


def test_scoped_admin_imports_only_rows_of_its_regions(web, client, tokens):
    h = tokens["cadmin"]
    before = _persons(web, OTHER, 2024)
    assert before
    # one row of another county (replacing its figure) refuses the whole file, naming the row
    r = client.post("/api/v1/imports", headers=h, files={"files": ("population.csv", _population(
        [(COUNTY, 2032, 11), (OTHER, 2024, 999_999)]), "text/csv")})
    err = _error(r, 422, "import_failed")
    assert [(d["row"], d["column"], d["value"]) for d in err["details"]] == [(3, "region_code", OTHER)]
    assert _persons(web, OTHER, 2024) == before and _persons(web, COUNTY, 2032) == []  # nothing written
    # ... across files too: the import is one transaction
    r = client.post("/api/v1/imports", headers=h, files=[
        ("files", ("population.csv", _population([(COUNTY, 2033, 12)]), "text/csv")),
        ("files", ("population_2.csv", _population([(OTHER, 2033, 13)]), "text/csv"))], data={"table": "population"})
    _error(r, 422, "import_failed")
    assert _persons(web, COUNTY, 2033) == []
    # moving another county's provider into its own county replaces that county's row: refused
    with _same(web) as wh:
        prov = wh.to_pandas(wh.table("providers"))
    theirs = prov[prov.region_code == OTHER].head(1).assign(region_code=COUNTY)
    r = client.post("/api/v1/imports", headers=h,
                    files={"files": ("providers.csv", theirs.to_csv(index=False).encode(), "text/csv")})
    assert _error(r, 422, "import_failed")["details"][0]["value"] == f"{OTHER} → {COUNTY}"
    # the city's catalogue is the city administrator's
    cat = "item_code,name,item_category,catalog_class\nREVIEW1,x,drug,A\n"
    _error(client.post("/api/v1/imports", headers=h, files={"files": ("catalog.csv", cat.encode(), "text/csv")}),
           422, "import_failed")
    # its own rows import; the city administrator imports anyone's
    r = client.post("/api/v1/imports", headers=h,
                    files={"files": ("population.csv", _population([(COUNTY, 2034, 14)]), "text/csv")})
    assert r.status_code == 200, r.text
    assert _persons(web, COUNTY, 2034) == [14]
    r = client.post("/api/v1/imports", headers=tokens["admin"],
                    files={"files": ("population.csv", _population([(OTHER, 2034, 15)]), "text/csv")})
    assert r.status_code == 200, r.text


def test_scoped_admin_reads_the_audit_log_and_imports_of_its_subtree_only(web, client, tokens):
    with _same(web) as wh:
        users = wh.to_pandas(wh.table("users"))
    mine = set(users.loc[users.region_code == COUNTY, "username"])
    # an import and a login by users outside the county, so that there is something to hide
    client.post("/api/v1/imports", headers=tokens["admin"],
                files={"files": ("population.csv", _population([(OTHER, 2035, 16)]), "text/csv")})
    client.post("/api/v1/imports", headers=tokens["cadmin"],
                files={"files": ("population.csv", _population([(COUNTY, 2035, 17)]), "text/csv")})
    audit = client.get("/api/v1/audit", params={"limit": 5000}, headers=tokens["cadmin"]).json()
    assert audit["rows"] and {r["actor"] for r in audit["rows"]} <= mine
    assert audit["total"] == len(audit["rows"])
    everything = client.get("/api/v1/audit", params={"limit": 5000}, headers=tokens["admin"]).json()
    assert {"admin", "test"} <= {r["actor"] for r in everything["rows"]}
    batches = client.get("/api/v1/imports", params={"limit": 1000}, headers=tokens["cadmin"]).json()["rows"]
    assert batches and {b["actor"] for b in batches} == {"cadmin"}
    all_batches = client.get("/api/v1/imports", params={"limit": 1000}, headers=tokens["admin"]).json()["rows"]
    assert "admin" in {b["actor"] for b in all_batches}
    login(client, "cadmin")
    page = client.get("/audit", params={"actor": "admin"})
    assert page.status_code == 200 and "<td>admin</td>" not in page.text


# -- 2, 3. a year without data ---------------------------------------------------------------------
def test_a_year_without_data_is_refused_not_shown_healthy(client, tokens):
    h = tokens["analyst"]
    err = _error(client.get("/api/v1/regions", params={"year": 2030}, headers=h), 404, "year_not_found")
    assert "2030" in err["message"]
    assert client.get("/api/v1/regions", params={"year": 2024}, headers=h).status_code == 200
    login(client, "analyst")
    client.get("/lang/zh")
    r = client.get("/", params={"year": 2030})
    assert r.status_code == 404
    note = re.search(r'id="year-missing"[^>]*>(.*?)</p>', r.text).group(1)
    assert "2030" in note and "没有数据" in note
    assert "无预警" not in _visible(r.text.split("<main>")[1])  # no region shown as without warnings
    client.get("/lang/en")
    assert "No figures for 2030" in client.get("/", params={"year": 2030}).text


def test_disparity_refuses_a_year_without_data_and_the_page_says_which_year_it_shows(client, tokens):
    h = tokens["analyst"]
    _error(client.get("/api/v1/disparity", params={"year": 2030}, headers=h), 404, "year_not_found")
    ok = client.get("/api/v1/disparity", params={"year": 2020}, headers=h).json()
    assert ok["year"] == 2020
    login(client, "analyst")
    client.get("/lang/en")
    r = client.get("/disparity", params={"year": 2030})
    assert r.status_code == 200
    latest = max(ok["years"])
    note = re.search(r'id="year-shown-instead"[^>]*>(.*?)</p>', r.text).group(1)
    assert "2030" in note and str(latest) in note
    assert 'id="year-shown-instead"' not in client.get("/disparity", params={"year": 2020}).text


# -- 4. downloads: text as text, counts as counts -------------------------------------------------------
def _sheet(r):
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb.active
    return ws, [c.value for c in ws[1]]


def test_xlsx_labels_text_and_counts_as_such(client, tokens):
    h = tokens["admin"]
    ws, header = _sheet(client.get("/api/v1/indicators", params={"region": COUNTY, "format": "xlsx"}, headers=h))
    assert "基金 / Fund" in header and not [x for x in header if x.startswith("基金（元）")]
    units = next(x for x in header if "Units reported" in x)
    assert "元" not in units and "yuan" not in units
    assert ws.cell(2, header.index(units) + 1).number_format != "#,##0.00"
    income = header.index("基金收入（元） / Fund income (yuan)") + 1
    assert ws.cell(2, income).number_format == "#,##0.00"
    ws, header = _sheet(client.get("/api/v1/projections", params={"region": COUNTY, "format": "xlsx"}, headers=h))
    assert not [x for x in header if "balance_p" in x or x == "p_exhausted"], header
    p5 = next(x for x in header if "percentile 5 " in x)
    assert p5.startswith("累计结存") and "（元）" in p5 and "(yuan)" in p5
    assert "基金 / Fund" in header


def test_column_kinds():
    from mifund.web import columns

    assert not columns.is_money("fund") and columns.is_text("fund")
    assert not columns.is_money("units_covered") and columns.is_count("units_covered")
    assert columns.is_money("balance_p95") and columns.unit_of("balance_p95") == "yuan"
    assert columns.header("fund") == "基金 / Fund"
    assert columns.header("fund_share") == "基金支付比例 / Fund share"
    assert "yuan" not in columns.header("balance_end", numeric=False)


# -- 5. the pages' language -----------------------------------------------------------------------
def test_users_page_errors_speak_chinese_and_name_no_cli_flag(client):
    login(client, "admin")
    client.get("/lang/zh")
    page = client.get("/users")
    form = {"csrf_token": csrf_of(page.text), "password": "a good long password"}
    r = client.post("/users", data={**form, "username": "nobody1", "role": "viewer", "region_code": ""})
    error = re.search(r'id="user-error">(.*?)</p>', r.text).group(1)
    assert r.status_code == 422 and "地区" in error and "--" not in error and "needs a region" not in error
    r = client.post("/users", data={**form, "username": "nobody2", "role": "viewer", "region_code": COUNTY,
                                    "password": "short"})
    assert "密码太短" in re.search(r'id="user-error">(.*?)</p>', r.text).group(1)
    r = client.post("/users/admin/disable", data={"csrf_token": csrf_of(page.text)})
    error = re.search(r'id="user-error">(.*?)</p>', r.text).group(1)
    assert r.status_code == 422 and "不能停用自己" in error and "yourself" not in r.text


def test_imports_page_names_the_uploaded_file_and_no_cli_flag(client):
    login(client, "admin")
    client.get("/lang/zh")
    page = client.get("/imports")
    r = client.post("/imports", files={"files": ("weird.csv", b"a,b\n1,2\n", "text/csv")},
                    data={"csrf_token": csrf_of(page.text)})
    failure = r.text.split('id="import-failed"')[1].split("</section>")[0]
    assert r.status_code == 422 and "weird.csv" in failure
    assert "/tmp" not in failure and "mifund-upload" not in failure and "--table" not in failure
    assert "无法从文件名或表头识别数据表" in failure and "未写入任何数据" in failure


def test_imports_api_names_the_uploaded_file(client, tokens):
    r = client.post("/api/v1/imports", headers=tokens["admin"], files={"files": ("weird.csv", b"a,b\n1,2\n", "text/csv")})
    err = _error(r, 422, "import_failed")
    assert "mifund-upload" not in r.text and "--table" not in r.text
    assert err["details"][0]["file"] == "weird.csv" and "weird.csv" in err["message"]


def test_pooling_page_with_an_unknown_city_speaks_the_pages_language(client):
    login(client, "analyst")
    client.get("/lang/zh")
    r = client.get("/pooling", params={"city": "bogus"})
    error = re.search(r'id="pooling-error">(.*?)</p>', r.text).group(1)
    assert r.status_code == 404 and "bogus" in error and "no region" not in r.text and "没有地区" in error


def test_audit_page_names_actions_in_both_languages(client):
    login(client, "admin")
    for lang, words in (("zh", ("新增用户", "登录")), ("en", ("User added", "Login"))):
        client.get(f"/lang/{lang}")
        table = _visible(re.search(r'<table[^>]*id="audit-table".*?</table>', client.get("/audit").text, re.S).group(0))
        assert all(w in table for w in words), (lang, table[:300])
        assert not re.search(r"\b(user_add|session_start|login_failed|login_refused|case_move)\b", table), lang
    from mifund.web.i18n import catalogue
    from mifund.web.pages.audit import ACTIONS

    assert {f"action_{a}" for a in ACTIONS} <= set(catalogue("zh")) & set(catalogue("en"))


# -- 6. the viewer exports nothing ------------------------------------------------------------------
def test_viewer_cannot_export_projection_runs(client, tokens):
    _error(client.get("/api/v1/projections/runs", params={"format": "csv"}, headers=tokens["viewer"]), 403, "forbidden")
    _error(client.get("/api/v1/projections/runs", params={"format": "xlsx"}, headers=tokens["viewer"]), 403,
           "forbidden")
    assert client.get("/api/v1/projections/runs", headers=tokens["viewer"]).status_code == 200
    assert client.get("/api/v1/projections/runs", params={"format": "csv"}, headers=tokens["analyst"]).status_code == 200


# -- 7. a truncated list says so ----------------------------------------------------------------------
def test_overview_says_how_many_warnings_it_shows(client, tokens, monkeypatch):
    from mifund.web.pages import overview

    year = client.get("/api/v1/regions", headers=tokens["admin"]).json()["year"]
    n = client.get("/api/v1/warnings", params={"year": year}, headers=tokens["admin"]).json()["count"]
    assert n > 3
    monkeypatch.setattr(overview, "SHOWN", 3)
    login(client, "admin")
    client.get("/lang/en")
    page = client.get("/").text
    section = page.split('id="warnings"')[1].split("</section>")[0]
    assert f"3 of {n} shown" in section and 'id="all-warnings"' in section
    assert len(re.findall(r'<tr class="lvl-', section)) == 3
    every = client.get(re.search(r'id="all-warnings" href="([^"]+)"', section).group(1).replace("&amp;", "&")).text
    section = every.split('id="warnings"')[1].split("</section>")[0]
    assert len(re.findall(r'<tr class="lvl-', section)) == n and 'id="all-warnings"' not in section
    # most severe first
    order = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}
    levels = [order[x] for x in re.findall(r'<tr class="lvl-(\w+)"', section)]
    assert levels == sorted(levels)


# -- 8. unknown runs and statuses -------------------------------------------------------------------
def test_unknown_projection_run_and_case_status_are_named(client):
    login(client, "supervisor")
    client.get("/lang/en")
    r = client.get("/projection", params={"region": COUNTY, "run_id": "nope"})
    assert r.status_code == 404 and "nope" in _visible(r.text) and 'id="projection-table"' not in r.text
    r = client.get("/cases", params={"status": "bogus"})
    assert r.status_code == 422 and "bogus" in _visible(r.text) and 'id="case-table"' not in r.text
    assert client.get("/cases", params={"status": "all"}).status_code == 200


# -- 9. labels and numbers -------------------------------------------------------------------------
def test_english_unit_labels_and_no_negative_zero(client):
    from mifund.web.fmt import fixed

    assert fixed(-0.04) == "0.0" and fixed(-0.004, 2, True, 1) == "0.00" and fixed(-12345.6, 1, True) == "-12,345.6"
    assert fixed(-40, 2, True, 10000) == "0.00" and fixed(None) == "—" and fixed(float("nan")) == "—"
    login(client, "analyst")
    client.get("/lang/en")
    region = client.get(f"/region/{COUNTY}").text
    assert "(10k yuan)" in region and "(10k yuan (" not in region
    projection = client.get("/projection", params={"region": COUNTY}).text
    head = re.search(r'id="projection-table"><thead>(.*?)</thead>', projection, re.S).group(1)
    assert "P5 (10k yuan)" in head and "P95 (10k yuan)" in head
    for page in (region, projection):
        assert not re.search(r">-0\.0+<", page)
