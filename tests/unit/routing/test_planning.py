"""Each action planned as a pure function: what changes, what is announced, what is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.contracts import (
    TRIAGE,
    CaseAssigned,
    CaseStatus,
    CaseUpdated,
    Category,
    DecisionOutcome,
)
from services.routing.decisions import DecisionInput
from services.routing.lifecycle import Action, IllegalTransition
from services.routing.planning import (
    ActionRequest,
    InvalidReassignment,
    plan_action,
    plan_new_case,
)
from tests.unit.routing.factory import NOW, POLICY, new_case, report

pytestmark = pytest.mark.unit
LATER = NOW + timedelta(minutes=30)
CALENDAR = POLICY.calendars.for_agency("police")
WORKING_DAY_S = 8 * 3600
REMOVED = DecisionInput(
    outcome=DecisionOutcome.REMOVED_BY_PLATFORM,
    legal_basis="nd147-2024-removal",
    explanation="Nền tảng đã gỡ trang giả mạo theo yêu cầu của cơ quan chức năng.",
)


def request(action: Action, note: str | None = None) -> ActionRequest:
    return ActionRequest(action=action, actor="police", note=note)


def test_a_report_becomes_an_assigned_case_announced_once() -> None:
    case, events = plan_new_case(report(Category.SCAM_FRAUD), POLICY, NOW, case_id="c1")
    assert (case.agency, case.status, case.version) == ("police", CaseStatus.ASSIGNED, 1)
    # NOW is Wednesday 19:00 in Hà Nội, after hours: one working day (24h of the policy) ends
    # on Thursday at 17:00 (10:00 UTC).
    assert case.due_at == datetime(2026, 11, 26, 10, 0, tzinfo=UTC) and case.rule_id == "scam-fraud"
    assert case.report.contact_sealed is not None and case.report.province == "Đà Nẵng"
    assert [a.action for a in case.audit] == ["assign"]
    [event] = events
    assert isinstance(event, CaseAssigned) and event.case_id == "c1" and event.due_at == case.due_at


def test_a_report_no_rule_matches_waits_in_triage() -> None:
    policy = POLICY.__class__(POLICY.version, POLICY.agencies, ())
    case, _ = plan_new_case(report(), policy, NOW)
    assert (case.agency, case.status, case.rule_id) == (TRIAGE, CaseStatus.TRIAGE, None)


def test_acknowledging_sets_the_resolve_deadline_and_announces_the_new_version() -> None:
    case = new_case()
    plan = plan_action(case, request(Action.ACKNOWLEDGE, note="Đã nhận"), POLICY, LATER)
    seven_working_days = 7 * WORKING_DAY_S
    assert plan.case.status is CaseStatus.ACKNOWLEDGED and plan.case.version == 2
    assert plan.changes["due_at"] == CALENDAR.add(LATER, seven_working_days)
    assert plan.changes["acknowledged_at"] == LATER and plan.changes["updated_at"] == LATER
    assert plan.changes["urgency"] == plan.case.urgency != case.urgency
    assert "audit" not in plan.changes and "report" not in plan.changes
    assert (plan.audit.from_status, plan.audit.to_status, plan.audit.note) == (
        "assigned",
        "acknowledged",
        "Đã nhận",
    )
    [event] = plan.events
    assert isinstance(event, CaseUpdated)
    assert (event.version, event.status, event.from_status) == (2, "acknowledged", "assigned")
    assert event.due_at == plan.case.due_at


def test_starting_an_acknowledged_case_keeps_its_first_acknowledgement() -> None:
    acked = plan_action(new_case(), request(Action.ACKNOWLEDGE), POLICY, NOW).case
    plan = plan_action(acked, request(Action.START), POLICY, LATER)
    assert plan.case.acknowledged_at == NOW and "acknowledged_at" not in plan.changes
    assert "due_at" not in plan.changes, "the resolve deadline runs on"


def test_resolving_closes_the_case_and_clears_its_deadline() -> None:
    started = plan_action(new_case(), request(Action.START), POLICY, NOW).case
    resolve = ActionRequest(Action.RESOLVE, "police", note="Đã gỡ", decision=REMOVED)
    plan = plan_action(started, resolve, POLICY, LATER)
    assert not plan.case.is_open and plan.case.closed_at == LATER and plan.case.due_at is None
    assert plan.changes["outcome"] == "removed_by_platform"
    assert plan.audit.outcome == "removed_by_platform"


def test_a_note_changes_no_status_but_is_kept_and_announced() -> None:
    case = new_case()
    plan = plan_action(case, request(Action.NOTE, note="Đang xác minh"), POLICY, LATER)
    assert plan.case.status is CaseStatus.ASSIGNED and plan.case.version == 2
    assert [n.text for n in plan.case.notes] == ["Đang xác minh"]
    assert plan.case.due_at == case.due_at and "due_at" not in plan.changes
    assert plan.changes["notes"][0]["text"] == "Đang xác minh"


def test_an_illegal_action_is_refused_before_anything_is_planned() -> None:
    with pytest.raises(IllegalTransition, match="cannot resolve a case that is assigned"):
        plan_action(new_case(), request(Action.RESOLVE), POLICY, NOW)


def test_reassignment_announces_leaving_then_arriving_in_version_order() -> None:
    case = new_case()
    plan = plan_action(
        case,
        ActionRequest(
            Action.REASSIGN, "supervisor", note="Tin giả", target_agency="culture_office"
        ),
        POLICY,
        LATER,
    )
    left, arrived = plan.events
    assert isinstance(left, CaseUpdated) and isinstance(arrived, CaseAssigned)
    assert (left.agency, left.version, left.due_at, left.reassigned_to) == (
        "police",
        2,
        None,
        "culture_office",
    )
    assert (arrived.agency, arrived.version, arrived.previous_agency) == (
        "culture_office",
        3,
        "police",
    )
    assert plan.case.agency == "culture_office" and plan.case.acknowledged_at is None
    two_working_days = 2 * WORKING_DAY_S  # the culture office's default deadline: 48h
    assert plan.case.due_at == CALENDAR.add(LATER, two_working_days)
    assert plan.case.legal_due_at == case.legal_due_at, "reassignment keeps the legal clock"
    assert plan.audit.previous_agency == "police" and plan.audit.agency == "culture_office"


@pytest.mark.parametrize("target", [None, "nobody", "police"])
def test_reassignment_to_no_unknown_or_the_same_agency_is_refused(target: str | None) -> None:
    with pytest.raises(InvalidReassignment):
        plan_action(
            new_case(),
            ActionRequest(Action.REASSIGN, "supervisor", note="x", target_agency=target),
            POLICY,
            NOW,
        )
