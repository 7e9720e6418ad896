"""The /docs page (the API reference rendered from /openapi.json) shows what each operation answers: the
fields of its 200 JSON answer (name, type, description with the unit), nested objects one level down, in
the page's language for the labels; and the downloads beside the JSON."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from mifund.web.pages.apidocs import response_fields
from web_helpers import fast_hashing, web_warehouse


@pytest.fixture(scope="module")
def client(demo_small, tmp_path_factory):
    from mifund.web.app import create_app
    from mifund.web.services import Services
    from mifund.web.settings import WebSettings

    with pytest.MonkeyPatch.context() as mp:
        fast_hashing(mp)
        settings = WebSettings(db=web_warehouse(demo_small.db, tmp_path_factory.mktemp("apidocs")))
        services = Services(settings)
        with TestClient(create_app(settings, services)) as c:
            yield c
        services.close()


def _op(page: str, method: str, path: str) -> str:
    return next(o for o in page.split('<section class="card op">')[1:]
                if f'<span class="method">{method}</span> <code>{path}</code>' in o)


def _answer(section: str) -> dict[str, tuple[str, str]]:
    """field name -> (type, description) of the section's answer table, as the reader sees them."""
    table = section.split('class="data response-fields"')[1].split("</table>")[0]
    rows = re.findall(r"<tr[^>]*><td><code>([^<]+)</code></td><td>([^<]*)</td><td>([^<]*)</td></tr>", table)
    return {html.unescape(n): (html.unescape(t), html.unescape(d)) for n, t, d in rows}


def test_docs_show_the_fields_of_each_answer_with_their_descriptions(client):
    spec = client.get("/openapi.json").json()
    page = client.get("/docs").text
    comp = spec["components"]["schemas"]
    ind = _answer(_op(page, "GET", "/api/v1/indicators"))
    # the months of payment capacity, with the catalogue's description (and its unit) from the schema
    assert ind["rows[].payable_months"] == ("number | null", comp["IndicatorRow"]["properties"]["payable_months"]
                                            ["description"])
    assert "months" in ind["rows[].payable_months"][1]
    assert ind["unit"][0] == "string" and ind["rows"][0] == "array of object"
    assert "text/csv" in _op(page, "GET", "/api/v1/indicators").split('class="data response-fields"')[0]
    # the case: the case row's fields (case.…), its hits and history (…[].…) and the moves allowed
    case = _answer(_op(page, "GET", "/api/v1/cases/{case_id}"))
    for model, prefix in (("CaseRow", "case."), ("CaseHit", "hits[]."), ("CaseEvent", "history[].")):
        for name, prop in comp[model]["properties"].items():
            assert case[prefix + name][1] == prop["description"] != "", prefix + name
    assert "yuan" in case["case.suspected_amount"][1] and "Chinese" in case["hits[].evidence_zh"][1]
    assert case["case.status"][0].startswith("one of open, in_review")
    assert set(case) >= {"case", "hits", "history", "moves"}
    queue = _answer(_op(page, "GET", "/api/v1/cases"))
    assert "yuan" in queue["rows[].priority"][1] and "rows[].previous_case_id" in queue
    # every GET of the API shows its answer, every field described
    for path, ops in spec["paths"].items():
        if path.startswith("/api/v1/") and "get" in ops:
            fields = _answer(_op(page, "GET", path))
            assert fields and all(d for _, d in fields.values()), path


def test_docs_answer_labels_follow_the_language(client):
    client.get("/lang/zh")
    try:
        zh = _op(client.get("/docs").text, "GET", "/api/v1/indicators")
    finally:
        client.get("/lang/en")
    head = zh.split('class="data response-fields"')[0]
    assert "<h3>应答" in head and "另可为" in head
    assert "<th>字段</th><th>类型</th><th>说明</th>" in zh.split('class="data response-fields"')[1]
    en = _op(client.get("/docs").text, "GET", "/api/v1/indicators")
    assert "<h3>Answer" in en and "<th>Field</th><th>Type</th><th>Description</th>" in en


def test_nested_fields_go_one_level_down_and_stop():
    """A hand-made document: an object field and a nullable one are opened one level; a list of a
    recursive model is opened once (its `children` named, not opened again); a plain answer has no table."""
    node = {"type": "object", "properties": {"code": {"type": "string", "description": "Code"},
                                             "deep": {"$ref": "#/components/schemas/Deep", "description": "D"},
                                             "children": {"type": "array", "description": "Below",
                                                          "items": {"$ref": "#/components/schemas/Node"}}}}
    spec = {"components": {"schemas": {
        "Node": node,
        "Deep": {"type": "object", "properties": {"x": {"type": "integer", "description": "X"}}},
        "Answer": {"type": "object", "properties": {
            "nodes": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}, "description": "Nodes"},
            "one": {"anyOf": [{"$ref": "#/components/schemas/Deep"}, {"type": "null"}], "description": "One"},
            "n": {"type": "integer", "description": "Count"}}}}}}

    def op(schema):
        return {"responses": {"200": {"description": "Successful Response",
                                      "content": {"application/json": {"schema": schema}}}}}

    out = response_fields(spec, op({"$ref": "#/components/schemas/Answer"}))
    assert [(f["name"], f["nested"]) for f in out["fields"]] == [
        ("nodes", False), ("nodes[].code", True), ("nodes[].deep", True), ("nodes[].children", True),
        ("one", False), ("one.x", True), ("n", False)]
    assert {f["name"]: f["type"] for f in out["fields"]}["one"] == "object | null"
    assert response_fields(spec, op({})) == {"description": "Successful Response", "media": ["application/json"],
                                             "fields": [], "schema_description": ""}
    assert response_fields(spec, {"responses": {"204": {"description": "none"}}}) is None
