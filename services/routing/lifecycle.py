"""The case lifecycle: which action is allowed in which status, and where it leads. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from services.common.contracts import CLOSED_STATUSES, CaseStatus

S = CaseStatus


class Action(StrEnum):
    """What an agency or supervisor can do to a case."""

    ACKNOWLEDGE = "acknowledge"
    START = "start"
    RESOLVE = "resolve"
    REJECT = "reject"
    REASSIGN = "reassign"
    NOTE = "note"


OPEN = tuple(status for status in S if status not in CLOSED_STATUSES)

# action -> (statuses it is allowed from, status it leads to; None = unchanged)
TRANSITIONS: dict[Action, tuple[tuple[CaseStatus, ...], CaseStatus | None]] = {
    Action.ACKNOWLEDGE: ((S.ASSIGNED,), S.ACKNOWLEDGED),
    Action.START: ((S.ASSIGNED, S.ACKNOWLEDGED), S.IN_PROGRESS),
    Action.RESOLVE: ((S.ACKNOWLEDGED, S.IN_PROGRESS), S.RESOLVED),
    Action.REJECT: (OPEN, S.REJECTED),
    Action.REASSIGN: (OPEN, S.ASSIGNED),
    Action.NOTE: (tuple(S), None),
}


class IllegalTransition(Exception):
    """The action is not allowed in the case's current status."""

    def __init__(self, status: CaseStatus, action: Action) -> None:
        self.status = status
        self.action = action
        self.allowed = allowed_actions(status)
        super().__init__(
            f"cannot {action.value} a case that is {status.value}; "
            f"allowed: {', '.join(a.value for a in self.allowed) or 'none'}"
        )


def allowed_actions(status: CaseStatus) -> list[Action]:
    """The actions allowed in `status`, in lifecycle order."""
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


def next_status(status: CaseStatus, action: Action) -> CaseStatus:
    """The status after `action`; raises IllegalTransition when it is not allowed."""
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise IllegalTransition(status, action)
    return target or status


@dataclass(frozen=True)
class Deadlines:
    """The time limits a case carries from its routing rule."""

    acknowledge_within: timedelta
    resolve_within: timedelta | None


def due_after(
    action: Action,
    old: CaseStatus,
    new: CaseStatus,
    current_due: datetime | None,
    limits: Deadlines,
    now: datetime,
) -> datetime | None:
    """The deadline a case must meet after `action`: acknowledge-by, resolve-by, or none."""
    if new in CLOSED_STATUSES:
        return None
    if action is Action.REASSIGN:
        return now + limits.acknowledge_within
    leaving_ack_phase = old in (S.TRIAGE, S.ASSIGNED) and new in (S.ACKNOWLEDGED, S.IN_PROGRESS)
    if leaving_ack_phase:
        return now + limits.resolve_within if limits.resolve_within else None
    return current_due
