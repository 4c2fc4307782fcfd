"""Agency and supervisor actions on a case: load, plan, write conditionally, wake the relay."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.common.clock import Clock
from services.routing.case import Case
from services.routing.cases import CaseRepository, UnreadableCase
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
]


class CaseNotFound(Exception):
    """No such case in the caller's scope."""


class ConcurrentChange(Exception):
    """The case kept changing under us; the caller may retry."""


def in_scope(agency: str | None, principal: str) -> bool:
    """Whether `principal` may see and act on a case with `agency` (a supervisor sees all)."""
    return agency is not None and (principal == SUPERVISOR or agency == principal)


def readable_by(case: Case, principal: str) -> bool:
    """Whether `principal` may read `case`: in scope or informed of it, and, for a sensitive
    case, the party committee or a supervisor (anyone else gets the 404 of a case out of
    scope, even an agency holding it or informed of it)."""
    seen = in_scope(case.agency, principal) or only_informed(case, principal)
    return seen and may_see(principal, case.category)


@dataclass
class CaseActions:
    """Performs actions with optimistic concurrency on the case version."""

    repository: CaseRepository
    policy: Policy
    clock: Clock
    stored_hook: Callable[[], None]
    max_attempts: int = 20

    async def load(self, case_id: str, principal: str) -> Case:
        """The case if `principal` may see it (`readable_by`); CaseNotFound, or UnreadableCase
        when in scope."""
        try:
            case = await self.repository.get(case_id)
        except UnreadableCase as exc:
            if not in_scope(exc.agency, principal):
                raise CaseNotFound(case_id) from None
            raise
        if case is None or not readable_by(case, principal):
            raise CaseNotFound(case_id)
        return case

    async def perform(self, case_id: str, principal: str, request: ActionRequest) -> Case:
        """Apply the lifecycle action and return the case as stored.

        Raises CaseNotFound, UnreadableCase, IllegalTransition, InvalidReassignment,
        InvalidDecision, or ConcurrentChange when the case kept changing under every attempt.
        """

        def plan(case: Case, policy: Policy, now: datetime) -> Plan:
            return plan_action(case, request, policy, now)

        return await self.change(case_id, principal, plan, action=request.action.value)

    async def change(
        self,
        case_id: str,
        principal: str,
        plan: Callable[[Case, Policy, datetime], Plan],
        *,
        action: str = "change",
    ) -> Case:
        """Plan a change of the case (read fresh on every attempt) and store it conditionally
        on the version it was planned from; the case as stored.

        Raises CaseNotFound, UnreadableCase, InformedOnly (an agency informed of the case
        reads it, never acts on it), ConcurrentChange, and whatever `plan` raises.
        """
        for attempt in range(self.max_attempts):
            if attempt:  # lost a race on the version: back off a little, with jitter
                await asyncio.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
            case = await self.load(case_id, principal)
            if only_informed(case, principal):
                raise InformedOnly(case_id, principal)
            now = self.clock()
            planned = plan(case, self.policy, now)
            stored = await self.repository.write_change(case, planned, now)
            if stored is not None:
                self.stored_hook()
                log.info(
                    "case action",
                    extra={
                        "case_id": case_id,
                        "action": action,
                        "actor": planned.audit.actor,
                        "to": stored.status.value,
                    },
                )
                return stored
        raise ConcurrentChange(case_id)
