"""Decisions as pure functions of (case, request, policy, now): what to store and announce."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.common.content import ContentUrlError, content_key
from services.common.contracts import (
    AnyEvent,
    AppealResult,
    CaseAssigned,
    CaseStatus,
    CaseUpdated,
    Category,
    Priority,
    ReporterKind,
    ReportSubmitted,
    new_event_id,
)
from services.common.geography import province_code_of
from services.common.mongo import Document
from services.routing.case import (
    AuditRecord,
    Case,
    CaseNote,
    CaseReport,
    CaseReportEntry,
    is_open_status,
)
from services.routing.clocks import (
    calendar_for,
    internal_deadline,
    join_notes,
    legal_deadline,
    start_internal,
)
from services.routing.decisions import DecisionInput, InvalidDecision, make_decision
from services.routing.lifecycle import (
    Action,
    Deadlines,
    IllegalTransition,
    deadline_change,
    next_status,
)
from services.routing.policy import PRIORITY_RANK, Assignment, Policy
from services.routing.takedown_terms import opening_drafts
from services.routing.visibility import may_see, reassignment_problem

REPORT_FIELDS = set(CaseReport.model_fields)
ENTRY_FIELDS = set(CaseReportEntry.model_fields) - {"reported_at"}
PRIORITY_RAISED = "priority_raised"
CLOSING = (Action.RESOLVE, Action.REJECT, Action.REVIEW)


class InvalidReassignment(ValueError):
    """The reassignment target is not acceptable."""


class AlreadyWithAgency(InvalidReassignment):
    """A reassignment to the agency that already holds the case: a conflict with its state."""


class SensitiveReassignment(InvalidReassignment):
    """A sensitive case sent to another agency than the party committee (`visibility`)."""


@dataclass(frozen=True)
class ActionRequest:
    """An action with what the caller supplied."""

    action: Action
    actor: str
    note: str | None = None
    person: str | None = None  # the audit name of the person acting, when one is
    target_agency: str | None = None
    decision: DecisionInput | None = None
    review: AppealResult | None = None


@dataclass(frozen=True)
class Plan:
    """What an action does: the case as it will be stored, its changed fields, events, audit."""

    case: Case
    changes: Document
    events: list[AnyEvent]
    audit: AuditRecord


def report_entry(report: ReportSubmitted) -> CaseReportEntry:
    """The report as a case keeps it."""
    return CaseReportEntry.model_validate(
        {**report.model_dump(include=ENTRY_FIELDS), "reported_at": report.occurred_at}
    )


def report_content_key(report: ReportSubmitted) -> str:
    """The content key of a report: its first content URL's. A URL that cannot be keyed gives
    the report a key of its own (`report:<report id>`), so it never joins another case."""
    try:
        return str(content_key(report.content_urls[0]))
    except ContentUrlError:
        return f"report:{report.report_id}"


def plan_new_case(
    report: ReportSubmitted, policy: Policy, now: datetime, case_id: str | None = None
) -> tuple[Case, list[AnyEvent]]:
    """The case a report opens, routed by the policy, and its `case.assigned` event."""
    return plan_case_of(report_entry(report), report_content_key(report), policy, now, case_id)


def plan_case_of(
    report: CaseReportEntry,
    key: str,
    policy: Policy,
    now: datetime,
    case_id: str | None = None,
    reason: str | None = None,
) -> tuple[Case, list[AnyEvent]]:
    """The case `report` opens (a new report, or one split off), and its `case.assigned`."""
    assignment = policy.route(
        report.category,
        province_code_of(report.province_code, report.province),
        report.commune_code,
        report.reporter_kind,
    )
    status = CaseStatus.TRIAGE if assignment.rule_id is None else CaseStatus.ASSIGNED
    official = report.reporter_kind is ReporterKind.OFFICIAL
    raised = raised_priority(policy, report.category, assignment.priority, 1, official)
    priority = raised or assignment.priority
    fields, clock_note = _assignment_fields(assignment, priority, policy, now)
    legal, legal_note = legal_deadline(assignment.legal_within, now)
    audit = [_assign_record(assignment, status, now, join_notes(clock_note, legal_note))]
    if raised is not None:
        audit.append(priority_record(assignment.priority, raised, status, 1, "routing", now))
    case = Case(
        case_id=case_id or uuid.uuid4().hex,
        report_id=report.report_id,
        tracking_code=report.tracking_code,
        report=CaseReport.model_validate(report.model_dump(include=REPORT_FIELDS)),
        reported_at=report.reported_at,
        content_key=key,
        reports=[report],
        reporter_keys=[report.reporter_key],
        reporters=1,
        category=report.category,
        status=status,
        version=1,
        created_at=now,
        updated_at=now,
        audit=audit,
        takedowns=opening_drafts(report, assignment.agency, now),
        **fields,
        **legal,
    )
    return case, [assigned_event(case, now, reason=reason)]


def raised_priority(
    policy: Policy, category: Category, current: Priority, reporters: int, any_official: bool
) -> Priority | None:
    """The priority the policy's thresholds raise a case to, or None when they do not (a
    priority is never lowered)."""
    reached = policy.threshold_priority(category, reporters, any_official)
    if reached is None or PRIORITY_RANK[reached] <= PRIORITY_RANK[current]:
        return None
    return reached


def priority_record(
    old: Priority, new: Priority, status: CaseStatus, reporters: int, actor: str, now: datetime
) -> AuditRecord:
    """The audit line of a priority raised by the policy's thresholds."""
    return AuditRecord(
        at=now,
        actor=actor,
        action=PRIORITY_RAISED,
        from_status=status.value,
        to_status=status.value,
        note=f"{old.value} -> {new.value}: {reporters} distinct reporter(s) (policy threshold)",
    )


def plan_action(case: Case, request: ActionRequest, policy: Policy, now: datetime) -> Plan:
    """The plan of one action on `case`; IllegalTransition / InvalidReassignment if refused."""
    old = case.status
    new = next_status(old, request.action)
    if request.action is Action.REASSIGN:
        return _plan_reassign(case, request, policy, now)
    if request.action is Action.REVIEW:
        raise IllegalTransition(old, request.action)  # reviews are planned by appeals.plan_review
    clock, clock_note = internal_after(case, request.action, new, policy, now)
    updates: dict[str, Any] = {"status": new, "version": case.version + 1, **clock}
    closing = request.action in (Action.RESOLVE, Action.REJECT)
    if closing:
        updates.update(decision_fields(case, request, new, policy, now))
        updates["closed_at"] = now
    if request.action is Action.NOTE:
        note = CaseNote(at=now, actor=request.actor, text=request.note or "")
        updates["notes"] = [*case.notes, note]
    if new is CaseStatus.ACKNOWLEDGED or (
        new is CaseStatus.IN_PROGRESS and case.acknowledged_at is None
    ):
        updates["acknowledged_at"] = now
    audit = _record(now, request, old, new, case.agency, outcome=updates.get("outcome"))
    audit = audit.model_copy(update={"clock": clock_note})
    after = applied(case, updates, audit, now)
    event = updated_event(after, request, old, now)
    return Plan(after, changed_fields(case, after), [event], audit)


def internal_after(
    case: Case, action: Action, new: CaseStatus, policy: Policy, now: datetime
) -> tuple[Document, str | None]:
    """The internal clock's fields after `action` (none when it is unchanged) and its note."""
    change = deadline_change(action, case.status, new, _deadlines(case))
    if not change.restart or not is_open_status(case.status):
        return {}, None  # a note on a closed case moves no clock
    if not is_open_status(new):
        return {"due_at": None, "internal_left_s": None}, None
    calendar = calendar_for(case.agency, case.priority, policy)
    return internal_deadline(change.allowance, calendar, now, "resolve-by started")


def decision_fields(
    case: Case, request: ActionRequest, status: CaseStatus, policy: Policy, now: datetime
) -> Document:
    """The decision closing `case` as `status` and the fields it sets; InvalidDecision."""
    if request.decision is None:
        raise InvalidDecision("decision", "closing a case takes a decision")
    decision = make_decision(case, request.decision, status, request.actor, policy, now)
    return {
        "decision": decision,
        "decisions": [*case.decisions, decision],
        "outcome": decision.outcome.value,
    }


def _plan_reassign(case: Case, request: ActionRequest, policy: Policy, now: datetime) -> Plan:
    """Reassignment: the old agency's `case.updated` (v+1), then the new one's `case.assigned`
    (v+2), so every consumer orders them by version alone."""
    target = _reassignment_target(case, request, policy)
    assignment = policy.route_to(
        target,
        case.category,
        province_code_of(case.report.province_code, case.report.province),
        case.report.commune_code,
        case.report.reporter_kind,
    )
    left = case.model_copy(
        update={
            "status": CaseStatus.ASSIGNED,
            "version": case.version + 1,
            "due_at": None,
            "internal_left_s": None,
        }
    )
    fields, clock_note = _assignment_fields(assignment, assignment.priority, policy, now)
    # Agencies informed stay informed (as the legal clock stays), the new owner excepted, and
    # only those that may see the case at all.
    informed = dict.fromkeys([*case.informed, *assignment.inform])
    fields["informed"] = [
        agency for agency in informed if agency != target and may_see(agency, case.category)
    ]
    updates = {
        **fields,
        "status": CaseStatus.ASSIGNED,
        "version": case.version + 2,
        "acknowledged_at": None,
        "assignee": None,  # the new agency's lead assigns it to one of theirs
        "assignee_name": None,
    }
    audit = _record(now, request, case.status, CaseStatus.ASSIGNED, target, case.agency)
    reason = f"on reassignment to {target}, the legal clock kept"
    audit = audit.model_copy(update={"clock": f"{clock_note} ({reason})"})
    after = applied(case, updates, audit, now)
    events: list[AnyEvent] = [
        updated_event(left, request, case.status, now, reassigned_to=target),
        assigned_event(after, now, previous_agency=case.agency, reason=request.note),
    ]
    return Plan(after, changed_fields(case, after), events, audit)


def _reassignment_target(case: Case, request: ActionRequest, policy: Policy) -> str:
    target = request.target_agency
    if target is None or target not in policy.agencies:
        raise InvalidReassignment(f"unknown agency {target!r}; known: {', '.join(policy.agencies)}")
    if (problem := reassignment_problem(case.category, target)) is not None:
        raise SensitiveReassignment(problem)
    if target == case.agency:
        raise AlreadyWithAgency(f"the case is already with {target}")
    return target


def _assignment_fields(
    assignment: Assignment, priority: Priority, policy: Policy, now: datetime
) -> tuple[Document, str]:
    """The fields a case takes from where it was routed, with its internal clock started
    (acknowledge by), and the clock's audit note."""
    resolve_within = assignment.resolve_within
    clock, note = start_internal(assignment.agency, priority, assignment.deadline, policy, now)
    fields = {
        "agency": assignment.agency,
        "priority": priority,
        **clock,
        "acknowledge_within_s": assignment.deadline.total_seconds(),
        "resolve_within_s": resolve_within.total_seconds() if resolve_within else None,
        "rule_id": assignment.rule_id,
        "policy_version": policy.version,
        "informed": list(assignment.inform),
        "inform_contact": assignment.inform_contact,
    }
    return fields, note


def _deadlines(case: Case) -> Deadlines:
    resolve = case.resolve_within_s
    return Deadlines(
        timedelta(seconds=case.acknowledge_within_s),
        timedelta(seconds=resolve) if resolve else None,
    )


def applied(case: Case, updates: Document, audit: AuditRecord, now: datetime) -> Case:
    """The case after `updates`, stamped and audited."""
    return case.model_copy(update={**updates, "updated_at": now, "audit": [*case.audit, audit]})


def changed_fields(before: Case, after: Case) -> Document:
    """The stored fields that differ, to `$set` (the audit entry is pushed on its own)."""
    old, new = before.to_document(), after.to_document()
    return {k: v for k, v in new.items() if k != "audit" and old.get(k) != v}


def _assign_record(
    assignment: Assignment, status: CaseStatus, now: datetime, clock: str | None
) -> AuditRecord:
    return AuditRecord(
        at=now,
        actor="routing",
        action="assign",
        from_status=None,
        to_status=status.value,
        note=f"rule {assignment.rule_id or '(none: triage)'}",
        agency=assignment.agency,
        clock=clock,
    )


def _record(
    now: datetime,
    request: ActionRequest,
    old: CaseStatus,
    new: CaseStatus,
    agency: str,
    previous: str | None = None,
    outcome: str | None = None,
) -> AuditRecord:
    return AuditRecord(
        at=now,
        actor=request.actor,
        person=request.person,
        action=request.action.value,
        from_status=old.value,
        to_status=new.value,
        note=request.note,
        agency=agency,
        outcome=outcome,
        previous_agency=previous,
    )


def case_event_fields(case: Case, now: datetime) -> Document:
    """The fields every case event takes from the case."""
    return {
        "event_id": new_event_id(),
        "occurred_at": now,
        "case_id": case.case_id,
        "report_id": case.report_id,
        "tracking_code": case.tracking_code,
        "agency": case.agency,
        "category": case.category,
        "priority": case.priority,
        "status": case.status,
        "version": case.version,
        "due_at": case.due_at,
        "province": case.report.province,
        "province_code": province_code_of(case.report.province_code, case.report.province),
        "district": case.report.district,
        "content_key": case.content_key,
        "reporters": case.reporters,
        "legal_due_at": case.legal_due_at,
        "calendar": case.calendar,
        "internal_budget_s": case.internal_budget_s,
        "takedowns": [c for t in case.takedowns if (c := t.clock())] if case.is_open else [],
        "decision": None
        if case.decision is None
        else case.decision.public(case.decision.appeal_until),
        "informed": case.informed,
    }


def assigned_event(case: Case, now: datetime, **extra: Any) -> CaseAssigned:
    """`case.assigned.<agency>` for the case as it now stands."""
    return CaseAssigned(
        **case_event_fields(case, now),
        policy_version=case.policy_version,
        rule_id=case.rule_id,
        **extra,
    )


def updated_event(
    case: Case,
    request: ActionRequest,
    old: CaseStatus,
    now: datetime,
    reassigned_to: str | None = None,
) -> CaseUpdated:
    """`case.updated.<agency>` announcing `request` done on `case`."""
    return CaseUpdated(
        **case_event_fields(case, now),
        action=request.action.value,
        from_status=old,
        actor=request.actor,
        note=request.note,
        outcome=case.outcome if request.action in CLOSING else None,
        reassigned_to=reassigned_to,
    )


def case_updated(
    case: Case,
    action: str,
    actor: str,
    now: datetime,
    *,
    from_status: CaseStatus | None = None,
    **extra: Any,
) -> CaseUpdated:
    """`case.updated.<agency>` announcing a change that is not a lifecycle action (a report
    joined, split off or merged in, a priority raised)."""
    return CaseUpdated(
        **case_event_fields(case, now),
        action=action,
        from_status=from_status or case.status,
        actor=actor,
        **extra,
    )
