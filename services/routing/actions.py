"""Agency and supervisor actions on a case: checked, audited, announced, never losing an update."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.common.clock import Clock
from services.common.contracts import TRIAGE, AnyEvent, CaseStatus, CaseUpdated, Category
from services.common.mongo import Document
from services.routing.cases import CaseRepository, assigned_event, case_event_fields
from services.routing.lifecycle import Action, Deadlines, due_after, next_status
from services.routing.policy import Policy

log = logging.getLogger(__name__)

SUPERVISOR = "supervisor"


class CaseNotFound(Exception):
    """No such case in the caller's scope."""


class ConcurrentChange(Exception):
    """The case kept changing under us; the caller may retry."""


class InvalidReassignment(ValueError):
    """The reassignment target is not acceptable."""


@dataclass(frozen=True)
class ActionRequest:
    """An action with what the caller supplied."""

    action: Action
    actor: str
    note: str | None = None
    outcome: str | None = None
    target_agency: str | None = None


def in_scope(case: Document | None, principal: str) -> bool:
    """Whether `principal` may see and act on `case` (a supervisor sees every agency's)."""
    return case is not None and (principal == SUPERVISOR or case["agency"] == principal)


@dataclass
class CaseActions:
    """Performs actions with optimistic concurrency on the case version."""

    repository: CaseRepository
    policy: Policy
    clock: Clock
    stored_hook: Callable[[], None]
    max_attempts: int = 20

    async def perform(self, case_id: str, principal: str, request: ActionRequest) -> Document:
        """Apply the action and return the updated case; raise CaseNotFound / IllegalTransition."""
        for attempt in range(self.max_attempts):
            if attempt:  # lost a race on the version: back off a little, with jitter
                await asyncio.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
            case = await self.repository.get(case_id)
            if not in_scope(case, principal):
                raise CaseNotFound(case_id)
            assert case is not None
            now = self.clock()
            changes, events, audit = self._plan(case, request, now)
            if await self.repository.write_change(case, changes, audit, events, now):
                self.stored_hook()
                log.info(
                    "case action",
                    extra={
                        "case_id": case_id,
                        "action": request.action.value,
                        "actor": request.actor,
                        "to": changes["status"],
                    },
                )
                return {**case, **changes, "audit": [*case["audit"], audit]}
        raise ConcurrentChange(case_id)

    def _plan(
        self, case: Document, request: ActionRequest, now: datetime
    ) -> tuple[dict[str, Any], list[AnyEvent], dict[str, Any]]:
        old = CaseStatus(case["status"])
        new = next_status(old, request.action)
        if request.action is Action.REASSIGN:
            return self._plan_reassign(case, request, old, now)
        limits = Deadlines(
            timedelta(seconds=case["acknowledge_within_s"]),
            timedelta(seconds=case["resolve_within_s"]) if case["resolve_within_s"] else None,
        )
        changes: dict[str, Any] = {
            "status": new.value,
            "version": case["version"] + 1,
            "due_at": due_after(request.action, old, new, case["due_at"], limits, now),
        }
        if request.outcome:
            changes["outcome"] = request.outcome
        if request.action is Action.NOTE:
            changes["notes"] = [
                *case.get("notes", []),
                {"at": now, "actor": request.actor, "text": request.note},
            ]
        if new is CaseStatus.ACKNOWLEDGED or (
            new is CaseStatus.IN_PROGRESS and not case.get("acknowledged_at")
        ):
            changes["acknowledged_at"] = now
        if new in (CaseStatus.RESOLVED, CaseStatus.REJECTED):
            changes["closed_at"] = now
        updated = {**case, **changes}
        event = self._updated(updated, request, old, now)
        return changes, [event], _audit(now, request, old, new, case["agency"])

    def _plan_reassign(
        self, case: Document, request: ActionRequest, old: CaseStatus, now: datetime
    ) -> tuple[dict[str, Any], list[AnyEvent], dict[str, Any]]:
        target = request.target_agency
        if target is None or target not in self.policy.agencies:
            raise InvalidReassignment(
                f"unknown agency {target!r}; known: {', '.join(self.policy.agencies)}"
            )
        if target == case["agency"]:
            raise InvalidReassignment(f"the case is already with {target}")
        report = case["report"]
        assignment = self.policy.route_to(
            target,
            Category(case["category"]),
            report.get("province"),
            report.get("district"),
            report.get("reporter_kind"),
        )
        # Two versions: the old agency's `case.updated` (v+1) then the new agency's
        # `case.assigned` (v+2), so every consumer orders them by version alone.
        left = {
            **case,
            "status": CaseStatus.ASSIGNED.value,
            "version": case["version"] + 1,
            "due_at": None,
        }
        changes: dict[str, Any] = {
            "agency": target,
            "status": CaseStatus.ASSIGNED.value,
            "version": case["version"] + 2,
            "priority": assignment.priority.value,
            "due_at": now + assignment.deadline,
            "acknowledge_within_s": assignment.deadline.total_seconds(),
            "resolve_within_s": assignment.resolve_within.total_seconds()
            if assignment.resolve_within
            else None,
            "rule_id": assignment.rule_id,
            "policy_version": self.policy.version,
            "acknowledged_at": None,
        }
        events: list[AnyEvent] = [
            self._updated(left, request, old, now, reassigned_to=target),
            assigned_event(
                {**case, **changes}, now, previous_agency=case["agency"], reason=request.note
            ),
        ]
        audit = _audit(now, request, old, CaseStatus.ASSIGNED, target, previous=case["agency"])
        return changes, events, audit

    @staticmethod
    def _updated(
        case: Document,
        request: ActionRequest,
        old: CaseStatus,
        now: datetime,
        reassigned_to: str | None = None,
    ) -> CaseUpdated:
        return CaseUpdated(
            **case_event_fields(case, now),
            action=request.action.value,
            from_status=old,
            actor=request.actor,
            note=request.note,
            outcome=request.outcome,
            reassigned_to=reassigned_to,
        )


def _audit(
    now: datetime,
    request: ActionRequest,
    old: CaseStatus,
    new: CaseStatus,
    agency: str,
    previous: str | None = None,
) -> dict[str, Any]:
    entry = {
        "at": now,
        "actor": request.actor,
        "action": request.action.value,
        "from": old.value,
        "to": new.value,
        "note": request.note,
        "agency": agency,
    }
    if request.outcome:
        entry["outcome"] = request.outcome
    if previous:
        entry["previous_agency"] = previous
    return entry


def is_triage(case: Document) -> bool:
    """Whether the case waits for a supervisor to assign it."""
    return bool(case["agency"] == TRIAGE)
