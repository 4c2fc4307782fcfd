"""Takedown requests planned as pure functions: legal deadline, pause and resume, answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.common.contracts import CaseAssigned, CaseStatus, CaseUpdated, Category, ReporterKind
from services.routing.case import Case
from services.routing.planning import Plan, plan_new_case
from services.routing.takedown_terms import (
    AnswerBody,
    Asked,
    Channel,
    DiscardBody,
    SendBody,
    TakedownBody,
    TakedownStatus,
    TakedownView,
    opening_drafts,
)
from services.routing.takedowns import (
    InvalidTakedown,
    TakedownNotFound,
    TakedownRefused,
    plan_answer,
    plan_discard,
    plan_record,
    plan_send,
)
from tests.unit.routing.factory import POLICY, new_case, report

pytestmark = pytest.mark.unit

# Monday 30 November 2026, 09:00 in Hà Nội: office hours (07:30-11:30, 13:00-17:00).
MONDAY_9 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
MONDAY_15 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
TUESDAY_9 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
TUESDAY_15 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
FOUR_AND_A_HALF_HOURS = 4.5 * 3600  # 09:00-11:30 and 13:00-15:00


def working_case(**changes: Any) -> Case:
    """A police case in progress since last week, due Monday 15:00 on the default calendar."""
    fields: dict[str, Any] = {
        "status": CaseStatus.IN_PROGRESS,
        "created_at": MONDAY_9 - timedelta(days=3),
        "acknowledged_at": MONDAY_9 - timedelta(days=3),
        "due_at": MONDAY_15,
        "calendar": "default",
        "internal_budget_s": 8 * 3600.0,
        "legal_due_at": MONDAY_9 + timedelta(days=1),
    }
    return new_case(Category.HIJACKED_ACCOUNT, **{**fields, **changes})


def sent(case: Case, now: datetime = MONDAY_9, request_id: str = "req-1", **body: Any) -> Case:
    """The case after recording a request sent to Facebook."""
    values = {"channel": Channel.PORTAL, "asked": Asked.REMOVE, **body}
    return plan_record(
        case, TakedownBody(**values), actor="police", request_id=request_id, policy=POLICY, now=now
    ).case


def announced(plan: Plan) -> CaseUpdated:
    """The one `case.updated` a step announces."""
    [event] = plan.events
    assert isinstance(event, CaseUpdated)
    return event


def test_a_sent_request_gets_its_legal_deadline_and_the_case_waits_with_its_clock_paused() -> None:
    body = TakedownBody(channel=Channel.PORTAL, asked=Asked.REMOVE, reference="FB-123")
    plan = plan_record(
        working_case(), body, actor="police", request_id="req-1", policy=POLICY, now=MONDAY_9
    )

    request = plan.case.takedowns[-1]
    assert (request.status, request.platform, request.reference) == ("sent", "facebook", "FB-123")
    assert request.sent_at == MONDAY_9 and request.sent_by == "police"
    assert request.legal_due_at == MONDAY_9 + timedelta(hours=24)  # calendar time, not working
    assert plan.case.status is CaseStatus.WAITING_ON_PLATFORM
    assert plan.case.due_at is None
    assert plan.case.internal_left_s == FOUR_AND_A_HALF_HOURS
    assert plan.changes["status"] == CaseStatus.WAITING_ON_PLATFORM
    assert plan.changes["version"] == plan.case.version == working_case().version + 1
    assert plan.audit.action == "takedown_sent" and plan.audit.request_id == "req-1"
    assert plan.audit.to_status == "waiting_on_platform"
    assert "paused" in (plan.audit.clock or "") and "legal clock" in (plan.audit.clock or "")
    [event] = plan.events
    assert isinstance(event, CaseUpdated) and event.action == "takedown_sent"
    assert event.status is CaseStatus.WAITING_ON_PLATFORM and event.due_at is None
    [clock] = event.takedowns
    assert (clock.request_id, clock.platform, clock.legal_due_at) == (
        "req-1",
        "facebook",
        MONDAY_9 + timedelta(hours=24),
    )


def test_a_request_sent_earlier_counts_its_legal_deadline_from_when_it_was_sent() -> None:
    earlier = MONDAY_9 - timedelta(hours=5)
    case = sent(working_case(), sent_at=earlier, platform="tiktok")
    request = case.takedowns[-1]
    assert request.platform == "tiktok"
    assert request.sent_at == earlier and request.legal_due_at == earlier + timedelta(hours=24)


@pytest.mark.parametrize(
    ("sent_at", "why"),
    [
        (MONDAY_9 + timedelta(minutes=1), "in the future"),
        (MONDAY_9 - timedelta(days=4), "before the case was opened"),
    ],
)
def test_a_send_time_in_the_future_or_before_the_case_is_refused_naming_sent_at(
    sent_at: datetime, why: str
) -> None:
    with pytest.raises(InvalidTakedown) as refused:
        sent(working_case(), sent_at=sent_at)
    assert refused.value.field == "sent_at" and str(refused.value) == why


def test_the_answer_to_the_last_awaited_request_resumes_the_internal_clock_where_it_stood() -> None:
    waiting = sent(working_case())
    body = AnswerBody(status=TakedownStatus.DONE)
    plan = plan_answer(waiting, "req-1", body, actor="police", policy=POLICY, now=TUESDAY_9)

    assert plan.case.status is CaseStatus.IN_PROGRESS
    assert plan.case.due_at == TUESDAY_15  # the 4.5 working hours it had left
    assert plan.case.internal_left_s is None
    request = plan.case.takedowns[-1]
    assert (request.status, request.answered_at, request.answered_by) == (
        "done",
        TUESDAY_9,
        "police",
    )
    assert plan.audit.action == "takedown_answered" and "resumed" in (plan.audit.clock or "")
    [event] = plan.events
    assert isinstance(event, CaseUpdated) and event.takedowns == []
    assert event.status is CaseStatus.IN_PROGRESS and event.due_at == TUESDAY_15


def test_the_case_waits_until_every_request_out_is_answered() -> None:
    waiting = sent(sent(working_case()), request_id="req-2", asked=Asked.RESTRICT)
    done = AnswerBody(status=TakedownStatus.DONE)

    first = plan_answer(waiting, "req-1", done, actor="police", policy=POLICY, now=TUESDAY_9)
    assert first.case.status is CaseStatus.WAITING_ON_PLATFORM and first.case.due_at is None
    assert [c.request_id for c in announced(first).takedowns] == ["req-2"]

    second = plan_answer(first.case, "req-2", done, actor="police", policy=POLICY, now=TUESDAY_9)
    assert second.case.status is CaseStatus.IN_PROGRESS and second.case.due_at == TUESDAY_15


def test_a_refusal_needs_the_platforms_reason() -> None:
    with pytest.raises(ValidationError) as missing:
        AnswerBody(status=TakedownStatus.REFUSED)
    assert [e["loc"] for e in missing.value.errors()] == [("reason",)]

    body = AnswerBody(status=TakedownStatus.REFUSED, reason="Không vi phạm tiêu chuẩn cộng đồng")
    plan = plan_answer(
        sent(working_case()), "req-1", body, actor="police", policy=POLICY, now=TUESDAY_9
    )
    assert plan.case.takedowns[-1].status == "refused"
    assert plan.case.takedowns[-1].answer_reason == "Không vi phạm tiêu chuẩn cộng đồng"


def test_an_answer_is_refused_on_a_request_not_awaiting_one() -> None:
    answered = plan_answer(
        sent(working_case()),
        "req-1",
        AnswerBody(status=TakedownStatus.PARTIAL),
        actor="police",
        policy=POLICY,
        now=TUESDAY_9,
    ).case
    again = AnswerBody(status=TakedownStatus.DONE)
    with pytest.raises(TakedownRefused, match="partial"):
        plan_answer(answered, "req-1", again, actor="police", policy=POLICY, now=TUESDAY_9)
    drafted = sent(working_case(), request_id="d-1", status=TakedownStatus.DRAFT)
    with pytest.raises(TakedownRefused, match="draft"):
        plan_answer(drafted, "d-1", again, actor="police", policy=POLICY, now=TUESDAY_9)
    with pytest.raises(TakedownNotFound):
        plan_answer(answered, "nope", again, actor="police", policy=POLICY, now=TUESDAY_9)


def test_an_answer_before_the_request_was_sent_is_refused_naming_answered_at() -> None:
    body = AnswerBody(status=TakedownStatus.NO_ANSWER, answered_at=MONDAY_9 - timedelta(hours=1))
    with pytest.raises(InvalidTakedown) as refused:
        plan_answer(
            sent(working_case()), "req-1", body, actor="police", policy=POLICY, now=TUESDAY_9
        )
    assert refused.value.field == "answered_at"


def test_a_draft_runs_no_clock_until_sent_and_sending_it_takes_up_an_assigned_case() -> None:
    assigned = working_case(status=CaseStatus.ASSIGNED, acknowledged_at=None)
    drafted = plan_record(
        assigned,
        TakedownBody(status=TakedownStatus.DRAFT, channel=Channel.EMAIL, asked=Asked.RESTRICT),
        actor="police",
        request_id="d-1",
        policy=POLICY,
        now=MONDAY_9,
    )
    assert drafted.case.status is CaseStatus.ASSIGNED and drafted.case.due_at == MONDAY_15
    assert drafted.case.takedowns[-1].legal_due_at is None
    assert announced(drafted).takedowns == []
    assert drafted.audit.action == "takedown_drafted"

    send = plan_send(drafted.case, "d-1", SendBody(), actor="police", policy=POLICY, now=MONDAY_9)
    request = send.case.takedowns[-1]
    assert (request.request_id, request.status, request.channel) == ("d-1", "sent", "email")
    assert request.legal_due_at == MONDAY_9 + timedelta(hours=24)
    assert send.case.status is CaseStatus.WAITING_ON_PLATFORM and send.case.due_at is None
    assert send.changes["due_at"] is None
    assert send.case.acknowledged_at == MONDAY_9  # sending it took the case up
    assert send.audit.from_status == "assigned" and send.audit.to_status == "waiting_on_platform"
    # Paused on the resolution deadline the start set, not on the acknowledgement one.
    # The resolution allowance (7 days: 7 working days of 8 hours), none of it used yet.
    assert send.case.internal_left_s == send.case.internal_budget_s == 7 * 8 * 3600
    with pytest.raises(TakedownRefused, match="not a draft"):
        plan_send(send.case, "d-1", SendBody(), actor="police", policy=POLICY, now=MONDAY_9)


def test_a_draft_is_discarded_and_kept_as_such_but_a_sent_request_is_not() -> None:
    drafted = sent(working_case(), request_id="d-1", status=TakedownStatus.DRAFT)
    plan = plan_discard(
        drafted, "d-1", DiscardBody(note="trùng"), actor="police", policy=POLICY, now=MONDAY_9
    )
    assert plan.case.takedowns[-1].status == "discarded"
    assert plan.case.status is CaseStatus.IN_PROGRESS and plan.audit.note == "trùng"
    with pytest.raises(TakedownRefused):
        plan_discard(
            sent(working_case()),
            "req-1",
            DiscardBody(),
            actor="police",
            policy=POLICY,
            now=MONDAY_9,
        )


@pytest.mark.parametrize(
    ("status", "draft_ok", "send_ok"),
    [
        (CaseStatus.RESOLVED, False, False),
        (CaseStatus.TRIAGE, False, False),
        (CaseStatus.APPEALED, True, False),
        (CaseStatus.ACKNOWLEDGED, True, True),
    ],
)
def test_where_requests_may_be_recorded_and_sent(
    status: CaseStatus, draft_ok: bool, send_ok: bool
) -> None:
    case = working_case(status=status)
    for draft, allowed in ((True, draft_ok), (False, send_ok)):
        extra: dict[str, Any] = {"status": TakedownStatus.DRAFT} if draft else {}
        if allowed:
            assert sent(case, **extra).takedowns
        else:
            with pytest.raises(TakedownRefused, match=status.value):
                sent(case, **extra)


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "fax", "asked": "remove"},
        {"channel": "email", "asked": "remove", "status": "done"},
        {"channel": "email", "asked": "remove", "status": "draft", "sent_at": MONDAY_9},
        {"channel": "email", "asked": "remove", "sent_at": "2026-11-30T09:00:00"},  # naive
        {"channel": "email", "asked": "remove", "platform": "face book"},
        {"channel": "email", "asked": "remove", "platform": "TikTok"},
        {"channel": "email", "asked": "remove", "extra": 1},
    ],
)
def test_a_bad_request_body_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TakedownBody.model_validate(body)


def test_the_view_says_whether_the_platform_is_late() -> None:
    request = sent(working_case()).takedowns[-1]
    assert not TakedownView.of(request, MONDAY_9 + timedelta(hours=23)).overdue
    late = TakedownView.of(request, MONDAY_9 + timedelta(hours=25))
    assert late.overdue and late.awaiting and late.answered_in_time is None


@pytest.mark.parametrize(
    ("category", "asked"),
    [
        (Category.HIJACKED_ACCOUNT, "restore_account"),
        (Category.IMPERSONATION, "remove_impersonating_page"),
    ],
)
def test_a_hijacked_account_or_impersonation_case_opens_with_a_draft_request(
    category: Category, asked: str
) -> None:
    for kind in (ReporterKind.CITIZEN, ReporterKind.OFFICIAL):
        case, [event] = plan_new_case(report(category, reporter_kind=kind), POLICY, MONDAY_9)
        assert isinstance(event, CaseAssigned)
        [draft] = case.takedowns
        assert (draft.status, draft.asked, draft.platform) == ("draft", asked, "facebook")
        assert draft.sent_at is None and draft.created_by == "routing"
        assert event.takedowns == []


def test_other_cases_open_without_a_draft_and_triage_has_none() -> None:
    case, _ = plan_new_case(report(Category.SCAM_FRAUD), POLICY, MONDAY_9)
    assert case.takedowns == []
    entry = new_case(Category.HIJACKED_ACCOUNT).report
    assert opening_drafts(entry, "triage", MONDAY_9) == []
