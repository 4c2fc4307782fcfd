"""Planning the reporter-visible status from case events: newer wins, reassignment ties go to
the new agency, an unchanged status adds no history line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.common.contracts import (
    CaseAssigned,
    CaseStatus,
    CaseUpdated,
    Category,
    Priority,
    new_event_id,
)
from services.intake.status import plan_status_update

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def case_fields(version: int, status: CaseStatus, agency: str = "police") -> dict[str, Any]:
    return {
        "event_id": new_event_id(),
        "occurred_at": AT,
        "case_id": "case-1",
        "report_id": "report-1",
        "tracking_code": "K7QX-3MPA-WZ9D",
        "agency": agency,
        "category": Category.SCAM_FRAUD,
        "priority": Priority.NORMAL,
        "status": status,
        "version": version,
        "due_at": None,
    }


def assigned(version: int = 1, agency: str = "police") -> CaseAssigned:
    return CaseAssigned(
        **case_fields(version, CaseStatus.ASSIGNED, agency), policy_version="1", rule_id="r"
    )


def updated(version: int, status: CaseStatus, action: str = "acknowledge") -> CaseUpdated:
    return CaseUpdated(
        **case_fields(version, status),
        action=action,
        from_status=CaseStatus.ASSIGNED,
        actor="police",
    )


def known(version: int, event_type: str, status: str = "assigned") -> dict[str, Any]:
    return {
        "_id": "report-1",
        "status": status,
        "case": {"version": version, "event_type": event_type},
    }


def test_first_assignment_sets_the_status_and_adds_history() -> None:
    update = plan_status_update({"_id": "report-1", "status": "received"}, assigned())
    assert update is not None
    assert update["$set"]["status"] == "assigned"
    assert update["$set"]["case"]["version"] == 1
    assert update["$push"]["history"] == {"status": "assigned", "at": AT}


def test_an_older_or_repeated_event_changes_nothing() -> None:
    report = known(3, "case.updated", "acknowledged")
    assert plan_status_update(report, updated(2, CaseStatus.IN_PROGRESS)) is None
    assert plan_status_update(report, updated(3, CaseStatus.ACKNOWLEDGED)) is None


def test_a_reassignment_at_the_same_version_goes_to_the_new_agency() -> None:
    report = known(4, "case.updated")
    update = plan_status_update(report, assigned(version=4, agency="culture_office"))
    assert update is not None and update["$set"]["case"]["agency"] == "culture_office"


def test_a_note_that_keeps_the_status_adds_no_history_line() -> None:
    report = known(2, "case.updated", "acknowledged")
    update = plan_status_update(report, updated(3, CaseStatus.ACKNOWLEDGED, action="note"))
    assert update is not None and "$push" not in update
