"""Split and merge by a supervisor: load, plan (services/routing/grouping.py), write.

Without transactions, each touches two documents in an order that a repeated request can
finish: a split inserts the new case first (its id derived from the case, the report and the
version it was split at, so a repeat finds it) and then takes the report out of the old case;
a merge writes the target first (its `merged_from` names the source) and then closes the
source. Every write is conditional on the version it was planned from and retried.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from services.common.clock import Clock
from services.routing.actions import SUPERVISOR, CaseActions, CaseNotFound, ConcurrentChange
from services.routing.case import Case
from services.routing.cases import CaseRepository
from services.routing.grouping import (
    InvalidRegrouping,
    RegroupConflict,
    SplitPlan,
    plan_merge,
    plan_merge_close,
    plan_split,
)
from services.routing.people import Person

log = logging.getLogger(__name__)

SPLIT_IDS = uuid.UUID("6f0f3c52-6a43-4d38-9a0c-7e1f4f3b9e21")

__all__ = ["InvalidRegrouping", "NotSupervisor", "RegroupConflict", "Regrouping"]


class NotSupervisor(Exception):
    """Only a supervisor splits and merges cases."""


def split_case_id(case: Case, report_id: str) -> str:
    """The id of the case a split makes: the same for a repeat of the same split."""
    return uuid.uuid5(SPLIT_IDS, f"{case.case_id}/{report_id}/{case.version}").hex


@dataclass
class Regrouping:
    """Splits and merges with optimistic concurrency on the case versions."""

    actions: CaseActions
    repository: CaseRepository
    clock: Clock
    stored_hook: Callable[[], None]
    max_attempts: int = 20

    async def split(
        self,
        case_id: str,
        principal: str,
        report_id: str,
        reason: str,
        person: str | None = None,
        *,
        scope: Person | None = None,
    ) -> tuple[Case, Case]:
        """Take `report_id` out of the case into a new case; (the case, the new case). The
        audit lines name `person` (the one signed in, or the API key) when given; a case
        outside the scope of the signed-in `scope` is not found."""
        _supervisor(principal)
        new_id: str | None = None
        for attempt in range(self.max_attempts):
            await _back_off(attempt)
            case = await self.actions.load(case_id, principal, scope)
            new_id = new_id or split_case_id(case, report_id)
            now = self.clock()
            plan = plan_split(
                case,
                report_id,
                actor=principal,
                reason=reason,
                policy=self.actions.policy,
                now=now,
                new_case_id=new_id,
                person=person,
            )
            await self._insert_new(plan, now)
            stored = await self.repository.write_group(plan.source, now)
            if stored is not None:
                self.stored_hook()
                _log("case split", stored, report_id=report_id, new_case_id=new_id)
                return stored, plan.new_case
        raise ConcurrentChange(case_id)

    async def _insert_new(self, plan: SplitPlan, now: datetime) -> None:
        """Insert the split's new case; an earlier attempt's copy (same id) is kept."""
        try:
            await self.repository.insert_case(plan.new_case, plan.new_events, now)
        except DuplicateKeyError:
            if await self.repository.get(plan.new_case.case_id) is None:
                raise RegroupConflict(
                    f"report {plan.new_case.report_id} opened another case before it was "
                    "merged into this one; it cannot be split off again"
                ) from None

    async def merge(
        self,
        case_id: str,
        principal: str,
        into: str,
        reason: str,
        person: str | None = None,
        *,
        scope: Person | None = None,
    ) -> Case:
        """Move the case's reports into case `into` and close it as merged; the target. The
        audit lines name `person` when given; both cases must be in the scope of the signed-in
        `scope` (a target outside it is no case to merge into)."""
        _supervisor(principal)
        for attempt in range(self.max_attempts):
            await _back_off(attempt)
            source = await self.actions.load(case_id, principal, scope)
            target = await self._target(into, principal, scope)
            if source.case_id in target.merged_from:
                await self._close_source(source, target, principal, reason, person)
                return target
            now = self.clock()
            plan = plan_merge(
                source,
                target,
                actor=principal,
                reason=reason,
                policy=self.actions.policy,
                now=now,
                person=person,
            )
            stored = await self.repository.write_group(plan.target, now)
            if stored is not None:
                self.stored_hook()
                await self._close_source(source, stored, principal, reason, person)
                _log("cases merged", stored, source_case_id=source.case_id)
                return stored
        raise ConcurrentChange(case_id)

    async def _target(self, into: str, principal: str, scope: Person | None) -> Case:
        try:
            return await self.actions.load(into, principal, scope)
        except CaseNotFound:
            raise InvalidRegrouping("into", f"no case {into!r} to merge into") from None

    async def _close_source(
        self, source: Case, target: Case, principal: str, reason: str, person: str | None
    ) -> None:
        """Close the merged source (once: a source closed already is left as it is)."""
        for attempt in range(self.max_attempts):
            await _back_off(attempt)
            if not source.is_open:
                return
            now = self.clock()
            plan = plan_merge_close(
                source, target.case_id, actor=principal, reason=reason, now=now, person=person
            )
            if await self.repository.write_group(plan, now) is not None:
                self.stored_hook()
                return
            source = await self.actions.load(source.case_id, principal)
        raise ConcurrentChange(source.case_id)


def _supervisor(principal: str) -> None:
    if principal != SUPERVISOR:
        raise NotSupervisor("only a supervisor can split or merge cases")


async def _back_off(attempt: int) -> None:
    """Lost a race on a version: wait a little, with jitter, before reading again."""
    if attempt:
        await asyncio.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))


def _log(message: str, case: Case, **extra: str) -> None:
    log.info(message, extra={"case_id": case.case_id, "reporters": case.reporters, **extra})
