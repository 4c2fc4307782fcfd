"""The case lifecycle: allowed transitions, refusals listing what is allowed, deadlines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.common.contracts import CaseStatus as S
from services.routing.lifecycle import (
    KEEP,
    Action,
    DeadlineChange,
    Deadlines,
    IllegalTransition,
    allowed_actions,
    deadline_change,
    next_status,
)

pytestmark = pytest.mark.unit
LIMITS = Deadlines(timedelta(hours=24), timedelta(days=7))


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        (S.ASSIGNED, Action.ACKNOWLEDGE, S.ACKNOWLEDGED),
        (S.ASSIGNED, Action.START, S.IN_PROGRESS),
        (S.ACKNOWLEDGED, Action.START, S.IN_PROGRESS),
        (S.ACKNOWLEDGED, Action.RESOLVE, S.RESOLVED),
        (S.IN_PROGRESS, Action.RESOLVE, S.RESOLVED),
        (S.ASSIGNED, Action.REJECT, S.REJECTED),
        (S.TRIAGE, Action.REASSIGN, S.ASSIGNED),
        (S.IN_PROGRESS, Action.REASSIGN, S.ASSIGNED),
        (S.RESOLVED, Action.NOTE, S.RESOLVED),
    ],
)
def test_allowed_transitions(status: S, action: Action, expected: S) -> None:
    assert next_status(status, action) is expected


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.ASSIGNED, Action.RESOLVE),
        (S.ACKNOWLEDGED, Action.ACKNOWLEDGE),
        (S.RESOLVED, Action.REASSIGN),
        (S.REJECTED, Action.START),
        (S.TRIAGE, Action.ACKNOWLEDGE),
    ],
)
def test_illegal_transitions_are_refused_with_the_allowed_actions(
    status: S, action: Action
) -> None:
    with pytest.raises(IllegalTransition) as error:
        next_status(status, action)
    assert error.value.allowed == allowed_actions(status)
    assert action not in error.value.allowed


def test_closed_cases_allow_only_notes() -> None:
    assert allowed_actions(S.RESOLVED) == [Action.NOTE]
    assert allowed_actions(S.REJECTED) == [Action.NOTE]


def test_acknowledging_starts_the_resolution_deadline() -> None:
    change = deadline_change(Action.ACKNOWLEDGE, S.ASSIGNED, S.ACKNOWLEDGED, LIMITS)
    assert change == DeadlineChange(restart=True, allowance=timedelta(days=7))
    no_resolve_limit = Deadlines(timedelta(hours=1), None)
    change = deadline_change(Action.ACKNOWLEDGE, S.ASSIGNED, S.ACKNOWLEDGED, no_resolve_limit)
    assert change == DeadlineChange(restart=True, allowance=None)


def test_starting_after_acknowledging_keeps_the_deadline_and_closing_clears_it() -> None:
    assert deadline_change(Action.START, S.ACKNOWLEDGED, S.IN_PROGRESS, LIMITS) is KEEP
    assert deadline_change(Action.RESOLVE, S.IN_PROGRESS, S.RESOLVED, LIMITS) == DeadlineChange(
        restart=True, allowance=None
    )
    assert deadline_change(Action.NOTE, S.ASSIGNED, S.ASSIGNED, LIMITS) is KEEP


def test_reassignment_restarts_the_acknowledgement_clock() -> None:
    change = deadline_change(Action.REASSIGN, S.IN_PROGRESS, S.ASSIGNED, LIMITS)
    assert change == DeadlineChange(restart=True, allowance=timedelta(hours=24))


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        (S.IN_PROGRESS, Action.AWAIT_PLATFORM, S.WAITING_ON_PLATFORM),
        (S.ACKNOWLEDGED, Action.AWAIT_PLATFORM, S.WAITING_ON_PLATFORM),
        (S.WAITING_ON_PLATFORM, Action.AWAIT_PLATFORM, S.WAITING_ON_PLATFORM),
        (S.WAITING_ON_PLATFORM, Action.PLATFORM_ANSWERED, S.IN_PROGRESS),
        (S.WAITING_ON_PLATFORM, Action.RESOLVE, S.RESOLVED),
        (S.WAITING_ON_PLATFORM, Action.REJECT, S.REJECTED),
        (S.WAITING_ON_PLATFORM, Action.REASSIGN, S.ASSIGNED),
        (S.RESOLVED, Action.APPEAL, S.APPEALED),
        (S.REJECTED, Action.APPEAL, S.APPEALED),
        (S.APPEALED, Action.NOTE, S.APPEALED),
    ],
)
def test_platform_and_appeal_transitions(status: S, action: Action, expected: S) -> None:
    assert next_status(status, action) is expected


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.WAITING_ON_PLATFORM, Action.ACKNOWLEDGE),
        (S.WAITING_ON_PLATFORM, Action.START),
        (S.ASSIGNED, Action.AWAIT_PLATFORM),
        (S.IN_PROGRESS, Action.PLATFORM_ANSWERED),
        (S.APPEALED, Action.RESOLVE),
        (S.APPEALED, Action.REJECT),
        (S.APPEALED, Action.REASSIGN),
        (S.APPEALED, Action.APPEAL),
        (S.IN_PROGRESS, Action.APPEAL),
        (S.RESOLVED, Action.REVIEW),
        (S.IN_PROGRESS, Action.REVIEW),
    ],
)
def test_platform_and_appeal_transitions_refused(status: S, action: Action) -> None:
    with pytest.raises(IllegalTransition):
        next_status(status, action)


def test_an_appealed_case_takes_notes_and_its_review_and_system_actions_are_never_offered() -> None:
    assert allowed_actions(S.APPEALED) == [Action.NOTE, Action.REVIEW]
    assert allowed_actions(S.WAITING_ON_PLATFORM) == [
        Action.RESOLVE,
        Action.REJECT,
        Action.REASSIGN,
        Action.NOTE,
    ]
    offered = {action for status in S for action in allowed_actions(status)}
    assert not offered & {Action.APPEAL, Action.AWAIT_PLATFORM, Action.PLATFORM_ANSWERED}
