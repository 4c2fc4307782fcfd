"""The business calendar: working time over weekends, Tết and holidays, make-up days, to the
second, and the calendars file with its line-numbered errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from services.common.policyfile import PolicyError
from services.common.workcalendar import (
    WEEKDAYS,
    CalendarSpec,
    WorkCalendar,
    load_calendars,
    parse_calendars,
)

pytestmark = pytest.mark.unit

ICT = timezone(timedelta(hours=7))
HOUR = 3600.0
DAY = 8 * HOUR  # 07:30-11:30 and 13:00-17:00
CALENDAR = WorkCalendar(CalendarSpec(id="default"))


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A local (Vietnam) time."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=ICT)


# 2026-11-27 is a Friday, 2026-11-30 the Monday after it.
FRI, SAT, MON, TUE = date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 30), date(2026, 12, 1)


def test_friday_afternoon_work_continues_on_monday_morning() -> None:
    assert CALENDAR.add(at(FRI, 16), 2 * HOUR) == at(MON, 8, 30)


def test_results_are_utc_whatever_zone_comes_in() -> None:
    result = CALENDAR.add(at(FRI, 16).astimezone(UTC), 2 * HOUR)
    assert result.tzinfo is UTC and result == at(MON, 8, 30)
    with pytest.raises(ValueError, match="naive"):
        CALENDAR.add(datetime(2026, 11, 27, 9), HOUR)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(MON, 6), at(MON, 8, 30)),  # before 07:30: work starts at 07:30
        (at(MON, 11, 30), at(MON, 14)),  # at 11:30: the lunch break is skipped
        (at(MON, 12, 15), at(MON, 14)),  # in the lunch break
        (at(MON, 17), at(TUE, 8, 30)),  # at 17:00
        (at(MON, 19), at(TUE, 8, 30)),  # after 17:00
        (at(SAT, 10), at(MON, 8, 30)),  # on a weekend
        (at(MON, 11, 0, 1), at(MON, 13, 30, 1)),  # to the second across lunch
    ],
)
def test_starts_outside_working_hours(start: datetime, expected: datetime) -> None:
    assert CALENDAR.add(start, HOUR) == expected


def test_a_period_is_used_to_its_end_before_moving_on() -> None:
    assert CALENDAR.add(at(MON, 10, 30), HOUR) == at(MON, 11, 30)
    assert CALENDAR.add(at(MON, 7, 30), DAY) == at(MON, 17)


def test_tet_2026_is_skipped_whole() -> None:
    # Tết 2026: 16-20 February (Monday to Friday); the Friday before is a working day.
    for day in range(16, 21):
        assert not CALENDAR.is_working_day(date(2026, 2, day))
    assert CALENDAR.is_working_day(date(2026, 2, 13))
    assert CALENDAR.add(at(date(2026, 2, 13), 16), 2 * HOUR) == at(date(2026, 2, 23), 8, 30)


def test_a_deadline_spanning_a_holiday_moves_past_it() -> None:
    # National Day: 1 and 2 September 2026 (Tuesday, Wednesday), and the bridge day before
    # them, Monday 31 August: two working days from Friday 28 August end on Friday 4 September.
    start = at(date(2026, 8, 28), 9)
    assert CALENDAR.add(start, 2 * DAY) == at(date(2026, 9, 4), 9)
    # Vietnam Culture Day, 24 November 2026 (a Tuesday).
    assert CALENDAR.add(at(date(2026, 11, 23), 16), 2 * HOUR) == at(date(2026, 11, 25), 8, 30)


def test_the_library_s_make_up_saturday_is_worked() -> None:
    # The government moved 31 August 2026 off, to be made up on Saturday 22 August.
    assert CALENDAR.is_working_day(date(2026, 8, 22))
    assert not CALENDAR.is_working_day(date(2026, 8, 31))
    assert CALENDAR.add(at(date(2026, 8, 21), 16), 2 * HOUR) == at(date(2026, 8, 22), 8, 30)


def test_configured_make_up_day_and_extra_day_off() -> None:
    calendar = WorkCalendar(CalendarSpec(id="x", make_up_days=[SAT], extra_days_off=[MON]))
    assert calendar.add(at(FRI, 16), 2 * HOUR) == at(SAT, 8, 30)
    assert calendar.add(at(SAT, 16), 2 * HOUR) == at(TUE, 8, 30)


@pytest.mark.parametrize(
    "start",
    [at(MON, 9, 17, 23), at(FRI, 16, 59, 59), at(date(2026, 2, 13), 10), at(MON, 13)],
)
@pytest.mark.parametrize("seconds", [1.0, 1800.0, 3 * HOUR + 7, DAY, 5 * DAY + 123])
def test_subtract_undoes_add_and_working_seconds_measures_it(
    start: datetime, seconds: float
) -> None:
    end = CALENDAR.add(start, seconds)
    assert CALENDAR.subtract(end, seconds) == start
    assert CALENDAR.working_seconds(start, end) == pytest.approx(seconds)
    assert CALENDAR.working_seconds(end, start) == pytest.approx(-seconds)


def test_subtract_stops_at_the_start_of_a_period() -> None:
    assert CALENDAR.subtract(at(MON, 8, 30), HOUR) == at(MON, 7, 30)
    assert CALENDAR.subtract(at(MON, 8, 30), 2 * HOUR) == at(FRI, 16)
    assert CALENDAR.subtract(at(MON, 12), HOUR) == at(MON, 10, 30)


def test_working_seconds_counts_only_office_hours() -> None:
    assert CALENDAR.working_day_seconds == DAY
    assert CALENDAR.working_seconds(at(FRI, 0), at(MON, 23, 59)) == 2 * DAY
    assert CALENDAR.working_seconds(at(SAT, 8), at(SAT, 12)) == 0
    assert CALENDAR.add(at(MON, 9), 0) == at(MON, 9)


def test_the_packaged_file_gives_every_agency_the_default_calendar() -> None:
    book = load_calendars()
    assert book.for_agency("police").id == "default"
    assert book.for_agency("an_agency_not_in_the_file").id == "default"
    assert book.get("gone").id == "default"


def test_calendars_file_with_its_own_hours(tmp_path: Path) -> None:
    path = tmp_path / "calendars.toml"
    path.write_text(
        '[[calendars]]\nid = "default"\n\n[[calendars]]\nid = "night"\n'
        'periods = ["20:00-24:00"]\nworking_days = ["sat", "sun"]\npublic_holidays = false\n'
        '\n[agencies]\npolice = "night"\n',
        "utf-8",
    )
    night = load_calendars(path).for_agency("police")
    assert night.add(at(FRI, 12), HOUR) == at(SAT, 21)
    assert night.add(at(SAT, 23), 2 * HOUR) == at(date(2026, 11, 29), 21)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[[calendars]]\nid = "default"\nworking_days = []\n', "calendar 'default' (line 2)"),
        ('[[calendars]]\nid = "default"\nperiods = ["13:00-11:00"]\n', "start before it ends"),
        (
            '[[calendars]]\nid = "default"\nperiods = ["07:30-12:00", "11:00-17:00"]\n',
            "must not overlap",
        ),
        ('[[calendars]]\nid = "default"\nworking_days = ["funday"]\n', "unknown day"),
        ('[[calendars]]\nid = "default"\nzone = "Mars/Olympus"\n', "unknown time zone"),
        ('[[calendars]]\nid = "office"\n', 'id = "default"'),
        (
            '[[calendars]]\nid = "default"\n\n[agencies]\npolice = "nope"\n',
            "agencies.police (line 5): unknown calendar 'nope'",
        ),
        ('[[calendars]]\nid = "default"\n[[calendars]]\nid = "default"\n', "id used twice"),
        ('[[calendars]\nid = "default"\n', "not valid TOML"),
    ],
)
def test_a_bad_calendars_file_is_refused_naming_the_problem(text: str, problem: str) -> None:
    with pytest.raises(PolicyError) as error:
        parse_calendars(text, "calendars.toml")
    assert problem in str(error.value)
    assert str(error.value).startswith("calendars.toml:")


def test_a_calendar_without_any_working_day_left_is_refused_not_looped() -> None:
    calendar = WorkCalendar(CalendarSpec(id="x", working_days=["sun"]))
    # Every Sunday of the coming two years taken off: no working day for over a year.
    sundays = [date(2026, 11, 29) + timedelta(weeks=n) for n in range(110)]
    broken = WorkCalendar(CalendarSpec(id="y", working_days=["sun"], extra_days_off=sundays))
    assert calendar.add(at(MON, 9), HOUR) == at(date(2026, 12, 6), 8, 30)
    with pytest.raises(ValueError, match="no working day"):
        broken.add(at(MON, 9), HOUR)


def test_a_round_the_clock_calendar_is_plain_time_to_the_microsecond() -> None:
    always = WorkCalendar(
        CalendarSpec(
            id="always", periods=["00:00-24:00"], working_days=list(WEEKDAYS), public_holidays=False
        )
    )
    start = datetime(2026, 11, 29, 16, 59, 59, 123000, tzinfo=UTC)
    for seconds in (0.5, 3600.0, 3 * 86400.0 + 5):
        end = always.add(start, seconds)
        assert end == start + timedelta(seconds=seconds)
        assert always.subtract(end, seconds) == start
        assert always.working_seconds(start, end) == seconds
    assert always.working_day_seconds == 86400
