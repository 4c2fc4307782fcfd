"""Appeals, pure: a reporter's appeal reopens a decided case for review (or is refused with
a reason), and the review by someone other than the decider closes it again.

A reversal means the decision was wrong: the reviewer makes the new decision and the case
closes with it (as resolved or rejected, by its outcome); an upheld decision closes the case
as it was, with the reviewer's explanation. Either way the reporter sees the review's result
and cannot appeal again.
"""

from __future__ import annotations

from datetime import datetime

from services.common.contracts import CLOSED_STATUSES, AppealResult, CaseStatus, ReportAppealed
from services.routing.case import Appeal, AuditRecord, Case, Decision
from services.routing.clocks import calendar_for, internal_deadline, join_notes, legal_deadline
from services.routing.decisions import (
    DecisionInput,
    InvalidDecision,
    ReviewerConflict,
    make_decision,
    review_input,
    review_status,
)
from services.routing.lifecycle import Action, next_status
from services.routing.planning import (
    ActionRequest,
    Plan,
    applied,
    case_updated,
    changed_fields,
)
from services.routing.policy import Policy

REPORTER = "reporter"


class AppealRefused(Exception):
    """The appeal cannot be taken (the case keeps its decision); the message says why."""


def already_handled(case: Case, event: ReportAppealed) -> bool:
    """Whether this appeal event was taken or refused before (redelivery changes nothing)."""
    return any(a.event_id == event.event_id for a in case.appeals) or any(
        entry.event_id == event.event_id for entry in case.audit
    )


def appeal_problem(case: Case, event: ReportAppealed) -> str | None:
    """Why the appeal cannot be taken, or None when it can."""
    decision = case.decision
    if case.report_entry(event.report_id) is None:
        return f"report {event.report_id} is not one of the case's reports"
    if decision is None or case.status not in CLOSED_STATUSES:
        return f"the case has no decision to appeal (it is {case.status.value})"
    if any(a.report_id == event.report_id for a in case.appeals):
        return f"report {event.report_id} has appealed this case before"
    if decision.decided_at != event.decided_at:
        return "the decision appealed against is no longer the case's decision"
    if decision.appeal_until is None or event.occurred_at > decision.appeal_until:
        return "the appeal came after the appeal window closed"
    return None


def refusal_record(case: Case, event: ReportAppealed, reason: str, now: datetime) -> AuditRecord:
    """The audit line of a refused appeal (the case is otherwise unchanged)."""
    return AuditRecord(
        at=now,
        actor=REPORTER,
        action="appeal_refused",
        from_status=case.status.value,
        to_status=case.status.value,
        note=f"{event.tracking_code}: {reason}",
        event_id=event.event_id,
    )


def plan_appeal(case: Case, event: ReportAppealed, policy: Policy, now: datetime) -> Plan:
    """The case reopened as `appealed` with a review deadline of its own; AppealRefused."""
    if (problem := appeal_problem(case, event)) is not None:
        raise AppealRefused(problem)
    decision = case.decision
    assert decision is not None  # appeal_problem checked it
    old = case.status
    status = next_status(old, Action.APPEAL)
    calendar = calendar_for(case.agency, case.priority, policy)
    clock, clock_note = internal_deadline(
        policy.appeal_review_within, calendar, now, "started for the appeal's review"
    )
    legal, legal_note = legal_deadline(policy.legal_within, now)
    closed = decision.model_copy(update={"appeal_until": None})
    appeal = Appeal(
        event_id=event.event_id,
        report_id=event.report_id,
        tracking_code=event.tracking_code,
        reason=event.reason,
        appealed_at=event.occurred_at,
        against=decision.decided_at,
        decided_by=decision.decided_by,
    )
    audit = AuditRecord(
        at=now,
        actor=REPORTER,
        action=Action.APPEAL.value,
        from_status=old.value,
        to_status=status.value,
        note=f"{event.tracking_code}: {event.reason}",
        agency=case.agency,
        event_id=event.event_id,
        clock=join_notes(clock_note, legal_note),
    )
    updates = {
        **clock,
        **legal,
        "status": status,
        "version": case.version + 1,
        "closed_at": None,
        "joinable": False,  # new reports of the content open a case of their own
        "decision": closed,
        "decisions": [*case.decisions[:-1], closed],
        "appeals": [*case.appeals, appeal],
    }
    after = applied(case, updates, audit, now)
    event_out = case_updated(after, Action.APPEAL.value, REPORTER, now, from_status=old)
    return Plan(after, changed_fields(case, after), [event_out], audit)


def plan_review(case: Case, request: ActionRequest, policy: Policy, now: datetime) -> Plan:
    """The review of the appealed decision: upheld or reversed with the reviewer's decision,
    the case closed again. IllegalTransition unless appealed; ReviewerConflict when the actor
    made the decision; InvalidDecision naming the field."""
    old = case.status
    next_status(old, Action.REVIEW)
    appeal, appealed = _under_review(case)
    if request.actor == appealed.decided_by:
        raise ReviewerConflict(
            f"{request.actor} made the decision under appeal; someone else must review it"
        )
    if request.review is None or request.decision is None:
        raise InvalidDecision("result", "a review is upheld or reversed, with a decision")
    given = review_input(request.decision, request.review, appealed)
    status = review_status(given.outcome or appealed.outcome, appealed)
    decision = make_decision(case, given, status, request.actor, policy, now, request.review)
    reviewed = appeal.model_copy(
        update={"result": request.review, "reviewed_by": request.actor, "reviewed_at": now}
    )
    updates = {
        "status": status,
        "version": case.version + 1,
        "due_at": None,
        "internal_left_s": None,
        "closed_at": now,
        "decision": decision,
        "decisions": [*case.decisions, decision],
        "outcome": decision.outcome.value,
        "appeals": [*case.appeals[:-1], reviewed],
    }
    audit = _review_record(request, decision, old, case.agency, now)
    after = applied(case, updates, audit, now)
    event = case_updated(
        after,
        Action.REVIEW.value,
        request.actor,
        now,
        from_status=old,
        note=request.note,
        outcome=decision.outcome.value,
    )
    return Plan(after, changed_fields(case, after), [event], audit)


def _under_review(case: Case) -> tuple[Appeal, Decision]:
    """The open appeal and the decision it contests."""
    if not case.appeals or case.appeals[-1].result is not None or case.decision is None:
        raise InvalidDecision("result", "the case has no appeal waiting for review")
    return case.appeals[-1], case.decision


def _review_record(
    request: ActionRequest, decision: Decision, old: CaseStatus, agency: str, now: datetime
) -> AuditRecord:
    result = decision.review.value if decision.review else "reviewed"
    return AuditRecord(
        at=now,
        actor=request.actor,
        person=request.person,
        action=Action.REVIEW.value,
        from_status=old.value,
        to_status=decision.status.value,
        note=request.note,
        agency=agency,
        outcome=f"{result}: {decision.outcome.value}",
        clock="internal clock stopped: the review closed the case",
    )


def review_request(
    actor: str, result: AppealResult, decision: DecisionInput, note: str | None
) -> ActionRequest:
    """The action request of a review."""
    return ActionRequest(
        action=Action.REVIEW, actor=actor, note=note, decision=decision, review=result
    )
