"""Decisions with reasons, appeals and their review, planned as pure functions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.common.contracts import (
    ANONYMISED_EXPLANATION,
    AppealResult,
    CaseStatus,
    CaseUpdated,
    DecisionOutcome,
    ReportAppealed,
)
from services.routing.appeals import (
    AppealRefused,
    already_handled,
    plan_appeal,
    plan_review,
    refusal_record,
    review_request,
)
from services.routing.case import Case
from services.routing.clocks import pause_internal
from services.routing.decisions import DecisionInput, InvalidDecision, ReviewerConflict
from services.routing.lifecycle import Action, IllegalTransition
from services.routing.models import actions_of
from services.routing.planning import ActionRequest, plan_action
from tests.unit.routing.factory import NOW, POLICY, new_case

pytestmark = pytest.mark.unit
HOUR = timedelta(hours=1)
EXPLANATION = "Nền tảng đã gỡ trang giả mạo theo yêu cầu của cơ quan chức năng."
REMOVED = DecisionInput(DecisionOutcome.REMOVED_BY_PLATFORM, "nd147-2024-removal", EXPLANATION)
NO_VIOLATION = DecisionInput(
    DecisionOutcome.NO_VIOLATION, "khong-vi-pham", "Nội dung không vi phạm pháp luật."
)


def started() -> Case:
    return plan_action(new_case(), ActionRequest(Action.START, "police"), POLICY, NOW).case


def resolve(case: Case, decision: DecisionInput = REMOVED, actor: str = "police") -> Case:
    request = ActionRequest(Action.RESOLVE, actor, note="Đã gửi yêu cầu gỡ", decision=decision)
    return plan_action(case, request, POLICY, NOW + HOUR).case


def appeal_of(case: Case, **fields: object) -> ReportAppealed:
    assert case.decision is not None
    values: dict[str, object] = {
        "event_id": "appeal-1",
        "occurred_at": NOW + 2 * HOUR,
        "report_id": case.report_id,
        "tracking_code": case.tracking_code,
        "case_id": case.case_id,
        "reason": "Trang giả mạo vẫn còn hoạt động.",
        "decided_at": case.decision.decided_at,
    }
    return ReportAppealed.model_validate({**values, **fields})


def appealed(case: Case | None = None) -> Case:
    closed = case or resolve(started())
    return plan_appeal(closed, appeal_of(closed), POLICY, NOW + 3 * HOUR).case


def test_resolving_records_the_decision_and_announces_only_its_public_part() -> None:
    case = started()
    request = ActionRequest(Action.RESOLVE, "police", note="ghi chú nội bộ", decision=REMOVED)
    plan = plan_action(case, request, POLICY, NOW + HOUR)
    decision = plan.case.decision
    assert decision is not None and plan.case.decisions == [decision]
    assert (decision.outcome, decision.decided_by, decision.status) == (
        DecisionOutcome.REMOVED_BY_PLATFORM,
        "police",
        CaseStatus.RESOLVED,
    )
    assert decision.legal_basis_title == POLICY.legal_bases["nd147-2024-removal"].title_vi
    assert decision.appeal_until == NOW + HOUR + timedelta(days=14)
    assert decision.internal_due_at == case.due_at and decision.legal_due_at == case.legal_due_at
    assert plan.case.outcome == "removed_by_platform" == plan.audit.outcome
    [event] = plan.events
    assert isinstance(event, CaseUpdated) and event.decision is not None
    public = event.decision.model_dump()
    assert public["explanation"] == EXPLANATION and public["appeal_until"] == decision.appeal_until
    assert "legal_basis_text" not in public and "decided_by" not in public
    assert event.note == "ghi chú nội bộ", "the agency queue gets the note, intake shows none"


def test_a_note_on_a_case_anonymised_before_the_placeholder_still_announces_it() -> None:
    closed = resolve(started())
    assert closed.decision is not None
    emptied = closed.decision.model_copy(update={"explanation": ""})  # as anonymised earlier
    case = closed.model_copy(update={"decision": emptied, "decisions": [emptied]})
    request = ActionRequest(Action.NOTE, "police", note="Đã lưu hồ sơ")
    [event] = plan_action(case, request, POLICY, NOW + HOUR).events
    assert isinstance(event, CaseUpdated) and event.decision is not None
    assert event.decision.explanation == ANONYMISED_EXPLANATION


def test_the_legal_basis_title_follows_the_reporters_language() -> None:
    case = started()
    english = case.model_copy(update={"report": case.report.model_copy(update={"language": "en"})})
    decision = resolve(english).decision
    assert decision is not None
    assert decision.legal_basis_title == POLICY.legal_bases["nd147-2024-removal"].title_en


@pytest.mark.parametrize(
    ("action", "decision", "field"),
    [
        (
            Action.RESOLVE,
            DecisionInput(DecisionOutcome.REMOVED_BY_PLATFORM, "nd-0", "x"),
            "legal_basis",
        ),
        (
            Action.RESOLVE,
            DecisionInput(DecisionOutcome.REMOVED_BY_PLATFORM, None, "x"),
            "legal_basis",
        ),
        (
            Action.RESOLVE,
            DecisionInput(DecisionOutcome.REMOVED_BY_PLATFORM, "khong-vi-pham", " "),
            "explanation",
        ),
        (
            Action.RESOLVE,
            DecisionInput(DecisionOutcome.REMOVED_BY_PLATFORM, "khong-vi-pham", "x" * 2001),
            "explanation",
        ),
        (Action.REJECT, REMOVED, "outcome"),
        (Action.RESOLVE, NO_VIOLATION, "outcome"),
        (Action.RESOLVE, None, "decision"),
    ],
)
def test_a_bad_decision_is_refused_naming_the_field(
    action: Action, decision: DecisionInput | None, field: str
) -> None:
    request = ActionRequest(action, "police", note="x", decision=decision)
    with pytest.raises(InvalidDecision) as error:
        plan_action(started(), request, POLICY, NOW)
    assert error.value.field == field


def test_referred_closes_either_way() -> None:
    referred = DecisionInput(DecisionOutcome.REFERRED, "luat-anm-2018-d16", "Đã chuyển Bộ Công an.")
    rejected = plan_action(
        started(), ActionRequest(Action.REJECT, "police", "x", decision=referred), POLICY, NOW
    )
    assert rejected.case.status is CaseStatus.REJECTED and rejected.case.decision is not None


def test_a_case_waiting_on_a_platform_can_be_closed_and_its_clocks_stop() -> None:
    case = started()
    fields, _ = pause_internal(case, POLICY, NOW + HOUR)
    waiting = case.model_copy(update={**fields, "status": CaseStatus.WAITING_ON_PLATFORM})
    plan = plan_action(
        waiting,
        ActionRequest(Action.REJECT, "police", "trang đã tự gỡ", decision=NO_VIOLATION),
        POLICY,
        NOW + 2 * HOUR,
    )
    assert plan.case.status is CaseStatus.REJECTED
    assert (plan.case.due_at, plan.case.internal_left_s) == (None, None)
    decision = plan.case.decision
    assert decision is not None and decision.internal_due_at is not None
    assert decision.internal_due_at > NOW + 2 * HOUR, "where the paused clock would resume"
    [event] = plan.events
    assert isinstance(event, CaseUpdated) and event.takedowns == []


def test_an_appeal_reopens_the_case_for_review_with_its_own_deadlines() -> None:
    closed = resolve(started())
    at = NOW + 3 * HOUR
    plan = plan_appeal(closed, appeal_of(closed), POLICY, at)
    case = plan.case
    assert case.status is CaseStatus.APPEALED and case.is_open and case.closed_at is None
    calendar = POLICY.calendars.for_agency("police")
    assert case.due_at == calendar.add(at, 5 * 8 * 3600)  # 5 working days to review
    assert case.legal_due_at == at + POLICY.legal_within, "an appeal is a new complaint"
    [appeal] = case.appeals
    assert (appeal.decided_by, appeal.result, appeal.event_id) == ("police", None, "appeal-1")
    assert case.decision is not None and case.decision.appeal_until is None
    assert case.decisions[-1] == case.decision
    assert not case.joinable and case.open_key != case.content_key
    assert plan.audit.action == "appeal" and plan.audit.event_id == "appeal-1"
    [event] = plan.events
    assert isinstance(event, CaseUpdated)
    assert (event.action, event.status, event.from_status) == ("appeal", "appealed", "resolved")
    assert event.decision is not None and event.decision.appeal_until is None
    assert already_handled(case, appeal_of(closed))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"report_id": "someone-else"}, "not one of the case's reports"),
        ({"occurred_at": NOW + HOUR + timedelta(days=14, seconds=1)}, "window closed"),
        ({"decided_at": NOW}, "no longer the case's decision"),
    ],
)
def test_an_appeal_that_does_not_fit_is_refused(change: dict[str, object], problem: str) -> None:
    closed = resolve(started())
    with pytest.raises(AppealRefused, match=problem):
        plan_appeal(closed, appeal_of(closed, **change), POLICY, NOW + 3 * HOUR)


def test_an_open_case_or_a_second_appeal_of_the_same_report_is_refused() -> None:
    closed = resolve(started())
    with pytest.raises(AppealRefused, match="no decision"):
        plan_appeal(started(), appeal_of(closed), POLICY, NOW)
    reviewed = review(appealed(closed), "supervisor", AppealResult.UPHELD)
    with pytest.raises(AppealRefused, match="appealed this case before"):
        plan_appeal(reviewed, appeal_of(reviewed, event_id="appeal-2"), POLICY, NOW + 5 * HOUR)
    record = refusal_record(reviewed, appeal_of(reviewed), "x", NOW)
    assert (record.action, record.event_id, record.to_status) == (
        "appeal_refused",
        "appeal-1",
        "resolved",
    )


def review(
    case: Case,
    actor: str,
    result: AppealResult,
    decision: DecisionInput | None = None,
) -> Case:
    given = decision or DecisionInput(None, None, "Đã xem xét lại: quyết định đúng.")
    request = review_request(actor, result, given, "ghi chú")
    return plan_review(case, request, POLICY, NOW + 4 * HOUR).case


def test_the_deciding_agency_cannot_review_its_own_decision() -> None:
    case = appealed()
    with pytest.raises(ReviewerConflict):
        review(case, "police", AppealResult.UPHELD)
    assert Action.REVIEW not in actions_of(case, "police")
    assert Action.REVIEW in actions_of(case, "supervisor")


def test_an_upheld_decision_closes_the_case_as_it_was_and_ends_the_appeals() -> None:
    case = review(appealed(), "supervisor", AppealResult.UPHELD)
    assert case.status is CaseStatus.RESOLVED and case.closed_at == NOW + 4 * HOUR
    decision = case.decision
    assert decision is not None and decision.review is AppealResult.UPHELD
    assert decision.outcome is DecisionOutcome.REMOVED_BY_PLATFORM  # kept from the appealed one
    assert decision.decided_by == "supervisor" and decision.appeal_until is None
    assert len(case.decisions) == 2 and case.due_at is None
    [appeal] = case.appeals
    assert (appeal.result, appeal.reviewed_by) == (AppealResult.UPHELD, "supervisor")


def test_a_reversal_closes_the_case_with_the_reviewers_decision() -> None:
    rejected = plan_action(
        started(), ActionRequest(Action.REJECT, "police", "x", decision=NO_VIOLATION), POLICY, NOW
    ).case
    case = appealed(rejected)
    request = review_request("supervisor", AppealResult.REVERSED, REMOVED, "sai")
    plan = plan_review(case, request, POLICY, NOW + 4 * HOUR)
    assert plan.case.status is CaseStatus.RESOLVED and plan.case.outcome == "removed_by_platform"
    assert plan.case.decision is not None and plan.case.decision.review is AppealResult.REVERSED
    [event] = plan.events
    assert isinstance(event, CaseUpdated)
    assert (event.action, event.from_status, event.status) == ("review", "appealed", "resolved")
    assert event.decision is not None and event.decision.review is AppealResult.REVERSED
    assert event.decision.appeal_until is None


def test_a_reversal_must_change_the_outcome_and_only_an_appealed_case_is_reviewed() -> None:
    case = appealed()
    with pytest.raises(InvalidDecision) as error:
        review(case, "supervisor", AppealResult.REVERSED, REMOVED)
    assert error.value.field == "outcome"
    with pytest.raises(IllegalTransition):
        review(resolve(started()), "supervisor", AppealResult.UPHELD)
    with pytest.raises(IllegalTransition):
        plan_action(case, ActionRequest(Action.REVIEW, "supervisor"), POLICY, NOW)


def test_a_note_on_a_decided_case_needs_no_decision_and_changes_nothing_else() -> None:
    closed = resolve(started())
    later = NOW + 2 * HOUR
    plan = plan_action(closed, ActionRequest(Action.NOTE, "police", "đã báo"), POLICY, later)
    assert plan.case.status is CaseStatus.RESOLVED and plan.case.decision == closed.decision
    assert set(plan.changes) == {"notes", "version", "updated_at"}
