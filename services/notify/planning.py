"""Notify's decisions as pure functions of (stored deadline, event, policy, now).

What to store for an incoming case event, and what claiming a due deadline writes and
announces: escalations on the earlier of the case's two clocks, pre-breach warnings at shares
of its internal clock, and platforms past the legal deadline of a takedown request. The
deadline store only loads documents, calls these and writes what they return.

A deadline's identity is its clock, agency and time to the millisecond (as BSON keeps it; see
`services.notify.clocks`), so an event carrying the deadline read back from the database names
the same deadline as the event that set it; with the case version that set it, it also tells
apart a deadline that changes and later returns to an earlier time. Alert event ids derive
from that identity and the alert's index (or share, or takedown request), so a repeated claim
or a redelivery yields the same id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from services.common.contracts import (
    CLOSED_STATUSES,
    AnyEvent,
    CaseAssigned,
    CaseEscalated,
    CaseStatus,
    CaseUpdated,
    CaseWarning,
    PlatformDeadlineMissed,
    TakedownClock,
)
from services.common.workcalendar import CalendarBook, load_calendars
from services.notify.announcements import claim_platform, claim_warning, escalation
from services.notify.clocks import (
    EVENT_NAMESPACE,
    WarningTime,
    anchor_of,
    earliest,
    internal_key,
    passed,
    warning_times,
)
from services.notify.escalation import CaseState, EscalationPolicy
from services.notify.records import Deadline, Revision

__all__ = ["EVENT_NAMESPACE", "CaseEvent", "Claim", "Deadline", "Revision", "deadline_key"]

CaseEvent = CaseAssigned | CaseUpdated


@dataclass(frozen=True)
class Claim:
    """What claiming a due deadline writes: alerts sent, warnings done, platform requests
    alerted, the next alert's time, and the events to announce (none when the deadline is
    only rescheduled)."""

    sent: int
    next_due_at: datetime | None
    escalation: CaseEscalated | None
    warned: int = 0
    warning: CaseWarning | None = None
    platform_alerted: tuple[str, ...] = ()
    platform: tuple[PlatformDeadlineMissed, ...] = field(default=())

    @property
    def events(self) -> list[AnyEvent]:
        """Everything this claim announces."""
        announced: list[AnyEvent] = [e for e in (self.escalation, self.warning) if e]
        return announced + list(self.platform)


@lru_cache(maxsize=1)
def packaged_calendars() -> CalendarBook:
    """The packaged calendars, for callers that pass none."""
    return load_calendars(None)


def deadline_key(event: CaseEvent) -> str | None:
    """The deadline escalation runs on (clock, agency and UTC time to the millisecond)."""
    anchor = anchor_of(event.agency, event.due_at, event.legal_due_at)
    return anchor.key if anchor is not None else None


def plan_case_event(
    stored: Revision | None,
    event: CaseEvent,
    policy: EscalationPolicy,
    now: datetime,
    *,
    calendars: CalendarBook | None = None,
) -> dict[str, Any] | None:
    """The fields to store for `event`, or None when the stored state is as new or newer.

    Only a different deadline restarts the alerts: one that names the stored deadline keeps
    the count of alerts sent and the version that set it (and likewise for the warnings of
    the internal deadline, and the takedown requests already alerted).
    """
    if stored is not None and stored.version >= event.version:
        return None
    anchor = anchor_of(event.agency, event.due_at, event.legal_due_at)
    key = anchor.key if anchor is not None else None
    kept = stored is not None and key is not None and stored.deadline_key == key
    fields: dict[str, Any] = {
        "version": event.version,
        "agency": event.agency,
        "category": event.category.value,
        "priority": event.priority.value,
        "status": event.status.value,
        "due_at": event.due_at,
        "legal_due_at": event.legal_due_at,
        "clock": anchor.clock.value if anchor is not None else None,
        "calendar": event.calendar,
        "internal_budget_s": event.internal_budget_s,
        "deadline_key": key,
        "deadline_version": _set_by(stored, event, key, kept),
        "sent": stored.sent if kept and stored is not None else 0,
        "report_id": event.report_id,
        "tracking_code": event.tracking_code,
        "province": event.province,
        "takedowns": [t.model_dump() for t in event.takedowns],
        "platform_alerted": _still_awaiting(stored, event),
        "rev": stored.rev + 1 if stored is not None else 1,
        "updated_at": now,
    }
    warnings = _warnings(stored, event, policy, calendars or packaged_calendars())
    fields.update(warnings.fields())
    due_at = anchor.due_at if anchor is not None else None
    state = CaseState(event.agency, event.priority, event.status, due_at, event.province)
    step = policy.next_step(state, fields["sent"], now)
    fields["next_due_at"] = earliest(
        step.due if step else None,
        _next_warning(warnings.times, warnings.warned),
        _next_platform(event.takedowns, fields["platform_alerted"], event.status),
    )
    return fields


def _set_by(stored: Revision | None, event: CaseEvent, key: str | None, kept: bool) -> int | None:
    if key is None:
        return None
    return stored.deadline_version if kept and stored is not None else event.version


@dataclass(frozen=True)
class _Warnings:
    """The warnings of the internal deadline: which one, set by which version, when each
    falls, and how many are done."""

    key: str | None = None
    version: int | None = None
    times: tuple[WarningTime, ...] = ()
    warned: int = 0

    def fields(self) -> dict[str, Any]:
        return {
            "warning_key": self.key,
            "warning_version": self.version,
            "warnings": [t.model_dump() for t in self.times],
            "warned": self.warned,
        }


def _warnings(
    stored: Revision | None, event: CaseEvent, policy: EscalationPolicy, calendars: CalendarBook
) -> _Warnings:
    """Kept for the same internal deadline; for a new one, shares already run when it was set
    are skipped (a deadline resumed after a pause does not warn again of one warned before)."""
    key = internal_key(event.agency, event.due_at)
    if key is None or event.status in CLOSED_STATUSES:
        return _Warnings()
    calendar = calendars.get(event.calendar) if event.calendar is not None else None
    times = warning_times(policy.warnings, event.due_at, event.internal_budget_s, calendar)
    if stored is not None and stored.warning_key == key:
        return _Warnings(key, stored.warning_version, tuple(times), stored.warned)
    return _Warnings(key, event.version, tuple(times), passed(times, event.occurred_at))


def _still_awaiting(stored: Revision | None, event: CaseEvent) -> list[str]:
    """The requests already alerted that still await their answer (answered ones drop out)."""
    awaiting = {t.request_id for t in event.takedowns}
    alerted = stored.platform_alerted if stored is not None else []
    return [request_id for request_id in alerted if request_id in awaiting]


def _next_warning(times: Sequence[WarningTime], warned: int) -> datetime | None:
    return times[warned].at if warned < len(times) else None


def _next_platform(
    takedowns: list[TakedownClock], alerted: list[str] | tuple[str, ...], status: CaseStatus
) -> datetime | None:
    if status in CLOSED_STATUSES:
        return None
    return earliest(*(t.legal_due_at for t in takedowns if t.request_id not in alerted))


def plan_claim(deadline: Deadline, policy: EscalationPolicy, now: datetime) -> Claim:
    """Advance a due deadline by one escalation and every warning and platform alert due, or
    reschedule it when nothing is due after all (the policy changed since it was stored)."""
    sent, next_step, escalated = _claim_escalation(deadline, policy, now)
    warned, warning = claim_warning(deadline, policy, now)
    alerted, platform = claim_platform(deadline, policy, now)
    next_due_at = earliest(
        next_step,
        _next_warning(deadline.warnings, warned),
        _next_platform(deadline.takedowns, alerted, deadline.status),
    )
    return Claim(sent, next_due_at, escalated, warned, warning, alerted, platform)


def _claim_escalation(
    deadline: Deadline, policy: EscalationPolicy, now: datetime
) -> tuple[int, datetime | None, CaseEscalated | None]:
    state = deadline.state
    step = policy.next_step(state, deadline.sent, now)
    if step is None or step.due > now:
        return deadline.sent, step.due if step else None, None
    following = policy.next_step(state, step.index + 1, now)
    event = escalation(deadline, step, policy, now)
    return step.index + 1, following.due if following else None, event
