"""The case lifecycle: which action is allowed in which status, and where it leads. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
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
    REVIEW = "review"
    # System actions: done by routing itself (an appeal from intake) or as the step of another
    # action (a takedown request sent, its answer recorded); no endpoint of their own.
    APPEAL = "appeal"
    AWAIT_PLATFORM = "await_platform"
    PLATFORM_ANSWERED = "platform_answered"


SYSTEM_ACTIONS = frozenset({Action.APPEAL, Action.AWAIT_PLATFORM, Action.PLATFORM_ANSWERED})
# Statuses in which the agency works on the case (open, and not under appeal review).
WORKING = (S.TRIAGE, S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_ON_PLATFORM)
OPEN = tuple(status for status in S if status not in CLOSED_STATUSES)

# action -> (statuses it is allowed from, status it leads to; None = unchanged, or for REVIEW
# the status the review's decision closes the case as).
# A case waiting on a platform may still be resolved or rejected (the content went away, the
# request turned out pointless: its open requests then stop counting) or reassigned; it is
# acknowledged and started already. An appealed case only takes notes and its review.
TRANSITIONS: dict[Action, tuple[tuple[CaseStatus, ...], CaseStatus | None]] = {
    Action.ACKNOWLEDGE: ((S.ASSIGNED,), S.ACKNOWLEDGED),
    Action.START: ((S.ASSIGNED, S.ACKNOWLEDGED), S.IN_PROGRESS),
    Action.RESOLVE: ((S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_ON_PLATFORM), S.RESOLVED),
    Action.REJECT: (WORKING, S.REJECTED),
    Action.REASSIGN: (WORKING, S.ASSIGNED),
    Action.NOTE: (tuple(S), None),
    Action.REVIEW: ((S.APPEALED,), None),
    Action.APPEAL: (tuple(CLOSED_STATUSES), S.APPEALED),
    Action.AWAIT_PLATFORM: (
        (S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_ON_PLATFORM),
        S.WAITING_ON_PLATFORM,
    ),
    Action.PLATFORM_ANSWERED: ((S.WAITING_ON_PLATFORM,), S.IN_PROGRESS),
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
    """The actions a person may take in `status`, in lifecycle order (no system actions)."""
    return [
        action
        for action, (sources, _) in TRANSITIONS.items()
        if status in sources and action not in SYSTEM_ACTIONS
    ]


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


@dataclass(frozen=True)
class DeadlineChange:
    """How an action moves the internal deadline: kept as it is, or restarted with
    `allowance` from now (None: no deadline any more)."""

    restart: bool
    allowance: timedelta | None = None


KEEP = DeadlineChange(restart=False)


def deadline_change(
    action: Action, old: CaseStatus, new: CaseStatus, limits: Deadlines
) -> DeadlineChange:
    """What `action` does to the internal deadline: acknowledge-by, resolve-by, or none.
    Acknowledging does not stop the clock: it starts the resolution deadline."""
    if new in CLOSED_STATUSES:
        return DeadlineChange(True, None)
    if action is Action.REASSIGN:
        return DeadlineChange(True, limits.acknowledge_within)
    leaving_ack_phase = old in (S.TRIAGE, S.ASSIGNED) and new in (S.ACKNOWLEDGED, S.IN_PROGRESS)
    if leaving_ack_phase:
        return DeadlineChange(True, limits.resolve_within)
    return KEEP
