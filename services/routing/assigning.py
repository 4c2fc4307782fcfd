"""An agency lead assigns one of the agency's cases to one of its officers: a pure plan whose
audit line names both (the lead as the person acting, the officer in the note)."""

from __future__ import annotations

from datetime import datetime

from services.routing.case import AuditRecord, Case
from services.routing.people import AGENCY_ROLES, Person
from services.routing.planning import Plan, applied, case_updated, changed_fields

ASSIGN_OFFICER = "assign_officer"


class InvalidAssignee(ValueError):
    """The officer named is not an active officer of the agency holding the case (422)."""


class AssignConflict(Exception):
    """The case cannot take this assignment as it stands: closed, or already theirs (409)."""


def plan_assign(
    case: Case, officer: Person, *, actor: str, person: Person | None, now: datetime
) -> Plan:
    """Assign `case` to `officer`; InvalidAssignee or AssignConflict when it may not be."""
    if officer.role not in AGENCY_ROLES or officer.agency != case.agency:
        raise InvalidAssignee(f"{officer.account_id} is not an officer of {case.agency}")
    if not case.is_open:
        raise AssignConflict(f"the case is {case.status.value}: a closed case is not assigned")
    if case.assignee == officer.account_id:
        raise AssignConflict(f"the case is already assigned to {officer.account_id}")
    audit = AuditRecord(
        at=now,
        actor=actor,
        person=None if person is None else person.audit_name,
        action=ASSIGN_OFFICER,
        from_status=case.status.value,
        to_status=case.status.value,
        note=f"assigned to {officer.audit_name}",
        agency=case.agency,
    )
    updates = {
        "assignee": officer.account_id,
        "assignee_name": officer.name,
        "version": case.version + 1,
    }
    after = applied(case, updates, audit, now)
    event = case_updated(after, ASSIGN_OFFICER, actor, now)
    return Plan(after, changed_fields(case, after), [event], audit)
