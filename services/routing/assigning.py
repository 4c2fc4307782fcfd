"""An agency lead assigns one of the agency's cases to one of its officers: a pure plan whose
audit line names both (the lead as the person acting, the officer in the note)."""

from __future__ import annotations

from datetime import datetime

from services.routing.case import AuditRecord, Case
from services.routing.people import AGENCY_ROLES, Person
from services.routing.planning import Plan, applied, case_updated, changed_fields

ASSIGN_OFFICER = "assign_officer"


class InvalidAssignee(ValueError):
    """The officer named is not an active officer of the agency holding the case (422): one
    message whether the account is missing, disabled or of another agency, so that the refusal
    does not tell which accounts exist elsewhere."""

    def __init__(self, officer_id: str) -> None:
        super().__init__(f"{officer_id!r} is not an active officer of the agency holding the case")


class AssignConflict(Exception):
    """The case cannot take this assignment as it stands: closed, or already theirs (409)."""


def plan_assign(
    case: Case, officer: Person, *, actor: str, person: Person | None, now: datetime
) -> Plan:
    """Assign `case` to `officer`; InvalidAssignee or AssignConflict when it may not be."""
    if officer.role not in AGENCY_ROLES or officer.agency != case.agency:
        raise InvalidAssignee(officer.account_id)
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
