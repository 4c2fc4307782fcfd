"""A case's two clocks as notify follows them, as pure functions.

Escalation runs on the earlier of the case's internal deadline (`due_at`, working time on the
agency's calendar) and its legal one (`legal_due_at`, calendar time): that deadline is the
escalation's anchor, and its identity (clock, agency, time to the millisecond) names the
alerts about it. The internal deadline keeps the identity it always had, so alerts stored
before the legal clock existed keep their ids. Pre-breach warnings fall at shares of the
internal clock's allowance, counted back from `due_at` in working time; a platform's legal
deadline on a takedown request is watched while the request awaits its answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.common.clock import to_millis
from services.common.contracts import (
    CaseEscalated,
    CaseWarning,
    DeadlineClock,
    PlatformDeadlineMissed,
)
from services.common.workcalendar import WorkCalendar

EVENT_NAMESPACE = uuid.UUID("5b0f3c56-4c8e-4e8f-9a57-0c7f2f3a9e11")
ESCALATION, WARNING, PLATFORM_OVERDUE = "escalation", "warning", "platform_overdue"

# The three kinds of alert notify raises and delivers.
AlertEvent = CaseEscalated | CaseWarning | PlatformDeadlineMissed


def alert_kind(event: AlertEvent) -> str:
    """`escalation`, `warning` or `platform_overdue`."""
    if isinstance(event, CaseEscalated):
        return ESCALATION
    return WARNING if isinstance(event, CaseWarning) else PLATFORM_OVERDUE


def alert_clock(event: AlertEvent) -> DeadlineClock:
    """The clock the alert is about (a platform's deadline is a legal one)."""
    return DeadlineClock.LEGAL if isinstance(event, PlatformDeadlineMissed) else event.clock


@dataclass(frozen=True)
class Anchor:
    """The deadline escalation runs on: its clock, its time and its identity."""

    clock: DeadlineClock
    due_at: datetime
    key: str


class WarningTime(BaseModel):
    """When the warning for one share of the internal clock falls."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    share: float = Field(gt=0, lt=1)
    at: AwareDatetime


def moment_key(agency: str, moment: datetime) -> str:
    """`agency@<UTC time to the millisecond>`: the same for a time read back from BSON."""
    return f"{agency}@{to_millis(moment.astimezone(UTC)).isoformat()}"


def internal_key(agency: str, due_at: datetime | None) -> str | None:
    """The identity of the internal deadline (the format of every deadline before the legal
    clock, kept so that their alert ids stay the same), None for none."""
    return moment_key(agency, due_at) if due_at is not None else None


def anchor_of(agency: str, due_at: datetime | None, legal_due_at: datetime | None) -> Anchor | None:
    """The earlier of the two deadlines (the internal one on a tie), None when neither runs."""
    if due_at is not None and (legal_due_at is None or due_at <= legal_due_at):
        return Anchor(DeadlineClock.INTERNAL, due_at, moment_key(agency, due_at))
    if legal_due_at is not None:
        legal = DeadlineClock.LEGAL
        return Anchor(legal, legal_due_at, f"{legal.value}:{moment_key(agency, legal_due_at)}")
    return None


def warning_times(
    shares: tuple[float, ...],
    due_at: datetime | None,
    budget_s: float | None,
    calendar: WorkCalendar | None,
) -> list[WarningTime]:
    """When each share of the internal allowance has run: `(1 - share) * budget` before
    `due_at`, in working time on `calendar` (plain time without one); none without a budget."""
    if due_at is None or not budget_s:
        return []
    times = []
    for share in shares:
        before = (1 - share) * budget_s
        at = calendar.subtract(due_at, before) if calendar else due_at - timedelta(seconds=before)
        times.append(WarningTime(share=share, at=to_millis(at.astimezone(UTC))))
    return times


def passed(times: Sequence[WarningTime], moment: datetime) -> int:
    """How many of the (ascending) warning times are at or before `moment`."""
    return sum(1 for warning in times if warning.at <= moment)


def warning_id(case_id: str, key: str | None, version: int | None, share: float) -> str:
    """The id of the warning at `share` of one internal deadline: the same however often
    computed, different for each deadline (and for a deadline set again later)."""
    return uuid.uuid5(EVENT_NAMESPACE, f"{case_id}|warning|{key}|v{version}|{share:g}").hex


def platform_id(case_id: str, request_id: str, legal_due_at: datetime) -> str:
    """The id of the alert about one takedown request whose legal deadline passed."""
    name = f"{case_id}|platform|{request_id}|{to_millis(legal_due_at.astimezone(UTC)).isoformat()}"
    return uuid.uuid5(EVENT_NAMESPACE, name).hex


def earliest(*moments: datetime | None) -> datetime | None:
    """The earliest of the given times, None when none is given."""
    present = [moment for moment in moments if moment is not None]
    return min(present) if present else None
