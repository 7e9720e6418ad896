"""Review fixes of the web application: a stored settlement that no longer holds says so (after an import
replaced the claim); API tokens are listed and revoked from the web (one's own; an administrator's for the
users of its regions), and a user changes its own password there (audited)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mifund.storage import Warehouse
from mifund.users import add_user
from mifund.web.app import create_app
from mifund.web.services import Services
from mifund.web.settings import WebSettings
from web_helpers import PASSWORD, csrf_of, fast_hashing, login, web_warehouse

COUNTY, OTHER = "360102", "360103"


@pytest.fixture(scope="module")
def web(demo_small, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        fast_hashing(mp)
        db = web_warehouse(demo_small.db, tmp_path_factory.mktemp("web_fixes"))
        with Warehouse(db) as wh:
            add_user(wh, "cadmin", PASSWORD, role="admin", region_code=COUNTY, actor="test")
            add_user(wh, "other_analyst", PASSWORD, role="analyst", region_code=OTHER, actor="test")
            add_user(wh, "pwuser", PASSWORD, role="viewer", region_code=COUNTY, actor="test")
        settings = WebSettings(db=db, login_fail_per_user=1000, login_fail_per_client=1000)
        services = Services(settings)
        app = create_app(settings, services)
        with TestClient(app) as c:
            yield app, c
        services.close()


def _token(c, name: str) -> tuple[str, dict]:
    r = c.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD, "name": "review"})
    assert r.status_code == 200, r.text
    tok = r.json()["token"]
    return tok, {"Authorization": f"Bearer {tok}"}


# -- 4. a stored settlement older than the claim's data ----------------------------------------------
def test_explanation_says_the_stored_settlement_is_stale_after_an_import_replaced_the_claim(web):
    app, c = web
    svc = app.state.services
    _, h = _token(c, "admin")
    with svc.locked() as wh:  # a 2024 inpatient claim of 东湖区 with a pooled-fund payment
        cl, st = wh.table("claims"), wh.table("settlement")
        j = cl.join(st, "claim_id").filter((st.pooled_fund_paid > 1000) & (cl.visit_type == "inpatient"))
        claim = wh.to_pandas(j.select(*cl.columns).order_by("claim_id").limit(1)).iloc[0]
    cid = claim["claim_id"]
    before = c.get(f"/api/v1/claims/{cid}/explanation", headers=h).json()
    # straight after the demo's settlement run the stored figures are the recomputation's, to the fen
    assert before["stored_stale"] is False and before["stored_differs"] == []
    assert before["stored_run_id"] and before["stored_run_started"]
    for k, v in before["recomputed"].items():
        assert round(before["stored"][k] * 100) == round(v * 100), k
    assert before["claim_replaced_at"] is None

    # the claim re-imported with its whole policy-scope amount moved to self-paid (total unchanged): with
    # nothing left in the policy scope the pooled fund pays 0 now (by hand: every band applies its rate to
    # the part of the scope amount above the deductible, here 0), and the amounts still add up to the total
    row = claim.copy()
    row["self_pay_amount"] = float(row["self_pay_amount"]) + float(row["policy_scope_amount"])
    row["policy_scope_amount"] = 0.0
    csv = row.to_frame().T.to_csv(index=False, date_format="%Y-%m-%d").encode()
    r = c.post("/api/v1/imports", headers=h, files={"files": ("claims.csv", csv, "text/csv")})
    assert r.status_code == 200, r.text
    assert r.json()["files"][0]["replaced"] == 1

    after = c.get(f"/api/v1/claims/{cid}/explanation", headers=h).json()
    assert after["stored"] == before["stored"]  # the stored settlement itself is untouched
    assert after["stored_stale"] is True and "pooled_fund_paid" in after["stored_differs"]
    assert after["recomputed"]["pooled_fund_paid"] == 0
    now = after["recomputed"]
    assert round(float(claim["total_amount"]) * 100) == round(100 * (now["pooled_fund_paid"] + now["catastrophic_paid"]
                                                                     + now["assistance_paid"] + now["account_paid"]
                                                                     + now["out_of_pocket"]))
    assert after["claim_replaced_at"] and after["claim_replaced_at"] > after["stored_run_started"]
    # the explanation's last line is the recomputation's out of pocket, not the stored one
    assert after["lines"][-1].endswith(f"{now['out_of_pocket']:,.2f}")

    # the page says it, in both languages, with the stored figure formatted like the lines
    login(c, "admin")
    page = c.get("/claims/explain", params={"claim_id": cid}).text
    assert 'id="stored-stale"' in page and "已过期" in page and f"{before['stored']['pooled_fund_paid']:,.2f}" in page
    c.get("/lang/en")
    page = c.get("/claims/explain", params={"claim_id": cid}).text
    assert "Out of date" in page and "An import replaced this claim" in page
    c.get("/lang/zh")
    c.cookies.clear()


# -- 5. tokens revoked from the web; one's own password ----------------------------------------------
def test_a_user_revokes_its_own_token_through_the_api_and_it_stops_at_once(web):
    _, c = web
    tok, h = _token(c, "county")
    assert c.get("/api/v1/me", headers=h).status_code == 200  # now in the server's token cache too
    listed = c.get("/api/v1/auth/tokens", headers=h).json()["rows"]
    assert {r["username"] for r in listed} == {"county"} and tok[:10] in [r["token_prefix"] for r in listed]
    r = c.delete(f"/api/v1/auth/tokens/{tok[:10]}", headers=h)
    assert r.status_code == 200 and r.json() == {"revoked": 1}, r.text
    assert c.get("/api/v1/me", headers=h).status_code == 401
    with web[0].state.services.locked() as wh:
        a = wh.table("audit_log")
        rows = wh.to_pandas(a.filter((a.action == "token_revoke") & (a.actor == "county")))
    assert len(rows) == 1 and tok[:10] in rows.record_key.iloc[0]


def test_an_administrator_revokes_tokens_of_its_regions_users_only(web):
    _, c = web
    mine, hm = _token(c, "county")           # analyst of 360102: administered by cadmin
    theirs, ht = _token(c, "other_analyst")  # analyst of 360103: not cadmin's
    _, hc = _token(c, "cadmin")
    listed = {r["username"] for r in c.get("/api/v1/auth/tokens", headers=hc).json()["rows"]}
    assert "county" in listed and "other_analyst" not in listed
    # another county's user's token answers as an unknown one, and keeps working
    r = c.delete(f"/api/v1/auth/tokens/{theirs[:10]}", params={"username": "other_analyst"}, headers=hc)
    assert r.status_code == 404 and r.json()["error"]["code"] == "token_not_found"
    assert c.get("/api/v1/me", headers=ht).status_code == 200
    # a non-administrator cannot revoke another user's token either
    r = c.delete(f"/api/v1/auth/tokens/{theirs[:10]}", params={"username": "other_analyst"}, headers=hm)
    assert r.status_code == 404
    # through the Users page (a form with the session's CSRF token)
    login(c, "cadmin")
    page = c.get("/users")
    assert page.status_code == 200 and mine[:10] in page.text and theirs[:10] not in page.text
    r = c.post("/tokens/revoke", data={"csrf_token": "x", "prefix": mine[:10], "username": "county",
                                       "back": "/users"})
    assert r.status_code == 403  # CSRF
    r = c.post("/tokens/revoke", data={"csrf_token": csrf_of(page.text), "prefix": mine[:10], "username": "county",
                                       "back": "/users"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/users"
    assert c.get("/api/v1/me", headers=hm).status_code == 401
    assert c.get("/api/v1/me", headers=ht).status_code == 200
    c.cookies.clear()


def test_account_page_lists_own_tokens_and_changes_the_password_audited(web):
    app, c = web
    tok, h = _token(c, "pwuser")
    login(c, "pwuser")
    page = c.get("/account")
    assert page.status_code == 200 and tok[:10] in page.text and 'href="/account"' in page.text
    csrf = csrf_of(page.text)
    new = "a new long passphrase"
    r = c.post("/account/password", data={"csrf_token": csrf, "current": "wrong password!", "new": new,
                                          "confirm": new})
    assert r.status_code == 422 and "当前密码不正确" in r.text
    r = c.post("/account/password", data={"csrf_token": csrf, "current": PASSWORD, "new": " " * 12,
                                          "confirm": " " * 12})
    assert r.status_code == 422 and "不能全为空格" in r.text
    r = c.post("/account/password", data={"csrf_token": csrf, "current": PASSWORD, "new": new, "confirm": new},
               follow_redirects=False)
    assert r.status_code == 303
    c.cookies.clear()
    assert c.post("/api/v1/auth/token", json={"username": "pwuser", "password": PASSWORD}).status_code == 401
    assert c.post("/api/v1/auth/token", json={"username": "pwuser", "password": new}).status_code == 200
    with app.state.services.locked() as wh:
        a = wh.table("audit_log")
        rows = wh.to_pandas(a.filter((a.action == "password_set") & (a.actor == "pwuser")))
    assert len(rows) == 1 and new not in str(rows.to_dict())
    # the revoke button on the account page
    login(c, "pwuser", new)
    page = c.get("/account")
    r = c.post("/tokens/revoke", data={"csrf_token": csrf_of(page.text), "prefix": tok[:10]})
    assert r.status_code == 200 and 'id="account-done"' in r.text
    assert c.get("/api/v1/me", headers=h).status_code == 401
    c.cookies.clear()


# -- 9. every API parameter is documented -------------------------------------------------------------
def test_every_api_parameter_has_a_description(web):
    _, c = web
    spec = c.get("/openapi.json").json()
    bare = [(m, p, prm["name"]) for p, ops in spec["paths"].items() for m, op in ops.items()
            for prm in op.get("parameters", []) if not prm.get("description")]
    assert bare == []
    # a region filter says whether it covers the regions below
    warn = next(prm for prm in spec["paths"]["/api/v1/warnings"]["get"]["parameters"] if prm["name"] == "region")
    assert "below" in warn["description"]
