"""A case's two clocks, pure: the internal one in working time on the agency's business
calendar (calendar time for urgent cases), paused while a platform must act, and the legal one
in calendar time from the first assignment.

The policy states allowances as durations ("24h", "7d"); on a calendar a day of them is a
working day: an allowance counts `allowance * working hours a day / 24 h` of working time
(24h -> one working day of 8 hours; 12h -> 4 working hours; 7d -> 7 working days), so a
case assigned on Friday at 16:00 with 24h falls due on Monday at 16:00, not on Saturday.

Every function returns the case fields to set and, where a clock changes, the note the audit
record carries (`AuditRecord.clock`), naming the clock and its new deadline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.common.clock import to_millis
from services.common.contracts import Priority
from services.common.mongo import Document
from services.common.workcalendar import WorkCalendar
from services.routing.case import Case
from services.routing.policy import Policy

DAY_SECONDS = 24 * 3600


def calendar_for(agency: str, priority: Priority, policy: Policy) -> WorkCalendar | None:
    """The calendar the agency's internal deadlines count on; None (calendar time) if urgent."""
    return None if priority is Priority.URGENT else policy.calendars.for_agency(agency)


def case_calendar(case: Case, policy: Policy) -> WorkCalendar | None:
    """The calendar a case's internal clock counts on (None: calendar time)."""
    return None if case.calendar is None else policy.calendars.get(case.calendar)


def add_time(start: datetime, seconds: float, calendar: WorkCalendar | None) -> datetime:
    """`seconds` of working time after `start` on `calendar` (plain time when None)."""
    if calendar is None:
        return to_millis(start + timedelta(seconds=seconds))
    return to_millis(calendar.add(start, seconds))


def time_between(start: datetime, end: datetime, calendar: WorkCalendar | None) -> float:
    """Working seconds from `start` to `end` on `calendar` (negative when `end` is earlier)."""
    if calendar is None:
        return (end - start).total_seconds()
    return calendar.working_seconds(start, end)


def working_allowance(allowance: timedelta, calendar: WorkCalendar | None) -> float:
    """The seconds an allowance of the policy counts on `calendar`: a day of it is a working
    day (its periods' length); on calendar time (None), just its seconds."""
    seconds = allowance.total_seconds()
    if calendar is None:
        return seconds
    return seconds * calendar.working_day_seconds / DAY_SECONDS


def describe(due_at: datetime | None, calendar: WorkCalendar | None, what: str) -> str:
    """The audit note of an internal clock change: which clock, the deadline, how counted."""
    counted = "calendar time" if calendar is None else f"working time, calendar {calendar.id}"
    when = "none" if due_at is None else due_at.isoformat()
    return f"internal clock {what}: due {when} ({counted})"


def start_internal(
    agency: str, priority: Priority, allowance: timedelta, policy: Policy, now: datetime
) -> tuple[Document, str]:
    """The internal clock started at `now` with `allowance` (an acknowledge-by deadline)."""
    calendar = calendar_for(agency, priority, policy)
    return internal_deadline(allowance, calendar, now, "started")


def internal_deadline(
    allowance: timedelta | None, calendar: WorkCalendar | None, now: datetime, what: str
) -> tuple[Document, str]:
    """The internal clock's fields for a new deadline `allowance` from `now` (None: none)."""
    budget = None if allowance is None else working_allowance(allowance, calendar)
    due_at = None if budget is None else add_time(now, budget, calendar)
    fields = {
        "due_at": due_at,
        "internal_budget_s": budget,
        "internal_left_s": None,
        "calendar": None if calendar is None else calendar.id,
    }
    return fields, describe(due_at, calendar, what)


def legal_deadline(allowance: timedelta, now: datetime) -> tuple[Document, str]:
    """The legal clock started at `now`: calendar time, whatever the priority."""
    due_at = to_millis(now + allowance)
    return {"legal_due_at": due_at}, f"legal clock started: due {due_at.isoformat()}"


def pause_internal(case: Case, policy: Policy, now: datetime) -> tuple[Document, str | None]:
    """Stop the internal clock (a platform must act): `due_at` None, the working time left kept
    in `internal_left_s` (negative when already overdue). No change (and no note) when it is
    not running."""
    if case.due_at is None:
        return {}, None
    calendar = case_calendar(case, policy)
    left = time_between(now, case.due_at, calendar)
    note = f"internal clock paused: {left:.0f} s of {_counted(calendar)} left"
    return {"due_at": None, "internal_left_s": left}, note


def resume_internal(case: Case, policy: Policy, now: datetime) -> tuple[Document, str | None]:
    """Restart a paused internal clock with the time it had left. No change (and no note) when
    it was not paused."""
    if case.internal_left_s is None:
        return {}, None
    calendar = case_calendar(case, policy)
    due_at = add_time(now, case.internal_left_s, calendar)
    return {"due_at": due_at, "internal_left_s": None}, describe(due_at, calendar, "resumed")


def _counted(calendar: WorkCalendar | None) -> str:
    return "calendar time" if calendar is None else f"working time on calendar {calendar.id}"


def join_notes(*notes: str | None) -> str | None:
    """Clock notes of one change in one line (None when there is none)."""
    kept = [note for note in notes if note]
    return "; ".join(kept) if kept else None
