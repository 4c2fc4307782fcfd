"""Business calendars: working time on an agency's office hours, and which agency uses which.

A `WorkCalendar` counts working seconds: working days (Mon-Fri by default) minus Vietnamese
public holidays (Tết, Hùng Kings, 30/4, 1/5, 2/9, ... from the maintained `holidays` package,
including the Saturdays it lists as worked to make up for a bridge day) minus the configured
`extra_days_off`, plus the configured `make_up_days`, each day split into periods (07:30-11:30
and 13:00-17:00 by default) in the calendar's zone. Times come in aware in any zone and go out
in UTC. `CalendarBook` holds the calendars of a TOML file and the agencies that use them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from services.common.policyfile import (
    PolicyError,
    invalid,
    line_of,
    parse_model,
    read_policy_text,
)

DEFAULT_CALENDAR = "default"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PERIOD = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
# A stretch of days off longer than this means the calendar is broken, not that work is far off.
LONGEST_BREAK_DAYS = 400


@lru_cache(maxsize=64)
def vietnamese_days(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """The public holidays of `year` in Vietnam, and the weekend days worked to make up for one."""
    calendar = holidays.country_holidays("VN", years=year)
    made_up = frozenset(d for d in getattr(calendar, "weekend_workdays", ()) if d.year == year)
    return frozenset(calendar.keys()), made_up


def parse_period(value: str) -> tuple[time, time]:
    """`"07:30-11:30"` -> (07:30, 11:30); the start must come before the end."""
    match = PERIOD.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"bad period {value!r}: use HH:MM-HH:MM, e.g. 07:30-11:30")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"bad period {value!r}: not a time of day")
    start, end = time(h1, m1), (time(h2, m2) if h2 < 24 else time.max)
    if start >= end:
        raise ValueError(f"period {value!r} must start before it ends")
    return start, end


def check_zone(value: str) -> str:
    """The zone name, if the system knows it."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


class CalendarSpec(BaseModel):
    """One `[[calendars]]` entry of the calendars file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    zone: Annotated[str, AfterValidator(check_zone)] = "Asia/Ho_Chi_Minh"
    periods: list[str] = Field(default_factory=lambda: ["07:30-11:30", "13:00-17:00"])
    working_days: list[str] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    public_holidays: bool = True
    extra_days_off: list[date] = Field(default_factory=list)
    make_up_days: list[date] = Field(default_factory=list)

    @field_validator("periods")
    @classmethod
    def periods_in_order(cls, value: list[str]) -> list[str]:
        """At least one period; each well formed, ascending and not overlapping the next."""
        if not value:
            raise ValueError("a calendar needs at least one working period")
        bounds = [parse_period(period) for period in value]
        for (_, end), (start, _) in itertools.pairwise(bounds):
            if start < end:
                raise ValueError("periods must be in order and must not overlap")
        return value

    @field_validator("working_days")
    @classmethod
    def known_days(cls, value: list[str]) -> list[str]:
        """At least one working day, each one of mon..sun, none twice."""
        days = [day.strip().lower() for day in value]
        if not days:
            raise ValueError("a calendar with no working day can never reach a deadline")
        unknown = [day for day in days if day not in WEEKDAYS]
        if unknown:
            raise ValueError(f"unknown day(s) {unknown}: use {', '.join(WEEKDAYS)}")
        if len(set(days)) != len(days):
            raise ValueError("a working day is listed twice")
        return days


class WorkCalendar:
    """Working time on one calendar: `add`, `subtract`, `working_seconds`, to the second."""

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self.id = spec.id
        self.zone = ZoneInfo(spec.zone)
        self.periods = [parse_period(period) for period in spec.periods]
        self.weekdays = frozenset(WEEKDAYS.index(day) for day in spec.working_days)
        self.days_off = frozenset(spec.extra_days_off)
        self.make_up = frozenset(spec.make_up_days)

    def __repr__(self) -> str:
        return f"WorkCalendar({self.id!r})"

    @property
    def working_day_seconds(self) -> float:
        """The working seconds of one full working day (8 h with the default periods)."""
        day = date(2000, 1, 3)
        return sum(
            (end - begin).total_seconds()
            for begin, end in (self.span(day, start, finish) for start, finish in self.periods)
        )

    def is_working_day(self, day: date) -> bool:
        """Whether people work on `day` (a local date in the calendar's zone)."""
        if day in self.make_up:
            return True
        if day in self.days_off:
            return False
        public, made_up = vietnamese_days(day.year) if self.spec.public_holidays else ((), ())
        if day in made_up:
            return True
        return day.weekday() in self.weekdays and day not in public

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment `seconds` of working time after `start` (UTC); `start` itself for 0."""
        if seconds < 0:
            return self.subtract(start, -seconds)
        start, left = as_utc(start), timedelta(seconds=seconds)
        for begin, end in self.spans_from(start, forward=True):
            begin = max(begin, start)
            if begin >= end:
                continue
            if left <= end - begin:
                return begin + left
            left -= end - begin
        raise AssertionError("unreachable: spans_from never ends")  # pragma: no cover

    def subtract(self, end: datetime, seconds: float) -> datetime:
        """The moment `seconds` of working time before `end` (UTC); `end` itself for 0."""
        if seconds < 0:
            return self.add(end, -seconds)
        end, left = as_utc(end), timedelta(seconds=seconds)
        for begin, finish in self.spans_from(end, forward=False):
            finish = min(finish, end)
            if begin >= finish:
                continue
            if left <= finish - begin:
                return finish - left
            left -= finish - begin
        raise AssertionError("unreachable: spans_from never ends")  # pragma: no cover

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Working seconds between `start` and `end` (negative when `end` comes first)."""
        start, end = as_utc(start), as_utc(end)
        if end < start:
            return -self.working_seconds(end, start)
        total = timedelta(0)
        for begin, finish in self.spans_from(start, forward=True):
            if begin >= end:
                break
            total += max(min(finish, end) - max(begin, start), timedelta(0))
        return total.total_seconds()

    def spans_from(self, moment: datetime, *, forward: bool) -> Iterator[tuple[datetime, datetime]]:
        """The working periods (UTC) of the days from `moment`'s local day on, in time order."""
        day = moment.astimezone(self.zone).date()
        step = timedelta(days=1 if forward else -1)
        idle = 0
        while True:
            if self.is_working_day(day):
                idle = 0
                spans = [self.span(day, begin, end) for begin, end in self.periods]
                yield from (spans if forward else reversed(spans))
            else:
                idle += 1
                if idle > LONGEST_BREAK_DAYS:
                    raise ValueError(f"calendar {self.id!r}: no working day for over a year")
            day += step

    def span(self, day: date, begin: time, end: time) -> tuple[datetime, datetime]:
        """One period of `day` as UTC moments."""
        start = datetime.combine(day, begin, tzinfo=self.zone).astimezone(UTC)
        if end == time.max:
            finish = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
        else:
            finish = datetime.combine(day, end, tzinfo=self.zone)
        return start, finish.astimezone(UTC)


def as_utc(moment: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is refused (its zone would be a guess)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: give a time zone")
    return moment.astimezone(UTC)


class CalendarsFile(BaseModel):
    """The calendars file: `[[calendars]]` entries and `[agencies]` naming each one's calendar."""

    model_config = ConfigDict(extra="forbid")

    calendars: list[CalendarSpec] = Field(min_length=1)
    agencies: dict[str, str] = Field(default_factory=dict)


class CalendarBook:
    """The calendars by id and the calendar of each agency (unknown agency -> "default")."""

    def __init__(self, calendars: list[WorkCalendar], agencies: dict[str, str]) -> None:
        self.calendars = {calendar.id: calendar for calendar in calendars}
        self.agencies = dict(agencies)
        if DEFAULT_CALENDAR not in self.calendars:
            raise ValueError(f"no calendar with id {DEFAULT_CALENDAR!r}")

    @property
    def default(self) -> WorkCalendar:
        """The calendar of agencies the file does not name."""
        return self.calendars[DEFAULT_CALENDAR]

    def for_agency(self, agency: str) -> WorkCalendar:
        """The calendar `agency` works on."""
        return self.calendars[self.agencies.get(agency, DEFAULT_CALENDAR)]

    def get(self, calendar_id: str) -> WorkCalendar:
        """The calendar with this id; the default one for an id the file no longer has."""
        return self.calendars.get(calendar_id, self.default)


def parse_calendars(text: str, name: str) -> CalendarBook:
    """A calendar book from TOML text, or PolicyError naming each problem and its line."""
    parsed = parse_model(text, name, CalendarsFile, {"calendars": "calendar"})
    problems = []
    seen: set[str] = set()
    for spec in parsed.calendars:
        if spec.id in seen:
            problems.append(f"calendar {spec.id!r}{line_of(text, spec.id)}: id used twice")
        seen.add(spec.id)
    if DEFAULT_CALENDAR not in seen:
        problems.append(f'calendars: there must be a calendar with id = "{DEFAULT_CALENDAR}"')
    for agency, calendar_id in parsed.agencies.items():
        if calendar_id not in seen:
            problems.append(
                f"agencies.{agency}{key_line(text, agency)}: unknown calendar {calendar_id!r}"
            )
    if problems:
        raise PolicyError(invalid(name, problems))
    return CalendarBook([WorkCalendar(spec) for spec in parsed.calendars], parsed.agencies)


def load_calendars(path: Path | None = None) -> CalendarBook:
    """The calendars at `path` (env CALENDARS_FILE), or the packaged `calendars.toml`."""
    text, name = read_policy_text(path, "services.common", "calendars.toml")
    return parse_calendars(text, name)


def key_line(text: str, key: str) -> str:
    """` (line N)` for the line `key = ...`, or "" when it cannot be found."""
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf'^\s*"?{re.escape(key)}"?\s*=', line):
            return f" (line {number})"
    return ""
