"""A case's two clocks: working time on the agency's calendar (urgent: calendar time), the
legal clock in calendar time, reassignment, and the pause while a platform must act."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.common.contracts import CaseEvent, CaseStatus, Category, Priority
from services.routing.case import Case
from services.routing.clocks import pause_internal, resume_internal, working_allowance
from services.routing.lifecycle import Action
from services.routing.planning import ActionRequest, plan_action, plan_new_case
from tests.unit.routing.factory import POLICY, report

pytestmark = pytest.mark.unit
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
WORKING_DAY = 8 * 3600.0
CALENDAR = POLICY.calendars.for_agency("police")


def local(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    """A moment in Hà Nội time."""
    return datetime(year, month, day, hour, minute, tzinfo=HANOI)


def opened(at: datetime, category: Category = Category.SCAM_FRAUD) -> tuple[Case, CaseEvent]:
    """The case a report opens at `at`, and its `case.assigned`."""
    case, [event] = plan_new_case(report(category), POLICY, at, case_id="case-1")
    assert isinstance(event, CaseEvent)
    return case, event


def test_a_policy_day_is_a_working_day_on_a_calendar_and_a_day_in_calendar_time() -> None:
    assert working_allowance(timedelta(hours=24), CALENDAR) == WORKING_DAY
    assert working_allowance(timedelta(days=7), CALENDAR) == 7 * WORKING_DAY
    assert working_allowance(timedelta(hours=12), CALENDAR) == WORKING_DAY / 2
    assert working_allowance(timedelta(hours=24), None) == 24 * 3600


def test_a_case_assigned_on_friday_afternoon_falls_due_on_monday_not_saturday() -> None:
    case, event = opened(local(11, 27, 16))  # Friday 27 November 2026, 16:00
    assert case.due_at == local(11, 30, 16)  # one working day: Fri 16-17, Mon 7:30-11:30, 13-16
    assert (case.calendar, case.internal_budget_s) == ("default", WORKING_DAY)
    assert (event.due_at, event.calendar, event.internal_budget_s) == (
        case.due_at,
        "default",
        WORKING_DAY,
    )


def test_a_deadline_that_spans_public_holidays_skips_them() -> None:
    # Wednesday 29 April 2026: Reunification Day (30/4) and Labour Day (1/5) are Thursday and
    # Friday, then the weekend: the working day left on Wednesday runs on Monday 4 May.
    case, _ = opened(local(4, 29, 16))
    assert case.due_at == local(5, 4, 16)
    assert case.legal_due_at == local(5, 1, 16), "the legal clock counts calendar time"


def test_a_deadline_across_tet_waits_for_the_offices_to_reopen() -> None:
    # Tết 2026 (the holidays package): Monday 16 to Friday 20 February, so with the weekends
    # the offices close from Saturday 14 to Sunday 22 February.
    case, _ = opened(local(2, 13, 16))  # the Friday before Tết, 16:00
    assert case.due_at == local(2, 23, 16)


def test_a_make_up_saturday_is_a_working_day() -> None:
    # Saturday 22 August 2026 is worked to make up for Monday 31 August (the holidays package).
    case, _ = opened(local(8, 21, 16))  # Friday 21 August, 16:00
    assert case.due_at == local(8, 22, 16)
    before_national_day, _ = opened(local(8, 28, 16))  # Friday 28 August: 31/8, 1/9, 2/9 off
    assert before_national_day.due_at == local(9, 3, 16)


def test_an_urgent_case_counts_calendar_time_on_both_clocks() -> None:
    at = local(11, 27, 16)
    case, event = opened(at, Category.CONFIDENTIAL_LEAK)  # urgent in the default policy
    assert case.priority is Priority.URGENT
    assert case.due_at == at + timedelta(hours=12) and case.calendar is None
    assert case.internal_budget_s == 12 * 3600 and event.calendar is None
    assert case.legal_due_at == at + POLICY.legal_within


def test_the_legal_clock_starts_at_assignment_and_the_audit_names_both_clocks() -> None:
    at = local(11, 27, 16)
    case, event = opened(at)
    assert case.legal_due_at == at + timedelta(hours=48) == event.legal_due_at
    [assign] = case.audit
    assert assign.clock is not None
    assert "internal clock started" in assign.clock and "legal clock started" in assign.clock
    assert "working time, calendar default" in assign.clock


def test_acknowledging_starts_the_resolution_deadline_in_working_time() -> None:
    case, _ = opened(local(11, 27, 16))
    plan = plan_action(case, ActionRequest(Action.ACKNOWLEDGE, "police"), POLICY, local(11, 27, 16))
    assert plan.case.due_at == CALENDAR.add(local(11, 27, 16), 7 * WORKING_DAY)
    assert plan.case.internal_budget_s == 7 * WORKING_DAY
    assert plan.audit.clock is not None and "resolve-by started" in plan.audit.clock
    assert plan.case.legal_due_at == case.legal_due_at, "acknowledging moves no legal clock"


def test_reassignment_keeps_the_legal_clock_and_restarts_the_internal_one_with_the_reason() -> None:
    case, _ = opened(local(11, 27, 16))
    later = local(11, 30, 9)
    request = ActionRequest(
        Action.REASSIGN, "supervisor", note="tin giả", target_agency="culture_office"
    )
    plan = plan_action(case, request, POLICY, later)
    assert plan.case.legal_due_at == case.legal_due_at
    assert plan.case.due_at == CALENDAR.add(later, 2 * WORKING_DAY)  # culture office: 48h
    assert plan.audit.note == "tin giả"
    assert plan.audit.clock is not None and "legal clock kept" in plan.audit.clock
    assert all(
        isinstance(e, CaseEvent) and e.legal_due_at == case.legal_due_at for e in plan.events
    )


def test_pausing_keeps_the_working_time_left_and_resuming_gives_it_back() -> None:
    case, _ = opened(local(11, 26, 10))  # Thursday 10:00: due Friday 10:00
    assert case.due_at == local(11, 27, 10)
    waiting = case.model_copy(update={"status": CaseStatus.WAITING_ON_PLATFORM})
    fields, note = pause_internal(waiting, POLICY, local(11, 26, 16))  # Thursday 16:00
    assert fields == {"due_at": None, "internal_left_s": 3.5 * 3600}  # Thu 16-17, Fri 7:30-10
    assert note is not None and "paused" in note
    paused = waiting.model_copy(update=fields)
    assert paused.deadline is not None and paused.deadline[0] == case.legal_due_at
    fields, note = resume_internal(paused, POLICY, local(11, 30, 9))  # Monday 09:00
    assert fields == {"due_at": local(11, 30, 14), "internal_left_s": None}  # lunch skipped
    assert note is not None and "resumed" in note
    assert paused.model_copy(update=fields).internal_budget_s == WORKING_DAY, "budget kept"
    assert pause_internal(paused, POLICY, local(11, 30, 9)) == ({}, None), "already paused"
    assert resume_internal(case, POLICY, local(11, 30, 9)) == ({}, None), "was not paused"


def test_a_case_paused_after_its_deadline_resumes_overdue() -> None:
    case, _ = opened(local(11, 26, 10))  # due Friday 10:00
    fields, _ = pause_internal(case, POLICY, local(11, 27, 11))  # an hour past due
    assert fields["internal_left_s"] == -3600
    resumed, _ = resume_internal(case.model_copy(update=fields), POLICY, local(11, 30, 9))
    assert resumed["due_at"] == local(11, 30, 8), "still an hour overdue"


def test_an_urgent_case_pauses_and_resumes_in_calendar_time() -> None:
    case, _ = opened(local(11, 27, 16), Category.CONFIDENTIAL_LEAK)  # due Saturday 04:00
    fields, _ = pause_internal(case, POLICY, local(11, 27, 20))
    assert fields["internal_left_s"] == 8 * 3600
    resumed, _ = resume_internal(case.model_copy(update=fields), POLICY, local(11, 28, 10))
    assert resumed["due_at"] == local(11, 28, 18)


def test_reassignment_keeps_the_agencies_informed_but_not_the_new_owner() -> None:
    case, _ = opened(local(11, 27, 16), Category.HIJACKED_ACCOUNT)
    case = case.model_copy(update={"informed": ["party_committee"]})
    to_culture = ActionRequest(Action.REASSIGN, "supervisor", "x", target_agency="culture_office")
    moved = plan_action(case, to_culture, POLICY, local(11, 30, 9)).case
    assert moved.informed == ["party_committee"]
    to_party = ActionRequest(Action.REASSIGN, "supervisor", "x", target_agency="party_committee")
    assert plan_action(case, to_party, POLICY, local(11, 30, 9)).case.informed == []
