"""Schemathesis against the OpenAPI document of /api/v1 (in process, through ASGI), as the city
administrator: every documented operation with a few generated requests; no server error, status
codes and content types as documented, JSON errors in the documented shape. Bounded: a handful of
examples per operation."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from web_helpers import PASSWORD, fast_hashing, web_warehouse


@pytest.fixture(scope="module")
def web_app(demo_small, tmp_path_factory):
    from mifund.web.app import create_app
    from mifund.web.services import Services
    from mifund.web.settings import WebSettings

    with pytest.MonkeyPatch.context() as mp:
        fast_hashing(mp)
        db = web_warehouse(demo_small.db, tmp_path_factory.mktemp("schemathesis"))
        s = WebSettings(db=db, login_fail_per_user=10**6, login_fail_per_client=10**6)
        services = Services(s)
        yield create_app(s, services)
        services.close()


@pytest.fixture(scope="module")
def admin_headers(web_app):
    from fastapi.testclient import TestClient

    with pytest.MonkeyPatch.context() as mp:
        fast_hashing(mp)
        r = TestClient(web_app).post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.mark.slow
def test_api_conforms_to_its_openapi_document(web_app, admin_headers, monkeypatch):
    """Each operation of the document in turn (schemathesis' pytest plugin needs an older pytest): a few
    generated cases each, derandomised so that a failure repeats."""
    from hypothesis import given

    fast_hashing(monkeypatch)
    schema = schemathesis.openapi.from_asgi("/openapi.json", web_app)
    ops = [r.ok() for r in schema.get_all_operations()]
    assert len(ops) >= 10
    seen = set()
    for op in ops:

        @given(case=op.as_strategy())
        @settings(max_examples=4, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            # an upload that fits the schema may still be a file the importer rejects (422 import_failed,
            # with every problem listed): content validation, not a schema mismatch
            excluded = [schemathesis.checks.positive_data_acceptance] if case.operation.label == "POST /api/v1/imports" else []
            response = case.call_and_validate(headers=admin_headers, excluded_checks=excluded)
            seen.add((case.operation.label, response.status_code))
            if response.status_code >= 400:
                body = response.json()
                assert set(body) == {"error"}
                assert body["error"]["code"] and body["error"]["status"] == response.status_code

        check()
    assert {label for label, _ in seen} == {op.label for op in ops}
