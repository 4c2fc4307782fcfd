"""Decisions as pure functions of (case, request, policy, now): what to store and announce."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.common.contracts import (
    AnyEvent,
    CaseAssigned,
    CaseStatus,
    CaseUpdated,
    ReportSubmitted,
    new_event_id,
)
from services.common.mongo import Document
from services.routing.case import AuditRecord, Case, CaseNote, CaseReport, is_open_status
from services.routing.lifecycle import Action, Deadlines, due_after, next_status
from services.routing.policy import Assignment, Policy

REPORT_FIELDS = set(CaseReport.model_fields)


class InvalidReassignment(ValueError):
    """The reassignment target is not acceptable."""


class AlreadyWithAgency(InvalidReassignment):
    """A reassignment to the agency that already holds the case: a conflict with its state."""


@dataclass(frozen=True)
class ActionRequest:
    """An action with what the caller supplied."""

    action: Action
    actor: str
    note: str | None = None
    outcome: str | None = None
    target_agency: str | None = None


@dataclass(frozen=True)
class Plan:
    """What an action does: the case as it will be stored, its changed fields, events, audit."""

    case: Case
    changes: Document
    events: list[AnyEvent]
    audit: AuditRecord


def plan_new_case(
    report: ReportSubmitted, policy: Policy, now: datetime, case_id: str | None = None
) -> tuple[Case, list[AnyEvent]]:
    """The case a report becomes, routed by the policy, and its `case.assigned` event."""
    assignment = policy.route(
        report.category, report.province, report.district, report.reporter_kind
    )
    status = CaseStatus.TRIAGE if assignment.rule_id is None else CaseStatus.ASSIGNED
    case = Case(
        case_id=case_id or uuid.uuid4().hex,
        report_id=report.report_id,
        tracking_code=report.tracking_code,
        report=CaseReport.model_validate(report.model_dump(include=REPORT_FIELDS)),
        reported_at=report.occurred_at,
        category=report.category,
        status=status,
        version=1,
        created_at=now,
        updated_at=now,
        audit=[_assign_record(assignment, status, now)],
        **_assignment_fields(assignment, policy.version, now),
    )
    return case, [assigned_event(case, now)]


def plan_action(case: Case, request: ActionRequest, policy: Policy, now: datetime) -> Plan:
    """The plan of one action on `case`; IllegalTransition / InvalidReassignment if refused."""
    old = case.status
    new = next_status(old, request.action)
    if request.action is Action.REASSIGN:
        return _plan_reassign(case, request, policy, now)
    updates: dict[str, Any] = {
        "status": new,
        "version": case.version + 1,
        "due_at": due_after(request.action, old, new, case.due_at, _deadlines(case), now),
    }
    if request.outcome:
        updates["outcome"] = request.outcome
    if request.action is Action.NOTE:
        note = CaseNote(at=now, actor=request.actor, text=request.note or "")
        updates["notes"] = [*case.notes, note]
    if new is CaseStatus.ACKNOWLEDGED or (
        new is CaseStatus.IN_PROGRESS and case.acknowledged_at is None
    ):
        updates["acknowledged_at"] = now
    if not is_open_status(new):
        updates["closed_at"] = now
    audit = _record(now, request, old, new, case.agency)
    after = _apply(case, updates, audit, now)
    return Plan(after, _changes(case, after), [updated_event(after, request, old, now)], audit)


def _plan_reassign(case: Case, request: ActionRequest, policy: Policy, now: datetime) -> Plan:
    """Reassignment: the old agency's `case.updated` (v+1), then the new one's `case.assigned`
    (v+2), so every consumer orders them by version alone."""
    target = _reassignment_target(case, request, policy)
    assignment = policy.route_to(
        target,
        case.category,
        case.report.province,
        case.report.district,
        case.report.reporter_kind,
    )
    left = case.model_copy(
        update={"status": CaseStatus.ASSIGNED, "version": case.version + 1, "due_at": None}
    )
    updates = {
        **_assignment_fields(assignment, policy.version, now),
        "status": CaseStatus.ASSIGNED,
        "version": case.version + 2,
        "acknowledged_at": None,
    }
    audit = _record(now, request, case.status, CaseStatus.ASSIGNED, target, case.agency)
    after = _apply(case, updates, audit, now)
    events: list[AnyEvent] = [
        updated_event(left, request, case.status, now, reassigned_to=target),
        assigned_event(after, now, previous_agency=case.agency, reason=request.note),
    ]
    return Plan(after, _changes(case, after), events, audit)


def _reassignment_target(case: Case, request: ActionRequest, policy: Policy) -> str:
    target = request.target_agency
    if target is None or target not in policy.agencies:
        raise InvalidReassignment(f"unknown agency {target!r}; known: {', '.join(policy.agencies)}")
    if target == case.agency:
        raise AlreadyWithAgency(f"the case is already with {target}")
    return target


def _assignment_fields(assignment: Assignment, policy_version: str, now: datetime) -> Document:
    """The fields a case takes from where it was routed."""
    resolve_within = assignment.resolve_within
    return {
        "agency": assignment.agency,
        "priority": assignment.priority,
        "due_at": now + assignment.deadline,
        "acknowledge_within_s": assignment.deadline.total_seconds(),
        "resolve_within_s": resolve_within.total_seconds() if resolve_within else None,
        "rule_id": assignment.rule_id,
        "policy_version": policy_version,
    }


def _deadlines(case: Case) -> Deadlines:
    resolve = case.resolve_within_s
    return Deadlines(
        timedelta(seconds=case.acknowledge_within_s),
        timedelta(seconds=resolve) if resolve else None,
    )


def _apply(case: Case, updates: Document, audit: AuditRecord, now: datetime) -> Case:
    """The case after `updates`, stamped and audited."""
    return case.model_copy(update={**updates, "updated_at": now, "audit": [*case.audit, audit]})


def _changes(before: Case, after: Case) -> Document:
    """The stored fields that differ, to `$set` (the audit entry is pushed on its own)."""
    old, new = before.to_document(), after.to_document()
    return {k: v for k, v in new.items() if k != "audit" and old.get(k) != v}


def _assign_record(assignment: Assignment, status: CaseStatus, now: datetime) -> AuditRecord:
    return AuditRecord(
        at=now,
        actor="routing",
        action="assign",
        from_status=None,
        to_status=status.value,
        note=f"rule {assignment.rule_id or '(none: triage)'}",
        agency=assignment.agency,
    )


def _record(
    now: datetime,
    request: ActionRequest,
    old: CaseStatus,
    new: CaseStatus,
    agency: str,
    previous: str | None = None,
) -> AuditRecord:
    return AuditRecord(
        at=now,
        actor=request.actor,
        action=request.action.value,
        from_status=old.value,
        to_status=new.value,
        note=request.note,
        agency=agency,
        outcome=request.outcome or None,
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
        "district": case.report.district,
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
        outcome=request.outcome,
        reassigned_to=reassigned_to,
    )
