"""The OpenAPI document validates, matches the route table, and schemathesis finds no server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error

from cc.api.app import ROUTES
from cc.api.openapi import build_document

from .conftest import Live


def test_document_validates_and_lists_every_route() -> None:
    doc = build_document(ROUTES)
    validate(doc)
    listed = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert listed == {(r.method, r.path) for r in ROUTES}
    assert doc["paths"]["/api/v1/agents/{agent_id}/status"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["required"] == ["status"]
    assert doc["paths"]["/healthz"]["get"]["security"] == []
    assert doc["paths"]["/api/v1/reload"]["post"]["security"] == [{"bearer": []}]


def test_served_document_is_the_same(live: Live) -> None:
    status, doc = live.http("GET", "/openapi.json")
    assert status == 200
    assert doc == build_document(ROUTES)


@pytest.mark.timeout(90)
def test_schemathesis_finds_no_server_error(live: Live) -> None:
    assert live.svc.api is not None
    schema = schemathesis.openapi.from_wsgi("/openapi.json", live.svc.api.app)
    headers = {"Authorization": f"Bearer {live.tokens['admin']}"}
    operations = [op.ok() for op in schema.get_all_operations()]
    # the event stream never ends by itself; it is tested in test_api_live.py
    operations = [op for op in operations if op.path != "/api/v1/events"]
    assert len(operations) >= len(ROUTES) - 2  # schemathesis leaves /openapi.json itself out
    ran = 0
    statuses: set[int] = set()
    for op in operations:

        @settings(max_examples=8, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def check(case: schemathesis.Case) -> None:
            nonlocal ran
            ran += 1
            response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
            statuses.add(response.status_code)

        check()
    assert ran >= len(operations)
    assert 200 in statuses and 404 in statuses and 401 not in statuses  # the token was used, routes were hit
