"""The three OpenAPI documents say what the services really send and every status they answer."""

from __future__ import annotations

from typing import Any

import pytest

from services.intake.openapi_doc import openapi_document as intake_document
from services.notify.openapi_doc import openapi_document as notify_document
from services.routing.openapi_doc import openapi_document as routing_document
from services.routing.policy import load_policy

pytestmark = pytest.mark.unit

DOCUMENTS = {
    "intake": intake_document(),
    "routing": routing_document(
        ["culture_office", "party_committee", "police", "triage"], list(load_policy().legal_bases)
    ),
    "notify": notify_document(),
}


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for path in document["paths"].values() for op in path.values()]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_operation_has_its_own_id_and_documents_a_json_500(name: str) -> None:
    ops = operations(DOCUMENTS[name])
    ids = [op["operationId"] for op in ops]
    assert len(ids) == len(set(ids))
    for op in ops:
        error = op["responses"]["500"]["content"]["application/json"]["schema"]
        assert error["$ref"].endswith("/ErrorResponse")
        if "security" in op:
            assert "401" in op["responses"]


def test_responses_are_documented_as_serialized() -> None:
    audit = DOCUMENTS["routing"]["components"]["schemas"]["AuditEntry"]
    assert {"from_status", "to_status"} <= set(audit["properties"])
    assert not {"from", "to"} & set(audit["properties"])


def test_the_error_shape_carries_the_error_id() -> None:
    detail = DOCUMENTS["intake"]["components"]["schemas"]["ErrorDetail"]
    assert "error_id" in detail["properties"]


def test_statuses_the_code_returns_are_documented() -> None:
    report = DOCUMENTS["intake"]["paths"]["/api/v1/reports"]["post"]["responses"]
    assert {"201", "400", "409", "413", "415", "422", "429", "503"} <= set(report)
    action = DOCUMENTS["routing"]["paths"]["/api/v1/cases/{case_id}/resolve"]["post"]
    assert {"200", "400", "401", "404", "409", "415", "422"} <= set(action["responses"])
    alerts = DOCUMENTS["notify"]["paths"]["/api/v1/alerts"]["get"]["responses"]
    assert {"200", "401", "422"} <= set(alerts)


def test_created_reports_and_listed_cases_link_to_their_follow_ups() -> None:
    created = DOCUMENTS["intake"]["paths"]["/api/v1/reports"]["post"]["responses"]["201"]
    assert created["links"]["GetReportStatus"]["operationId"] == "getReportStatus"
    listed = DOCUMENTS["routing"]["paths"]["/api/v1/cases"]["get"]["responses"]["200"]
    ids = {op["operationId"] for op in operations(DOCUMENTS["routing"])}
    assert {link["operationId"] for link in listed["links"].values()} <= ids


def test_a_report_that_is_not_anonymous_is_documented_to_need_a_contact() -> None:
    report = DOCUMENTS["intake"]["components"]["schemas"]["ReportIn"]
    assert report["if"] == {"properties": {"anonymous": {"const": False}}}
    assert report["then"]["required"] == ["contact"]
