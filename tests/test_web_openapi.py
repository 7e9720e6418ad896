"""The API's documented responses: every GET operation of /openapi.json declares its 200 JSON answer field
by field (each with a description, which names the unit), and the real answers on the demo warehouse
validate against those declarations — with no field the document does not name (the response models
forbid undeclared fields: additionalProperties false)."""

from __future__ import annotations

import re

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from web_helpers import PASSWORD, ensure_cases, ensure_projection, fast_hashing, web_warehouse

# GET operations without declared answers: none (the tests below insist that it stays empty)
UNDOCUMENTED_ELSEWHERE: set[str] = set()


@pytest.fixture(scope="module")
def api(demo_small, tmp_path_factory):
    from mifund.web.app import create_app
    from mifund.web.services import Services
    from mifund.web.settings import WebSettings

    with pytest.MonkeyPatch.context() as mp:
        fast_hashing(mp)
        db = web_warehouse(demo_small.db, tmp_path_factory.mktemp("openapi"))
        assert ensure_projection(db) > 0
        assert ensure_cases(db, demo_small.data_dir, db.parent / "supervision") > 0
        settings = WebSettings(db=db, login_fail_per_user=10**6, login_fail_per_client=10**6)
        services = Services(settings)
        with TestClient(create_app(settings, services)) as c:
            tokens = {}
            for name in ("admin", "county"):
                r = c.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
                tokens[name] = {"Authorization": f"Bearer {r.json()['token']}"}
            yield c, tokens, db
        services.close()


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _undescribed(spec: dict, schema: dict, where: str, seen: set) -> list[str]:
    """Paths of the properties (nested objects and array items included) without a description, and of
    objects declared without any property."""
    schema = _resolve(spec, schema)
    out: list[str] = []
    for alt in schema.get("anyOf", []) + schema.get("oneOf", []):
        out += _undescribed(spec, alt, where, seen)
    if "items" in schema:
        out += _undescribed(spec, schema["items"], f"{where}[]", seen)
    if schema.get("type") == "object" or "properties" in schema:
        key = id(schema)
        if key in seen:  # a recursive model (the region tree's children)
            return out
        seen.add(key)
        props = schema.get("properties", {})
        if not props and not isinstance(schema.get("additionalProperties"), dict):
            out.append(f"{where}: an object without declared properties")
        for name, prop in props.items():
            if not (prop.get("description") or _resolve(spec, prop).get("description")):
                out.append(f"{where}.{name}")
            out += _undescribed(spec, prop, f"{where}.{name}", seen)
    return out


def _json_200(spec: dict, path: str) -> dict | None:
    return spec["paths"][path]["get"].get("responses", {}).get("200", {}).get("content", {}).get(
        "application/json", {}).get("schema")


def test_every_get_operation_documents_each_field_of_its_answer(api):
    c, _, _ = api
    spec = c.get("/openapi.json").json()
    gets = [p for p, ops in spec["paths"].items() if p.startswith("/api/v1/") and "get" in ops]
    assert len(gets) >= 13
    bad = {}
    for path in gets:
        schema = _json_200(spec, path)
        if not schema or not _resolve(spec, schema).get("properties"):
            bad[path] = ["no declared fields"]
            continue
        if missing := _undescribed(spec, schema, path, set()):
            bad[path] = missing
    assert set(bad) == UNDOCUMENTED_ELSEWHERE, {p: v for p, v in bad.items() if p not in UNDOCUMENTED_ELSEWHERE}
    # the tabular ones still document their downloads beside the JSON
    for path in ("/api/v1/indicators", "/api/v1/warnings", "/api/v1/projections", "/api/v1/policies/compare"):
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        assert {"application/json", "text/csv"} <= set(content), path
    # units are named where a figure has one
    rows = spec["components"]["schemas"]["IndicatorRow"]["properties"]
    assert "yuan" in rows["balance_end"]["description"] and "months" in rows["payable_months"]["description"]
    assert "ratio" in rows["insured_rate"]["description"] and "persons" in rows["insured"]["description"]
    assert rows["insured"]["anyOf"][0]["type"] == "integer"
    # case statuses (built from mifund.supervision.store.STATUSES): all five named, in the answers and the filter
    five = ["open", "in_review", "confirmed", "dismissed", "recovered"]
    schemas = spec["components"]["schemas"]
    assert schemas["CaseRow"]["properties"]["status"]["enum"] == five
    assert schemas["CaseDetail"]["properties"]["moves"]["items"]["enum"] == five
    status = next(p for p in spec["paths"]["/api/v1/cases"]["get"]["parameters"] if p["name"] == "status")
    assert status["schema"]["anyOf"][0]["items"]["enum"] == five


def _claim(c) -> str:
    with c.app.state.services.locked() as wh:  # the app holds the file: its own connection
        s = wh.table("settlement")
        return wh.to_pandas(s.select("claim_id").order_by("claim_id").limit(1)).claim_id.iloc[0]


def _worked_case(c, tokens) -> str:
    """The queue's first case, moved through the whole workflow (a history with amounts and statuses)."""
    case_id = c.get("/api/v1/cases?limit=1", headers=tokens["admin"]).json()["rows"][0]["case_id"]
    for body in ({"to": "in_review", "note": "records requested"}, {"to": "confirmed", "amount": 100.5},
                 {"to": "recovered", "amount": 40}):
        r = c.post(f"/api/v1/cases/{case_id}/move", json=body, headers=tokens["admin"])
        assert r.status_code == 200, r.text
    return case_id


def test_real_answers_validate_against_their_declared_schema(api):
    c, tokens, _ = api
    spec = c.get("/openapi.json").json()
    claim = _claim(c)
    case_id = _worked_case(c, tokens)
    requests = [
        ("admin", "/api/v1/me"), ("admin", "/api/v1/auth/tokens"), ("admin", "/api/v1/regions"), ("county", "/api/v1/regions?year=2016"),
        ("admin", "/api/v1/regions/360102/series"), ("admin", "/api/v1/regions/360100/series?scheme=resident"),
        ("admin", "/api/v1/regions/360100/series?scheme=employee"), ("admin", "/api/v1/indicators?year=2024"),
        ("county", "/api/v1/indicators"), ("admin", "/api/v1/warnings"), ("admin", "/api/v1/projections/runs"),
        ("admin", "/api/v1/projections?region=360100"), ("admin", "/api/v1/policies/compare"),
        ("admin", "/api/v1/audit"), ("admin", "/api/v1/imports"), ("admin", f"/api/v1/claims/{claim}/explanation"),
        ("admin", f"/api/v1/claims/{claim}/explanation?lang=zh"), ("admin", "/api/v1/disparity"),
        ("admin", "/api/v1/disparity?indicator=reimbursement_ratio&weight=equal&scheme=employee"),
        ("county", "/api/v1/disparity"), ("admin", "/api/v1/pooling"), ("admin", "/api/v1/pooling?scheme=employee"),
        ("county", "/api/v1/pooling"), ("admin", "/api/v1/cases"), ("admin", "/api/v1/cases?status=open&region=360102"),
        ("admin", f"/api/v1/cases/{case_id}"), ("admin", "/api/v1/cases?status=recovered"),
    ]
    templates = {p: re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$") for p in spec["paths"]}
    covered, errors = set(), {}
    for who, url in requests:
        r = c.get(url, headers=tokens[who])
        assert r.status_code == 200, (url, r.text)
        path = next(p for p, rx in templates.items() if rx.match(url.split("?")[0]))
        covered.add(path)
        validator = jsonschema_rs.Draft202012Validator({**_json_200(spec, path), "components": spec["components"]})
        if found := [f"{e.instance_path}: {e.message}"[:300] for e in validator.iter_errors(r.json())][:5]:
            errors[url] = found
        if who == "county" and url == "/api/v1/disparity":
            assert r.json() == {"enough": False}  # nothing else, not a row of nulls
    assert errors == {}
    gets = {p for p, ops in spec["paths"].items() if p.startswith("/api/v1/") and "get" in ops}
    assert gets - covered == UNDOCUMENTED_ELSEWHERE  # a new GET operation gets a request here


def test_an_undeclared_field_is_caught_not_passed_through_undocumented():
    """The models refuse a field they do not declare (so the tests above catch a service that adds one), and
    the validator used above does too."""
    from pydantic import ValidationError

    from mifund.web.api.schemas import RegionSeries

    ok = {"region_code": "360102", "scheme": "total", "fund": "total", "rows": []}
    RegionSeries.model_validate(ok)
    with pytest.raises(ValidationError):
        RegionSeries.model_validate({**ok, "surprise": 1})
    assert RegionSeries.model_json_schema()["additionalProperties"] is False


def test_the_case_answer_goes_through_its_model_unchanged(api):
    """The case endpoint answers through its response model: the case row reads exactly as the queue's
    row (counts stay whole numbers, money stays to the fen), and the history names the moves."""
    c, tokens, _ = api
    queue = c.get("/api/v1/cases", params={"limit": 10000}, headers=tokens["admin"]).json()
    assert queue["total"] == queue["count"] > 0
    row = queue["rows"][0]
    one = c.get(f"/api/v1/cases/{row['case_id']}", headers=tokens["admin"]).json()
    assert one["case"] == {k: v for k, v in row.items() if k not in ("rank", "priority")}
    assert list(one["case"]) == [k for k in row if k not in ("rank", "priority")]  # same order too
    assert isinstance(one["case"]["hits"], int) and len(one["hits"]) == one["case"]["hits"]
    assert one["history"][0]["action"] == "opened" and one["moves"]
