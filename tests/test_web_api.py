"""The web application through FastAPI's TestClient on a copy of the demo warehouse: authentication,
roles and region scope (a county analyst gets 403 for another county, on the page and in the API),
JSON errors with stable codes, figures equal to the indicator engine's, exports, CSRF, rate limiting,
imports with the CLI's validation, the audit log, and the message catalogues."""

from __future__ import annotations

import io
import re
from importlib import resources

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mifund.ledger.indicators import compute_indicators
from mifund.storage import Warehouse
from mifund.users import add_user
from mifund.web.app import create_app
from mifund.web.i18n import LANGS, catalogue
from mifund.web.services import Services
from mifund.web.settings import WebSettings
from web_helpers import PASSWORD, csrf_of, ensure_cases, ensure_projection, fast_hashing, login, web_warehouse

OTHER_COUNTY = "360103"  # 西湖区, a sibling of the county analyst's 360102 东湖区


@pytest.fixture(scope="module")
def web(demo_small, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        fast_hashing(mp)
        db = web_warehouse(demo_small.db, tmp_path_factory.mktemp("web"))
        with Warehouse(db) as wh:
            add_user(wh, "luckless", PASSWORD, role="viewer", region_code="360100", actor="test")
            add_user(wh, "county_sup", PASSWORD, role="supervisor", region_code="360102", actor="test")
        assert ensure_cases(db, demo_small.data_dir, db.parent / "supervision") > 0
        assert ensure_projection(db) > 0
        settings = WebSettings(db=db, login_fail_per_user=3, login_fail_per_client=1000)
        services = Services(settings)
        app = create_app(settings, services)
        with TestClient(app) as c:
            yield app, c, db
        services.close()


@pytest.fixture(scope="module")
def tokens(web):
    app, c, _ = web
    out = {}
    for name in ("admin", "analyst", "county", "supervisor", "viewer", "county_sup"):
        r = c.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD, "name": "tests"})
        assert r.status_code == 200, r.text
        out[name] = {"Authorization": f"Bearer {r.json()['token']}"}
    return out


@pytest.fixture
def client(web):
    """A fresh browser-like client (own cookies) on the module's app."""
    app, _, _ = web
    yield TestClient(app)


def _error(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["code"] == code and body["error"]["status"] == status and body["error"]["message"]


# -- authentication --------------------------------------------------------------------------------
def test_api_needs_a_token_and_rejects_a_wrong_one(client):
    _error(client.get("/api/v1/indicators"), 401, "not_authenticated")
    _error(client.get("/api/v1/indicators", headers={"Authorization": "Bearer mf_nope"}), 401, "invalid_token")
    _error(client.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong password"}), 401,
           "login_failed")
    _error(client.get("/api/v1/nothing-here"), 404, "not_found")
    _error(client.get("/api/v1/indicators", params={"scheme": "nonsense"}), 401, "not_authenticated")


def test_pages_redirect_to_login_and_login_sets_a_safe_cookie(client):
    r = client.get("/region/360102", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/region/360102"
    r = login(client, "county", next="/region/360102")
    assert r.status_code == 200 and r.url.path == "/region/360102"
    cookie = next(h for h in r.history[0].headers.get_list("set-cookie") if h.startswith("mifund_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_login_form_needs_its_csrf_token_and_redirects_only_locally(client):
    client.get("/login")
    r = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403 and "csrf_failed" in r.text
    r = login(client, "admin", next="//evil.example/x")
    assert r.url.path == "/" and r.url.host == "testserver"


def test_logout_needs_the_session_csrf_token(client):
    login(client, "viewer")
    page = client.get("/")
    r = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # still logged in
    r = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303  # logged out


def test_failed_logins_are_rate_limited(web, client):
    app, _, db = web
    for _ in range(3):
        assert login(client, "luckless", password="not the password").status_code == 401
    r = login(client, "luckless")  # right password, refused while limited
    assert r.status_code == 429
    assert "秒后再试" in r.text or "try again" in r.text
    _error(client.post("/api/v1/auth/token", json={"username": "luckless", "password": PASSWORD}), 429,
           "rate_limited")
    with app.state.services.locked() as wh:
        a = wh.to_pandas(wh.table("audit_log"))
    assert (a[a.actor == "luckless"].action == "login_refused").sum() >= 2


# -- region scope ------------------------------------------------------------------------------------
def test_county_analyst_gets_403_for_another_county_through_page_and_api(client, tokens):
    h = tokens["county"]
    _error(client.get("/api/v1/indicators", params={"region": OTHER_COUNTY}, headers=h), 403, "region_forbidden")
    _error(client.get("/api/v1/warnings", params={"region": OTHER_COUNTY}, headers=h), 403, "region_forbidden")
    _error(client.get(f"/api/v1/regions/{OTHER_COUNTY}/series", headers=h), 403, "region_forbidden")
    _error(client.get("/api/v1/indicators", params={"region": "360100"}, headers=h), 403, "region_forbidden")
    assert client.get("/api/v1/indicators", params={"region": "360102"}, headers=h).status_code == 200
    login(client, "county")
    r = client.get(f"/region/{OTHER_COUNTY}")
    assert r.status_code == 403 and "region_forbidden" in r.text
    assert "西湖区" not in r.text.split("<main>")[1]
    assert client.get("/region/360102").status_code == 200
    # the same county is fine for the city analyst
    assert client.get("/api/v1/indicators", params={"region": OTHER_COUNTY}, headers=tokens["analyst"]).status_code == 200


def test_lists_only_hold_the_users_regions(client, tokens):
    rows = client.get("/api/v1/indicators", headers=tokens["county"]).json()["rows"]
    assert rows and {r["region_code"] for r in rows} == {"360102"}
    w = client.get("/api/v1/warnings", headers=tokens["county"]).json()["rows"]
    assert {r["region_code"] for r in w} <= {"360102"}
    tree = client.get("/api/v1/regions", headers=tokens["county"]).json()["regions"]
    assert [n["region_code"] for n in tree] == ["360102"]
    all_tree = client.get("/api/v1/regions", headers=tokens["admin"]).json()["regions"]
    assert all_tree[0]["region_code"] == "360100" and len(all_tree[0]["children"]) == 9
    login(client, "county")
    page = client.get("/").text
    assert "东湖区" in page and "西湖区" not in page and "南昌县" not in page


def test_unknown_region_is_404_not_403(client, tokens):
    _error(client.get("/api/v1/indicators", params={"region": "999999"}, headers=tokens["admin"]), 404,
           "region_not_found")


# -- figures -----------------------------------------------------------------------------------------
def test_indicators_equal_the_engine_and_the_region_page_shows_them(web, client, tokens):
    r = client.get("/api/v1/indicators", params={"region": "360102", "year": 2024, "scheme": "total"},
                   headers=tokens["county"])
    got = pd.DataFrame(r.json()["rows"])
    with _same(web) as wh:
        ref = compute_indicators(wh, regions=["360102"], years=[2024], schemes=["total"])
    assert len(got) == len(ref) == 1
    for col in ("income_total", "expenditure_total", "balance_end", "payable_months", "insured"):
        assert got[col].iloc[0] == pytest.approx(float(ref[col].iloc[0]))
    series = client.get("/api/v1/regions/360102/series", headers=tokens["county"]).json()["rows"]
    assert [s["year"] for s in series] == list(range(2015, 2025))
    last = series[-1]
    assert last["balance_end"] == pytest.approx(float(ref["balance_end"].iloc[0]))
    login(client, "county")
    page = client.get("/region/360102").text
    # the table shows 万元 with two decimals
    assert f"{ref['balance_end'].iloc[0] / 1e4:,.2f}" in page
    assert 'id="chart-flows"' in page and "echarts-5.6.0.min.js" in page


class _same:
    """The app's own warehouse connection, under its lock (the file is held by the app)."""

    def __init__(self, web):
        self.svc = web[0].state.services

    def __enter__(self):
        self.svc.lock.acquire()
        return self.svc.wh

    def __exit__(self, *a):
        self.svc.lock.release()


def test_warnings_carry_reasons_in_both_languages(client, tokens):
    rows = client.get("/api/v1/warnings", params={"region": "360102", "level": "red"},
                      headers=tokens["county"]).json()["rows"]
    assert rows and all(r["level"] == "red" for r in rows)
    assert all(r["message_zh"] and r["message_en"] for r in rows)
    _error(client.get("/api/v1/warnings", params={"level": "purple"}, headers=tokens["county"]), 422,
           "validation_error")


def test_overview_colours_regions_by_their_worst_warning(client, tokens):
    tree = client.get("/api/v1/regions", params={"year": 2024}, headers=tokens["admin"]).json()["regions"][0]
    w = pd.DataFrame(client.get("/api/v1/warnings", params={"year": 2024}, headers=tokens["admin"]).json()["rows"])
    order = ["red", "orange", "yellow", "blue"]
    for node in tree["children"]:
        levels = set(w.loc[w.region_code == node["region_code"], "level"])
        expect = next((lv for lv in order if lv in levels), None)
        assert node["worst"] == expect, node["region_code"]
        assert sum(node["counts"].values()) == len(w[w.region_code == node["region_code"]])


def test_months_of_payment_capacity_headline_is_the_lower_pooled_fund(web, client, tokens):
    """The overview and the region page head with the pooled funds' months, not the total's: the total
    counts the employees' individual accounts, which cannot pay a pooled-fund deficit. The reference is
    the engine's pooled rows; the headline is the lower of employee and resident (进贤县 2024 in the demo:
    total 13.0 months, resident pooled fund 5.0, under the 6-month line)."""
    with _same(web) as wh:
        ref = compute_indicators(wh, years=[2024])
    pooled = ref[ref.fund == "pooled"].pivot_table(index="region_code", columns="scheme", values="payable_months")
    total = ref[ref.scheme == "total"].set_index("region_code").payable_months
    tree = client.get("/api/v1/regions", params={"year": 2024}, headers=tokens["admin"]).json()["regions"][0]
    nodes = [tree, *tree["children"]]
    assert len(nodes) >= 3
    for node in nodes:
        code = node["region_code"]
        low = min(pooled.at[code, "employee"], pooled.at[code, "resident"])
        assert node["pooled_months_min"] == pytest.approx(low), code
        assert node["pooled_months_resident"] == pytest.approx(pooled.at[code, "resident"])
        assert node["payable_months"] == pytest.approx(total[code])  # the total stays, under its own name
    # the demo has a region whose total hides a pooled fund under the total's figure by far
    gap = max(total[n["region_code"]] - n["pooled_months_min"] for n in nodes)
    assert gap > 3
    login(client, "admin")
    client.get("/lang/zh")
    page = client.get("/", params={"year": 2024}).text
    for node in nodes:
        li = re.search(rf'data-region="{node["region_code"]}">.*?</a>\s*<span class="muted">(.*?)</span>\s*(<ul>|</li>)',
                       page, re.S).group(1)
        assert f'data-months="{node["pooled_months_min"]:.1f}"' in li, li
        assert "统筹基金" in li
    series = client.get("/api/v1/regions/360124/series", headers=tokens["admin"]).json()["rows"]
    last = series[-1]
    assert last["year"] == 2024 and last["pooled_months"] == pytest.approx(
        min(pooled.at["360124", "employee"], pooled.at["360124", "resident"]))
    assert last["payable_months"] == pytest.approx(total["360124"])
    res = client.get("/api/v1/regions/360124/series", params={"scheme": "resident"}, headers=tokens["admin"]).json()
    assert res["rows"][-1]["pooled_months"] == pytest.approx(pooled.at["360124", "resident"])
    table = client.get("/region/360124").text.split('id="indicator-table"')[1].split("</table>")[0]
    row_2024 = re.search(r"<tr><td>2024</td>(.*?)</tr>", table, re.S).group(1)
    assert f"{last['pooled_months']:.1f}" in row_2024 and f"{total['360124']:.1f}" not in row_2024


def test_json_money_is_rounded_to_the_fen(client, tokens):
    """pandas' JSON writer printed sums as 1072913.070000000065193; money goes out to the fen, other
    floats to 12 significant digits."""
    r = client.get("/api/v1/indicators", params={"region": "360100"}, headers=tokens["admin"])
    noisy = re.findall(r'"(\w+)": (-?\d+\.\d{3,})', r.text)
    money = {"income_total", "expenditure_total", "balance_end", "surplus", "balance_start", "income_per_capita"}
    assert not [(k, v) for k, v in noisy if k in money or k.startswith(("income_", "expenditure_", "balance_"))
                and "growth" not in k], noisy[:5]
    digits = [n.replace(".", "").replace("-", "").lstrip("0") for n in re.findall(r"-?\d+\.\d+", r.text)]
    assert digits and max(len(d) for d in digits) <= 12  # no binary noise on any float
    rows = r.json()["rows"]
    assert all(round(x["income_total"], 2) == x["income_total"] for x in rows if x["income_total"] is not None)


def test_exports_csv_and_xlsx(client, tokens):
    r = client.get("/api/v1/indicators", params={"region": "360102", "format": "csv"}, headers=tokens["county"])
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig", dtype={"region_code": str})
    assert set(df.region_code) == {"360102"}
    r = client.get("/api/v1/indicators", params={"region": "360102", "format": "xlsx"}, headers=tokens["county"])
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb.active
    header = [c.value for c in ws[1]]
    # for people: bilingual headers with units; the sheet "字段 columns" gives each header's code
    assert "基金收入（元） / Fund income (yuan)" in header and "地区代码 / Region code" in header
    assert "可支付月数（月） / Months of payment capacity (months)" in header and ws.max_row == len(df) + 1
    legend = {row[0]: row[1] for row in wb["字段 columns"].iter_rows(min_row=2, values_only=True)}
    assert [legend[h] for h in header] == list(df.columns)
    col = header.index("基金收入（元） / Fund income (yuan)")
    assert [c.value for c in ws[2]][col] == pytest.approx(df.income_total.iloc[0], abs=0.005)
    # the read-only viewer may look but not export
    _error(client.get("/api/v1/indicators", params={"format": "csv"}, headers=tokens["viewer"]), 403, "forbidden")
    assert client.get("/api/v1/indicators", headers=tokens["viewer"]).status_code == 200


# -- claims and policies -----------------------------------------------------------------------------
def _claim_of(web, region: str) -> str:
    with _same(web) as wh:
        e = wh.table("enrollment")
        c = wh.table("claims")
        j = c.join(e, c.person_id == e.person_id).filter(e.region_code == region, e.year == 2024,
                                                         c.discharge_date.year() == 2024)
        return wh.to_pandas(j.select(c.claim_id).order_by("claim_id").limit(1)).claim_id.iloc[0]


def test_claim_explanation_is_limited_to_the_insured_region(web, client, tokens):
    mine, other = _claim_of(web, "360102"), _claim_of(web, OTHER_COUNTY)
    r = client.get(f"/api/v1/claims/{mine}/explanation", headers=tokens["county"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["region_code"] == "360102" and body["lines"][0].startswith(f"Claim {mine}")
    # the explanation ends with the stored settlement's out of pocket
    assert body["lines"][-1].endswith(f"{float(body['stored']['out_of_pocket']):,.2f}")
    # another county's claim answers as an unknown one does (404, no region named): no enumeration of claim ids
    theirs = client.get(f"/api/v1/claims/{other}/explanation", headers=tokens["county"])
    nope = client.get("/api/v1/claims/NOPE/explanation", headers=tokens["county"])
    _error(theirs, 404, "claim_not_found")
    _error(nope, 404, "claim_not_found")
    assert theirs.json()["error"]["message"].replace(other, "X") == nope.json()["error"]["message"].replace("NOPE", "X")
    assert OTHER_COUNTY not in theirs.text
    assert client.get(f"/api/v1/claims/{other}/explanation", headers=tokens["admin"]).status_code == 200
    _error(client.get(f"/api/v1/claims/{mine}/explanation", headers=tokens["viewer"]), 403, "forbidden")


def test_policy_comparison(client, tokens):
    r = client.get("/api/v1/policies/compare", params={"amounts": "10000,50000", "level": 2}, headers=tokens["county"])
    rows = r.json()["rows"]
    assert rows and {x["provider_level"] for x in rows} == {2}
    for x in rows:  # the layers and out of pocket add up to the bill
        parts = x["pooled_fund_paid"] + x["catastrophic_paid"] + x["assistance_paid"] + x["account_paid"]
        assert parts + x["out_of_pocket"] == pytest.approx(x["bill"], abs=0.011)
    _error(client.get("/api/v1/policies/compare", params={"amounts": "abc"}, headers=tokens["county"]), 422,
           "validation_error")
    login(client, "viewer")
    assert 'id="chart-compare"' in client.get("/policies/compare").text


# -- projection --------------------------------------------------------------------------------------
def test_projection_results_are_the_stored_ones_and_scoped(web, client, tokens):
    rows = client.get("/api/v1/projections", params={"region": "360102", "scheme": "resident"},
                      headers=tokens["county"]).json()["rows"]
    assert rows and {r["region_code"] for r in rows} == {"360102"}
    with _same(web) as wh:
        t = wh.table("projection_results")
        ref = wh.to_pandas(t.filter(t.region_code == "360102", t.scheme == "resident").order_by(["run_id", "year"]))
    assert [r["year"] for r in rows] == list(ref.year)
    assert [r["balance_p95"] for r in rows] == pytest.approx(list(ref.balance_p95))
    assert all(r["balance_p5"] <= r["balance_p50"] <= r["balance_p95"] for r in rows)
    everything = client.get("/api/v1/projections", headers=tokens["county"]).json()["rows"]
    assert {r["region_code"] for r in everything} == {"360102"}
    _error(client.get("/api/v1/projections", params={"region": OTHER_COUNTY}, headers=tokens["county"]), 403,
           "region_forbidden")
    login(client, "county")
    page = client.get("/projection")
    assert page.status_code == 200 and 'id="chart-fan"' in page.text and "360103" not in page.text
    assert client.get("/projection", params={"region": OTHER_COUNTY}).status_code == 403


# -- disparity ---------------------------------------------------------------------------------------
def test_disparity_equal_weights_match_pysal_and_a_county_sees_none(client, tokens):
    from inequality.gini import Gini
    from inequality.theil import Theil

    d = client.get("/api/v1/disparity", params={"indicator": "expenditure_per_capita", "weight": "equal"},
                   headers=tokens["analyst"]).json()
    assert d["enough"] and len(d["regions"]) == 9
    values = [r["value"] for r in d["regions"]]
    row = next(r for r in d["by_year"] if r["year"] == d["year"])
    # unweighted, the measures are PySAL's
    assert row["gini"] == pytest.approx(Gini(values).g, rel=1e-9)
    assert row["theil_t"] == pytest.approx(float(Theil(values).T), rel=1e-9)
    # the Lorenz curve runs from (0, 0) to (1, 1), convex, and its area gives the Gini
    lz = d["lorenz"]
    assert lz[0] == [0, 0] and lz[-1] == pytest.approx([1, 1])
    # trapezoids under the curve the API returns (the page draws these points), against PySAL's Gini of
    # the same values, computed here: a curve built from unsorted or unweighted points fails this
    area = sum((b[0] - a[0]) * (a[1] + b[1]) for a, b in zip(lz, lz[1:], strict=False))
    assert 1 - area == pytest.approx(Gini(values).g, rel=1e-9)  # can fail: the curve is the API's, the Gini PySAL's
    # a county analyst sees one county only: nothing to compare, and no other county's figures
    county = client.get("/api/v1/disparity", headers=tokens["county"]).json()
    assert county == {"enough": False}


def test_pooling_modes_need_a_whole_city(web, client):
    from mifund.web.services import pooling

    login(client, "analyst")
    page = client.get("/pooling")
    assert page.status_code == 200 and 'id="pooling-table"' in page.text
    svc = web[0].state.services
    from mifund.users import User

    df = pooling.compare(svc, User("analyst", "analyst", "360100"), "360100")
    assert len(re.findall(r"<tr><td>", page.text.split('id="pooling-table"')[1])) == len(df) >= 3
    covered = df.covered_own_balance + df.covered_pool + df.covered_county_treasury + df.covered_city_treasury
    # every deficit (and the part of an adjustment-fund contribution the year's surplus could not pay) is
    # covered by someone
    due = df.deficit + df.contribution_beyond_surplus.fillna(0)
    assert list(covered) == pytest.approx(list(due))
    county = TestClient(web[0])
    login(county, "county")
    assert 'id="pooling-none"' in county.get("/pooling").text


def test_pooling_api_gives_the_pages_figures_and_keeps_a_county_out(web, client, tokens):
    from mifund.users import User
    from mifund.web.services import pooling

    d = client.get("/api/v1/pooling", headers=tokens["analyst"]).json()
    assert d["city"] == "360100" and d["cities"] == ["360100"] and d["scheme"] == "resident"
    df = pooling.compare(web[0].state.services, User("analyst", "analyst", "360100"), "360100")
    assert [r["mode"] for r in d["rows"]] == list(df["mode"]) and len(d["rows"]) >= 3
    for r, (_, x) in zip(d["rows"], df.iterrows(), strict=True):
        assert r["deficit"] == pytest.approx(x.deficit) and r["treasury_topups"] == pytest.approx(x.treasury_topups)
    # a county analyst: no city to compare by default, and the city itself is refused
    assert client.get("/api/v1/pooling", headers=tokens["county"]).json() == {
        "cities": [], "city": None, "scheme": "resident", "rows": []}
    _error(client.get("/api/v1/pooling", params={"city": "360100"}, headers=tokens["county"]), 403, "region_forbidden")
    # a county code is not a city
    _error(client.get("/api/v1/pooling", params={"city": "360102"}, headers=tokens["analyst"]), 422, "validation_error")


# -- supervision cases -------------------------------------------------------------------------------
def test_case_queue_is_limited_to_the_supervisors_regions(client, tokens):
    everything = client.get("/api/v1/cases", params={"limit": 10000}, headers=tokens["supervisor"]).json()
    regions = {r["region_code"] for r in everything["rows"]}
    assert len(regions) > 1 and everything["total"] == len(everything["rows"])
    mine = client.get("/api/v1/cases", params={"limit": 10000}, headers=tokens["county_sup"]).json()["rows"]
    assert mine and {r["region_code"] for r in mine} == {"360102"}
    assert len(mine) == sum(r["region_code"] == "360102" for r in everything["rows"])
    other = next(r["case_id"] for r in everything["rows"] if r["region_code"] == OTHER_COUNTY)
    # another county's case answers as an unknown one does (404, no region named): no enumeration of case ids
    theirs = client.get(f"/api/v1/cases/{other}", headers=tokens["county_sup"])
    nope = client.get("/api/v1/cases/P:NOPE", headers=tokens["county_sup"])
    _error(theirs, 404, "case_not_found")
    _error(nope, 404, "case_not_found")
    assert theirs.json()["error"]["message"].replace(other, "X") == nope.json()["error"]["message"].replace("P:NOPE", "X")
    assert OTHER_COUNTY not in theirs.text.replace(other, "")
    _error(client.post(f"/api/v1/cases/{other}/move", json={"to": "in_review"}, headers=tokens["county_sup"]), 404,
           "case_not_found")
    _error(client.get("/api/v1/cases", headers=tokens["county"]), 403, "forbidden")  # analysts do not work cases
    _error(client.get("/api/v1/cases/P:NOPE", headers=tokens["supervisor"]), 404, "case_not_found")
    login(client, "county_sup")
    assert client.get(f"/cases/{other}").status_code == 404


def test_working_a_case_through_the_api_is_audited(client, tokens):
    h = tokens["county_sup"]
    case_id = client.get("/api/v1/cases", params={"status": "open", "limit": 1}, headers=h).json()["rows"][0]["case_id"]
    r = client.post(f"/api/v1/cases/{case_id}/move", json={"to": "in_review", "note": "records requested"}, headers=h)
    assert r.status_code == 200 and r.json()["case"]["status"] == "in_review"
    _error(client.post(f"/api/v1/cases/{case_id}/move", json={"to": "recovered", "amount": 10}, headers=h), 422,
           "case_invalid")  # in review -> recovered skips confirmation
    # amounts the store refuses come back as 422 case_invalid, worded for the API (no command-line flag)
    suspected = client.get(f"/api/v1/cases/{case_id}", headers=h).json()["case"]["suspected_amount"]
    for body in ({"to": "confirmed"}, {"to": "confirmed", "amount": suspected + 100},
                 {"to": "dismissed", "amount": 5}):
        r = client.post(f"/api/v1/cases/{case_id}/move", json=body, headers=h)
        _error(r, 422, "case_invalid")
        assert "--" not in r.json()["error"]["message"], r.text
    r = client.post(f"/api/v1/cases/{case_id}/move", json={"to": "confirmed", "amount": 1234.5}, headers=h)
    assert r.json()["case"]["confirmed_amount"] == 1234.5
    r = client.post(f"/api/v1/cases/{case_id}/move", json={"to": "recovered", "amount": 2000}, headers=h)
    _error(r, 422, "case_invalid")  # more than the 1,234.50 confirmed
    r = client.post(f"/api/v1/cases/{case_id}/move", json={"to": "in_review"}, headers=h)
    r = client.post(f"/api/v1/cases/{case_id}/move", json={"to": "confirmed", "amount": suspected + 100,
                                                            "over_suspected": True}, headers=h)
    _error(r, 422, "case_invalid")  # above the suspected amount needs a note saying why
    r = client.post(f"/api/v1/cases/{case_id}/move", json={"to": "confirmed", "amount": suspected + 100,
                                                            "over_suspected": True, "note": "more found"}, headers=h)
    assert r.status_code == 200 and r.json()["case"]["confirmed_amount"] == pytest.approx(suspected + 100)
    r = client.post(f"/api/v1/cases/{case_id}/move", json={"to": "in_review"}, headers=h)
    r = client.post(f"/api/v1/cases/{case_id}/move", json={"to": "confirmed", "amount": 1234.5}, headers=h)
    assert r.json()["case"]["confirmed_amount"] == 1234.5
    detail = client.get(f"/api/v1/cases/{case_id}", headers=h).json()
    moves = [e for e in detail["history"] if e["action"] == "move"]
    assert [(e["from_status"], e["to_status"], e["actor"]) for e in moves] == [
        ("open", "in_review", "county_sup"), ("in_review", "confirmed", "county_sup"),
        ("confirmed", "in_review", "county_sup"), ("in_review", "confirmed", "county_sup"),
        ("confirmed", "in_review", "county_sup"), ("in_review", "confirmed", "county_sup")]
    assert moves[0]["note"] == "records requested" and detail["moves"] == ["recovered", "in_review"]
    audit = client.get("/api/v1/audit", params={"action": "case_move", "actor": "county_sup"},
                       headers=tokens["admin"]).json()["rows"]
    assert len(audit) == 6 and case_id in audit[0]["record_key"]
    # with the session cookie (no bearer token) the API wants the CSRF token in a header
    login(client, "county_sup")
    _error(client.post(f"/api/v1/cases/{case_id}/move", json={"to": "in_review"}), 403, "csrf_failed")


def test_working_a_case_in_the_browser_form(client):
    login(client, "county_sup")
    page = client.get("/cases", params={"status": "open"})
    case_id = re.search(r'class="case-link" href="/cases/([^"]+)"', page.text).group(1)
    page = client.get(f"/cases/{case_id}")
    r = client.post(f"/cases/{case_id}/move", data={"csrf_token": "forged", "to": "in_review"})
    assert r.status_code == 403
    r = client.post(f"/cases/{case_id}/move", data={"csrf_token": csrf_of(page.text), "to": "in_review",
                                                    "note": "现场核查"})
    assert r.status_code == 200 and "现场核查" in r.text and 'id="case-state">核查中' in r.text
    r = client.post(f"/cases/{case_id}/move", data={"csrf_token": csrf_of(page.text), "to": "recovered", "amount": "1"})
    assert r.status_code == 422 and "只能转为" in r.text  # the store's refusal, in the page's language
    # the store's amount rules, shown on the form's page (no command-line flag in the message)
    r = client.post(f"/cases/{case_id}/move", data={"csrf_token": csrf_of(page.text), "to": "confirmed"})
    error = re.search(r'id="move-error">(.*?)</p>', r.text, re.S).group(1)
    assert r.status_code == 422 and "该案件不能这样办理" in error and "确认金额" in error and "--" not in error
    r = client.post(f"/cases/{case_id}/move", data={"csrf_token": csrf_of(page.text), "to": "confirmed",
                                                    "amount": "十元"})
    assert r.status_code == 422 and "不是数字" in r.text and 'id="case-state">核查中' in r.text


# -- imports and audit -------------------------------------------------------------------------------
def test_import_through_the_api_validates_like_the_cli_and_is_audited(web, client, tokens):
    bad = "region_code,year,sex,age_band,persons,source\n360102,2024,F,0-4,lots,test\n"
    r = client.post("/api/v1/imports", headers=tokens["admin"],
                    files={"files": ("population.csv", bad.encode(), "text/csv")})
    _error(r, 422, "import_failed")
    issue = r.json()["error"]["details"][0]
    assert issue["file"] == "population.csv" and issue["row"] == 2 and issue["column"] == "persons"
    good = "region_code,year,sex,age_band,persons,source\n360102,2031,F,0-4,123,web test\n"
    r = client.post("/api/v1/imports", headers=tokens["admin"],
                    files={"files": ("population.csv", good.encode(), "text/csv")})
    assert r.status_code == 200, r.text
    assert r.json()["files"][0]["table"] == "population" and r.json()["files"][0]["inserted"] == 1
    batches = client.get("/api/v1/imports", headers=tokens["admin"]).json()["rows"]
    assert batches[0]["actor"] == "admin" and batches[0]["table_name"] == "population"
    audit = client.get("/api/v1/audit", params={"action": "import", "limit": 5}, headers=tokens["admin"]).json()
    assert audit["rows"][0]["actor"] == "admin"
    _error(client.post("/api/v1/imports", headers=tokens["analyst"],
                       files={"files": ("population.csv", good.encode(), "text/csv")}), 403, "forbidden")


def test_browser_import_needs_csrf_and_shows_the_failure(client):
    login(client, "admin")
    page = client.get("/imports")
    bad = b"region_code,year,sex,age_band,persons,source\n360102,2024,F,0-4,-5,test\n"
    r = client.post("/imports", files={"files": ("population.csv", bad, "text/csv")}, data={"csrf_token": "x"})
    assert r.status_code == 403
    r = client.post("/imports", files={"files": ("population.csv", bad, "text/csv")},
                    data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 422 and 'id="import-failed"' in r.text and "persons" in r.text
    # a refusal the importer gives a catalogue key for is said in the page's language (not parsed from English)
    r = client.post("/imports", files={"files": ("notes.txt", b"x", "text/plain")},
                    data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 422 and "不支持的文件类型" in r.text and "unsupported file type" not in r.text


def test_audit_log_page_and_role_limits(web, client, tokens):
    login(client, "admin")
    r = client.get("/audit", params={"action": "user_add"})
    assert r.status_code == 200 and "user_add" in r.text and "county" in r.text
    _error(client.get("/api/v1/audit", headers=tokens["analyst"]), 403, "forbidden")
    viewer = TestClient(web[0])
    login(viewer, "viewer")
    page = viewer.get("/")
    assert 'href="/imports"' not in page.text and 'href="/audit"' not in page.text
    assert viewer.get("/imports").status_code == 403


def test_admin_adds_and_disables_a_user_in_the_browser(client, tokens):
    login(client, "admin")
    page = client.get("/users")
    r = client.post("/users", data={"csrf_token": csrf_of(page.text), "username": "zhou", "password": "short",
                                    "role": "viewer", "region_code": "360102"})
    assert r.status_code == 422 and "密码太短" in r.text and "too short" not in r.text  # the page's language
    r = client.post("/users", data={"csrf_token": csrf_of(page.text), "username": "zhou",
                                    "password": "a good long password", "role": "viewer", "region_code": "360102"})
    assert r.status_code == 200 and "zhou" in r.text
    tok = client.post("/api/v1/auth/token", json={"username": "zhou", "password": "a good long password"}).json()
    h = {"Authorization": f"Bearer {tok['token']}"}
    assert client.get("/api/v1/me", headers=h).json()["region_code"] == "360102"
    r = client.post("/users/zhou/disable", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200
    _error(client.get("/api/v1/me", headers=h), 401, "invalid_token")


# -- language ----------------------------------------------------------------------------------------
def test_language_switch(client):
    login(client, "county")
    assert "基金运行总览" in client.get("/").text
    r = client.get("/lang/en", params={"next": "/region/360102"})
    assert r.url.path == "/region/360102" and "Accumulated balance" in r.text and "Donghu" in r.text
    assert client.get("/lang/zh", params={"next": "https://evil.example"}).url.path == "/"


def test_claim_explanation_follows_the_language(web, client):
    login(client, "admin")
    url = "/claims/explain?claim_id=" + _claim_of(web, "360102")
    client.get("/lang/zh")
    assert "一、基本医疗保险统筹基金" in client.get(url).text and "统筹基金支付 = " in client.get(url).text
    client.get("/lang/en")
    assert "1. Basic pooled fund" in client.get(url).text


def test_every_page_renders_in_both_languages_with_no_missing_label(web, client):
    login(client, "admin")
    case_id = client.get("/api/v1/cases", params={"limit": 1}).json()["rows"][0]["case_id"]
    pages = ["/", "/region/360100", "/region/360102?scheme=employee&all_years=true", "/projection", "/pooling",
             "/disparity", "/claims/explain?claim_id=" + _claim_of(web, "360102"), "/cases", f"/cases/{case_id}",
             "/policies/compare", "/imports", "/audit", "/users", "/docs"]
    for lang, word in (("zh", "退出"), ("en", "Log out")):
        client.get(f"/lang/{lang}")
        for p in pages:
            r = client.get(p)
            assert r.status_code == 200, (lang, p, r.status_code)
            assert "⟨" not in r.text, (lang, p, r.text[r.text.index("⟨") - 80:r.text.index("⟨") + 40])
            assert word in r.text, (lang, p)


def test_catalogues_have_the_same_keys_and_placeholders():
    cats = {lang: catalogue(lang) for lang in LANGS}
    keys = {lang: set(c) for lang, c in cats.items()}
    assert keys["zh"] == keys["en"], keys["zh"] ^ keys["en"]
    ph = re.compile(r"\{(\w+)\}")
    for k in keys["zh"]:
        assert set(ph.findall(cats["zh"][k])) == set(ph.findall(cats["en"][k])), k


def test_every_catalogue_key_used_by_the_templates_exists():
    from mifund.ledger.warnings import RULE_IDS
    from mifund.users import ROLES
    from mifund.web.nav import REGISTRY

    cat = catalogue("en")
    used = set()
    for f in resources.files("mifund.web").joinpath("templates").iterdir():
        used |= set(re.findall(r"\bt\('([a-z_]+)'\)", f.read_text(encoding="utf-8")))
    used |= {it.key for it in REGISTRY}
    used |= {f"rule_{r}" for r in RULE_IDS} | {f"role_{r}" for r in ROLES}
    used |= {f"level_{lv}" for lv in ("red", "orange", "yellow", "blue", "none")}
    used |= {f"scheme_{s}" for s in ("total", "employee", "resident")}
    used |= {f"fund_{s}" for s in ("total", "pooled", "account", "combined")}
    used |= {f"status_{s}" for s in ("open", "in_review", "confirmed", "dismissed", "recovered")}
    used |= {f"entity_{s}" for s in ("provider", "person")}
    assert used - set(cat) == set()


def test_openapi_and_docs_page(client):
    spec = client.get("/openapi.json").json()
    assert "/api/v1/indicators" in spec["paths"] and "/api/v1/claims/{claim_id}/explanation" in spec["paths"]
    r = client.get("/docs")
    assert r.status_code == 200 and "/api/v1/warnings" in r.text and "cdn" not in r.text.lower()
    # every POST with a body shows its fields (from the schema), headers in the page's language
    ops = re.split(r'<section class="card op">', r.text)[1:]

    def op(method, path):
        return next(o for o in ops if f'<span class="method">{method}</span> <code>{path}</code>' in o)

    for method, path, fields in (("POST", "/api/v1/auth/token", ["username", "password", "days"]),
                                 ("POST", "/api/v1/cases/{case_id}/move", ["to", "amount", "note", "over_suspected"]),
                                 ("POST", "/api/v1/imports", ["files", "table", "unit", "strict"])):
        body = op(method, path).split('class="data request-body"')[1].split("</table>")[0]
        assert [f for f in fields if f"<code>{f}</code>" not in body] == [], (path, body)
    assert "multipart/form-data" in op("POST", "/api/v1/imports")
    client.get("/lang/zh")
    zh = client.get("/docs").text
    assert "<th>in</th>" not in zh and "<th></th>" not in zh and "<th>位置</th>" in zh and "<th>说明</th>" in zh
    assert "请求体" in zh and "查询参数" in zh


# -- one language per page ---------------------------------------------------------------------------
CJK = re.compile(r"[\u4e00-\u9fff]")


def _visible(html: str) -> str:
    """The text a reader sees: no scripts, no folded <details> body, no tags, no title attributes."""
    html = re.sub(r"<script.*?</script>|<details.*?</details>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _table(html: str, table_id: str) -> str:
    return _visible(re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S).group(0))


def test_cases_show_rule_names_and_translated_events(client):
    login(client, "supervisor")
    client.get("/lang/zh")
    page = client.get("/cases", params={"status": "all"}).text
    table = _table(page, "case-table")
    # rule names from the rule files (name_zh), not ids or the stored JSON list
    assert "分解住院" in table and "split_admission" not in table and '["' not in table and "long_stay" not in table
    case_id = re.search(r'class="case-link" href="/cases/([^"]+)"', page).group(1)
    case = client.get(f"/cases/{case_id}").text
    history = _table(case, "history-table")
    assert "立案" in history and "opened" not in history
    assert not re.search(r"\b(split_admission|long_stay|duplicate_billing)\b", _visible(case))
    client.get("/lang/en")
    case = client.get(f"/cases/{case_id}").text
    assert "Opened" in _table(case, "history-table")


def test_policy_comparison_page_translates_and_adds_up(client):
    login(client, "analyst")
    client.get("/lang/en")
    page = client.get("/policies/compare", params={"amounts": "2000", "level": 2}).text
    text = _visible(page)
    assert "in_service" not in text and "resident_minor" not in text and "In-service employees" in text
    assert "/work/" not in page and "policies/" not in text  # the set is named, never the server's directory
    assert "Nanchang Employee" in text and not CJK.search(_table(page, "compare-table"))
    legend = [s["name"] for s in __import__("json").loads(
        re.search(r'id="compare-data">(.*?)</script>', page, re.S).group(1))["chart"]["series"]]
    assert legend and not any(re.search(r"^\d{6} |\bL\d\b|_", n) for n in legend), legend
    assert "Nanchang · Resident minors" in legend
    # each row: pooled + catastrophic + assistance + account + out of pocket = bill (2,000 yuan: employee
    # 1,350 + 0 + 0 + 325 + 325; resident 1,280 + 0 + 0 + 0 + 720)
    body = re.search(r'id="compare-table".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        nums = [float(x.replace(",", "")) for x in re.findall(r'<td class="num">([\d,.]+)</td>', row)]
        bill, _deductible, *parts = nums
        assert sum(parts) == pytest.approx(bill, abs=0.011), row
    client.get("/lang/zh")
    text = _visible(client.get("/policies/compare", params={"amounts": "2000"}).text)
    assert "南昌市职工基本医疗保险" in text and "在职职工" in text


def test_english_pages_name_regions_in_english(client):
    login(client, "admin")
    client.get("/lang/en")
    overview = client.get("/").text
    warnings = re.search(r'<table class="data warnings">.*?</table>', overview, re.S).group(0)
    names = re.findall(r'href="/region/\d+">([^<]*)</a>', warnings)  # (the sources may quote a Chinese term)
    assert names and not any(CJK.search(n) for n in names), names
    disparity = client.get("/disparity").text
    regions = re.search(r"<h2>[^<]*</h2><table class=\"data\">.*?</table>", disparity, re.S).group(0)
    assert not CJK.search(_visible(regions))
    client.get("/lang/zh")
    warnings = re.search(r'<table class="data warnings">.*?</table>', client.get("/").text, re.S).group(0)
    assert "进贤县" in warnings or "南昌" in warnings


def test_error_pages_speak_the_pages_language_once(client):
    login(client, "supervisor")
    client.get("/lang/zh")
    r = client.get("/cases/nonexist")
    assert r.status_code == 404
    text = _visible(r.text)
    assert "没有该案件" in text and "no case" not in text  # the server's English detail is folded away
    client.get("/lang/en")
    r = client.get("/cases/nonexist")
    text = _visible(r.text)
    assert text.count("nonexist") == 1 and "No such case" in text
    r = client.get("/region/360100", params={"scheme": "nope"})  # a code whose catalogue line differs
    assert r.status_code == 422 and _visible(r.text).count("scheme:") == 1


def test_claim_explanation_note_in_chinese_says_nothing_of_english(web, client):
    login(client, "analyst")
    client.get("/lang/zh")
    page = client.get("/claims/explain", params={"claim_id": _claim_of(web, "360102")}).text
    assert "英文" not in page and "起付线" in page
    page = client.get("/claims/explain", params={"claim_id": "NOPE"}).text
    assert "没有该结算单" in _visible(page) and "no claim" not in page
