"""The case lifecycle: allowed transitions, refusals listing what is allowed, deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.contracts import CaseStatus as S
from services.routing.lifecycle import (
    Action,
    Deadlines,
    IllegalTransition,
    allowed_actions,
    due_after,
    next_status,
)

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
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


def test_acknowledging_moves_to_the_resolution_deadline() -> None:
    due = due_after(Action.ACKNOWLEDGE, S.ASSIGNED, S.ACKNOWLEDGED, NOW, LIMITS, NOW)
    assert due == NOW + timedelta(days=7)
    assert (
        due_after(
            Action.ACKNOWLEDGE,
            S.ASSIGNED,
            S.ACKNOWLEDGED,
            NOW,
            Deadlines(timedelta(hours=1), None),
            NOW,
        )
        is None
    )


def test_starting_after_acknowledging_keeps_the_deadline_and_closing_clears_it() -> None:
    due = NOW + timedelta(days=3)
    assert due_after(Action.START, S.ACKNOWLEDGED, S.IN_PROGRESS, due, LIMITS, NOW) == due
    assert due_after(Action.RESOLVE, S.IN_PROGRESS, S.RESOLVED, due, LIMITS, NOW) is None
    assert due_after(Action.NOTE, S.ASSIGNED, S.ASSIGNED, due, LIMITS, NOW) == due


def test_reassignment_restarts_the_acknowledgement_clock() -> None:
    assert due_after(
        Action.REASSIGN, S.IN_PROGRESS, S.ASSIGNED, None, LIMITS, NOW
    ) == NOW + timedelta(hours=24)
