"""Takedown requests to platforms: each step planned as a pure function of (case, body, policy,
now) into what to store and announce.

Sending a request moves an open case to `waiting_on_platform`, pausing its internal clock (a
case not yet taken up is started first: sending is taking it up); the platform's answer to the
last request awaiting one brings it back to `in_progress` with the internal clock resumed. The
legal clock of each request (sent_at + the policy's `takedown_deadline`, calendar time) runs
until the platform answers; events carry the running ones in `takedowns`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.common.clock import to_millis
from services.common.contracts import CaseStatus
from services.routing.case import AuditRecord, Case, Takedown
from services.routing.clocks import join_notes, pause_internal, resume_internal
from services.routing.lifecycle import TRANSITIONS, Action, next_status
from services.routing.planning import ActionRequest, Plan, case_updated, changed_fields, plan_action
from services.routing.policy import Policy
from services.routing.takedown_terms import (
    AnswerBody,
    DiscardBody,
    SendBody,
    TakedownBody,
    TakedownStatus,
)

S = CaseStatus
# A request is recorded (drafted) on an open case an agency holds. It is sent where the case
# may wait on a platform, or from `assigned`: sending takes the case up (starts it) first. Not
# from `appealed`: the review comes first.
RECORD_FROM = (S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_ON_PLATFORM, S.APPEALED)
TAKEN_UP_BY_SENDING = (S.ASSIGNED,)
SEND_FROM = (*TAKEN_UP_BY_SENDING, *TRANSITIONS[Action.AWAIT_PLATFORM][0])
BACK_FROM = TRANSITIONS[Action.PLATFORM_ANSWERED][0]
MAX_REQUESTS = 50

SENT, DRAFTED, ANSWERED, DISCARDED = (
    "takedown_sent",
    "takedown_drafted",
    "takedown_answered",
    "takedown_discarded",
)


class TakedownRefused(Exception):
    """The step does not fit the case or the request as they stand (409)."""


class TakedownNotFound(Exception):
    """The case has no request with this id (404)."""


class InvalidTakedown(ValueError):
    """A well-formed body whose value does not fit (a time in the future, ...): 422 naming
    `field`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Step:
    """One step on a request: what it is (the audit and event action), by whom, when."""

    action: str
    request_id: str
    actor: str
    note: str | None
    now: datetime


def plan_record(
    case: Case, body: TakedownBody, *, actor: str, request_id: str, policy: Policy, now: datetime
) -> Plan:
    """Record a request: a draft, or one sent (the case then waits on the platform)."""
    _check_holds(case, RECORD_FROM, "record a takedown request on")
    if len(case.takedowns) >= MAX_REQUESTS:
        raise TakedownRefused(f"the case has {MAX_REQUESTS} requests already")
    request = Takedown(
        request_id=request_id,
        platform=body.platform or case.report.platform.value,
        channel=body.channel.value,
        asked=body.asked.value,
        reference=body.reference,
        status=TakedownStatus.DRAFT.value,
        created_at=now,
        created_by=actor,
        note=body.note,
    )
    if body.status is TakedownStatus.DRAFT:
        step = Step(DRAFTED, request_id, actor, body.note, now)
        return _plan(case, [*case.takedowns, request], step)
    return _plan_sending(
        case, request, body.sent_at, Step(SENT, request_id, actor, body.note, now), policy
    )


def plan_send(
    case: Case, request_id: str, body: SendBody, *, actor: str, policy: Policy, now: datetime
) -> Plan:
    """Send a draft: its legal clock starts, the case waits on the platform."""
    draft = _request(case, request_id)
    if draft.status != TakedownStatus.DRAFT:
        raise TakedownRefused(f"request {request_id} is {draft.status}, not a draft")
    ready = draft.model_copy(
        update={
            "channel": body.channel or draft.channel,
            "reference": body.reference or draft.reference,
            "note": body.note or draft.note,
        }
    )
    step = Step(SENT, request_id, actor, body.note, now)
    return _plan_sending(case, ready, body.sent_at, step, policy)


def plan_answer(
    case: Case, request_id: str, body: AnswerBody, *, actor: str, policy: Policy, now: datetime
) -> Plan:
    """Record the platform's answer; the last one awaited brings the case back in progress."""
    request = _request(case, request_id)
    if not request.awaiting:
        raise TakedownRefused(
            f"request {request_id} is {request.status}: only a sent request awaits an answer"
        )
    answered_at = _checked_time(body.answered_at, now, "answered_at")
    if request.sent_at is not None and answered_at < request.sent_at:
        raise InvalidTakedown("answered_at", "before the request was sent")
    answered = request.model_copy(
        update={
            "status": body.status.value,
            "answered_at": answered_at,
            "answered_by": actor,
            "answer_reason": body.reason,
            "reference": body.reference or request.reference,
        }
    )
    takedowns = _replaced(case.takedowns, answered)
    step = Step(ANSWERED, request_id, actor, body.note, now)
    if case.status not in BACK_FROM or any(t.awaiting for t in takedowns):
        return _plan(case, takedowns, step)
    fields, clock = resume_internal(case, policy, now)
    fields["status"] = next_status(case.status, Action.PLATFORM_ANSWERED)
    return _plan(case, takedowns, step, fields, clock)


def plan_discard(
    case: Case, request_id: str, body: DiscardBody, *, actor: str, policy: Policy, now: datetime
) -> Plan:
    """Set a draft aside, never sent (it stays on the case as `discarded`)."""
    draft = _request(case, request_id)
    if draft.status != TakedownStatus.DRAFT:
        raise TakedownRefused(f"request {request_id} is {draft.status}: only a draft is discarded")
    discarded = draft.model_copy(update={"status": TakedownStatus.DISCARDED.value})
    step = Step(DISCARDED, request_id, actor, body.note, now)
    return _plan(case, _replaced(case.takedowns, discarded), step)


def _plan_sending(
    case: Case, request: Takedown, sent_at: datetime | None, step: Step, policy: Policy
) -> Plan:
    """The request sent at `sent_at` (default now), its legal clock started, and the case
    waiting on the platform with its internal clock paused (taken up first if nobody had)."""
    _check_holds(case, SEND_FROM, "send a takedown request for")
    when = _checked_time(sent_at, step.now, "sent_at")
    if when < case.created_at:
        raise InvalidTakedown("sent_at", "before the case was opened")
    legal_due_at = to_millis(when + policy.takedown_deadline)
    sent = request.model_copy(
        update={
            "status": TakedownStatus.SENT.value,
            "sent_at": when,
            "sent_by": step.actor,
            "legal_due_at": legal_due_at,
        }
    )
    taken_up, start_clock = _taken_up(case, step.actor, policy, step.now)
    paused, pause_clock = pause_internal(taken_up, policy, step.now)
    fields = {
        **_taken_up_fields(case, taken_up),
        **paused,  # last: the started deadline is the one paused
        "status": next_status(taken_up.status, Action.AWAIT_PLATFORM),
    }
    legal_clock = f"legal clock of request {sent.request_id}: due {legal_due_at.isoformat()}"
    clock = join_notes(start_clock, pause_clock, legal_clock)
    return _plan(case, _replaced(case.takedowns, sent), step, fields, clock)


def _taken_up(case: Case, actor: str, policy: Policy, now: datetime) -> tuple[Case, str | None]:
    """The case as starting it would leave it, when sending the request is what takes it up,
    and the clock note of that start."""
    if case.status not in TAKEN_UP_BY_SENDING:
        return case, None
    start = plan_action(case, ActionRequest(Action.START, actor), policy, now)
    return start.case, start.audit.clock


def _taken_up_fields(before: Case, taken_up: Case) -> dict[str, Any]:
    """What starting the case changed: acknowledgement and its internal deadline."""
    names = ("acknowledged_at", "due_at", "internal_budget_s", "internal_left_s", "calendar")
    return {n: getattr(taken_up, n) for n in names if getattr(taken_up, n) != getattr(before, n)}


def _replaced(takedowns: list[Takedown], request: Takedown) -> list[Takedown]:
    """The requests with `request` in place of the one with its id (appended if new)."""
    ids = [t.request_id for t in takedowns]
    if request.request_id not in ids:
        return [*takedowns, request]
    return [request if t.request_id == request.request_id else t for t in takedowns]


def _plan(
    case: Case,
    takedowns: list[Takedown],
    step: Step,
    fields: dict[str, Any] | None = None,
    clock: str | None = None,
) -> Plan:
    """The plan of one step: the case with its requests and `fields`, one audit record, one
    `case.updated` announcing it with the requests' clocks."""
    updates = {**(fields or {}), "takedowns": takedowns, "version": case.version + 1}
    audit = AuditRecord(
        at=step.now,
        actor=step.actor,
        action=step.action,
        from_status=case.status.value,
        to_status=updates.get("status", case.status).value,
        note=step.note,
        agency=case.agency,
        clock=clock,
        request_id=step.request_id,
    )
    after = case.model_copy(
        update={**updates, "updated_at": step.now, "audit": [*case.audit, audit]}
    )
    event = case_updated(
        after, step.action, step.actor, step.now, from_status=case.status, note=step.note
    )
    return Plan(after, changed_fields(case, after), [event], audit)


def _check_holds(case: Case, allowed: tuple[CaseStatus, ...], what: str) -> None:
    """TakedownRefused unless the case is in one of `allowed` statuses."""
    if case.status not in allowed:
        raise TakedownRefused(
            f"cannot {what} a case that is {case.status.value}; "
            f"allowed when {', '.join(s.value for s in allowed)}"
        )


def _request(case: Case, request_id: str) -> Takedown:
    found = next((t for t in case.takedowns if t.request_id == request_id), None)
    if found is None:
        raise TakedownNotFound(request_id)
    return found


def _checked_time(value: datetime | None, now: datetime, field: str) -> datetime:
    """`value` (default now) to the millisecond; InvalidTakedown naming `field` if it lies in
    the future."""
    if value is None:
        return to_millis(now)
    if value > now:
        raise InvalidTakedown(field, "in the future")
    return to_millis(value)


Planner = Callable[[Case, Policy, datetime], Plan]
# The steps on a recorded request (API and console alike): the body each takes, its planner.
STEPS: dict[str, tuple[type[BaseModel], Callable[..., Plan]]] = {
    "send": (SendBody, plan_send),
    "answer": (AnswerBody, plan_answer),
    "discard": (DiscardBody, plan_discard),
}
