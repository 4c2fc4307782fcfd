"""Agency and supervisor actions on a case: load, plan, write conditionally, wake the relay."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from services.common.clock import Clock
from services.common.geography import province, province_code_of
from services.common.mongo import Document
from services.routing.case import Case
from services.routing.cases import CaseRepository, UnreadableCase
from services.routing.people import Person, Role
from services.routing.planning import (
    ActionRequest,
    AlreadyWithAgency,
    InvalidReassignment,
    Plan,
    SensitiveReassignment,
    plan_action,
)
from services.routing.policy import Policy
from services.routing.sharing import InformedOnly, only_informed
from services.routing.visibility import SUPERVISOR, may_see

log = logging.getLogger(__name__)

__all__ = [
    "SUPERVISOR",
    "ActionRequest",
    "AlreadyWithAgency",
    "CaseActions",
    "CaseNotFound",
    "ConcurrentChange",
    "InformedOnly",
    "InvalidReassignment",
    "SensitiveReassignment",
    "UnreadableCase",
    "in_scope",
    "readable_by",
    "scope_criteria",
    "within_scope",
]


class CaseNotFound(Exception):
    """No such case in the caller's scope."""


class ConcurrentChange(Exception):
    """The case kept changing under us; the caller may retry."""


def in_scope(agency: str | None, principal: str) -> bool:
    """Whether `principal` may see and act on a case with `agency` (a supervisor sees all)."""
    return agency is not None and (principal == SUPERVISOR or agency == principal)


def readable_by(case: Case, principal: str, person: Person | None = None) -> bool:
    """Whether `principal` may read `case`: in scope or informed of it, and, for a sensitive
    case, the party committee or a supervisor, not an auditor (anyone else gets the 404 of a
    case out of scope, even an agency holding it or informed of it)."""
    seen = in_scope(case.agency, principal) or only_informed(case, principal)
    auditor = person is not None and person.auditing
    return seen and may_see(principal, case.category, auditor=auditor)


def _scoped(person: Person | None) -> Person | None:
    """The person when a scope narrows what they see (a supervisor's or an auditor's)."""
    if person is None or person.role not in (Role.SUPERVISOR, Role.AUDITOR):
        return None
    return person if person.scope_agencies or person.scope_provinces else None


def within_scope(case: Case, person: Person | None) -> bool:
    """Whether `case` is in the person's scope: a supervisor's agencies and provinces (an
    empty list: all); officers, leads and callers without a person are scoped by principal."""
    scoped = _scoped(person)
    if scoped is None:
        return True
    if scoped.scope_agencies and case.agency not in scoped.scope_agencies:
        return False
    code = province_code_of(case.report.province_code, case.report.province)
    return not scoped.scope_provinces or code in scoped.scope_provinces


def scope_criteria(person: Person | None) -> tuple[Document, ...]:
    """The case-list criteria of `within_scope` (a report stored with an old province name and
    no code is found by `within_scope` alone, on its page)."""
    scoped = _scoped(person)
    if scoped is None:
        return ()
    criteria: list[Document] = []
    if scoped.scope_agencies:
        criteria.append({"agency": {"$in": sorted(scoped.scope_agencies)}})
    if scoped.scope_provinces:
        codes = sorted(scoped.scope_provinces)
        names = [found.name for code in codes if (found := province(code)) is not None]
        by_name = {"report.province_code": None, "report.province": {"$in": names}}
        criteria.append({"$or": [{"report.province_code": {"$in": codes}}, by_name]})
    return tuple(criteria)


def with_person(plan: Plan, person: Person | None) -> Plan:
    """The plan with its audit line naming the person who acted."""
    if person is None or plan.audit.person is not None:
        return plan
    return replace(plan, audit=plan.audit.model_copy(update={"person": person.audit_name}))


@dataclass
class CaseActions:
    """Performs actions with optimistic concurrency on the case version."""

    repository: CaseRepository
    policy: Policy
    clock: Clock
    stored_hook: Callable[[], None]
    max_attempts: int = 20

    async def load(self, case_id: str, principal: str, person: Person | None = None) -> Case:
        """The case if `principal` may see it (`readable_by`) and it is in the person's scope
        (`within_scope`); CaseNotFound, or UnreadableCase when in scope."""
        try:
            case = await self.repository.get(case_id)
        except UnreadableCase as exc:
            scoped = _scoped(person)
            agencies = scoped.scope_agencies if scoped else frozenset()
            outside = bool(agencies) and exc.agency not in agencies
            if not in_scope(exc.agency, principal) or outside:
                raise CaseNotFound(case_id) from None
            raise
        if (
            case is None
            or not readable_by(case, principal, person)
            or not within_scope(case, person)
        ):
            raise CaseNotFound(case_id)
        return case

    async def perform(
        self, case_id: str, principal: str, request: ActionRequest, person: Person | None = None
    ) -> Case:
        """Apply the lifecycle action and return the case as stored.

        Raises CaseNotFound, UnreadableCase, IllegalTransition, InvalidReassignment,
        InvalidDecision, or ConcurrentChange when the case kept changing under every attempt.
        """

        def plan(case: Case, policy: Policy, now: datetime) -> Plan:
            return plan_action(case, request, policy, now)

        return await self.change(
            case_id, principal, plan, action=request.action.value, person=person
        )

    async def change(
        self,
        case_id: str,
        principal: str,
        plan: Callable[[Case, Policy, datetime], Plan],
        *,
        action: str = "change",
        person: Person | None = None,
    ) -> Case:
        """Plan a change of the case (read fresh on every attempt) and store it conditionally
        on the version it was planned from; the case as stored, its audit line naming
        `person` (the one signed in to the console) when given.

        Raises CaseNotFound, UnreadableCase, InformedOnly (an agency informed of the case
        reads it, never acts on it), ConcurrentChange, and whatever `plan` raises.
        """
        for attempt in range(self.max_attempts):
            if attempt:  # lost a race on the version: back off a little, with jitter
                await asyncio.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
            case = await self.load(case_id, principal, person)
            if only_informed(case, principal):
                raise InformedOnly(case_id, principal)
            now = self.clock()
            planned = with_person(plan(case, self.policy, now), person)
            stored = await self.repository.write_change(case, planned, now)
            if stored is not None:
                self.stored_hook()
                log.info(
                    "case action",
                    extra={
                        "case_id": case_id,
                        "action": action,
                        "actor": planned.audit.actor,
                        "person": planned.audit.person,
                        "to": stored.status.value,
                    },
                )
                return stored
        raise ConcurrentChange(case_id)
