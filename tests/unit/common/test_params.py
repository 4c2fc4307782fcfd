"""The shared parameter parsers: ASCII digits, bounded times, cursors checked like parameters."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.common.params import (
    MIN_SEEN_AT,
    ParamError,
    check_datetime,
    decode_cursor,
    encode_cursor,
    parse_datetime,
    parse_int,
)

pytestmark = pytest.mark.unit


def test_a_plain_number_in_range_is_taken_and_absence_is_the_default() -> None:
    assert parse_int("25", field="limit", default=50, minimum=1, maximum=200) == 25
    assert parse_int(None, field="limit", default=50, minimum=1, maximum=200) == 50


@pytest.mark.parametrize(
    "raw",
    [
        "²",  # superscript two: str.isdigit() says yes
        "٣",  # Arabic-Indic three
        "３",  # fullwidth three
        "9" * 5000,  # would hit CPython's int-to-str limit
        "9" * 30,  # beyond BSON's 64-bit integers
        "",
        "0",
        "201",
        "-1",
        "+5",
        " 5",
        "5.0",
    ],
)
def test_anything_but_ascii_digits_in_range_names_the_parameter(raw: str) -> None:
    with pytest.raises(ParamError) as caught:
        parse_int(raw, field="limit", default=50, minimum=1, maximum=200)
    assert caught.value.field == "limit"


def test_a_time_with_a_zone_comes_back_in_utc_to_the_millisecond() -> None:
    parsed = parse_datetime("2026-11-02T09:30:00.123456+07:00", field="created_from")
    assert parsed == datetime(2026, 11, 2, 2, 30, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        "2026-11-02T09:30:00",  # no zone
        "0001-01-01T00:00:00+14:00",  # before year 1 in UTC: overflows on conversion
        "9999-12-31T23:59:59-14:00",  # after year 9999 in UTC
        "1000-01-01T00:00:00Z",
        "tomorrow",
        "２０２６-11-02T09:30:00Z",
    ],
)
def test_times_without_a_zone_or_out_of_range_name_the_parameter(raw: str) -> None:
    with pytest.raises(ParamError) as caught:
        parse_datetime(raw, field="created_to")
    assert caught.value.field == "created_to"


def test_seen_at_has_a_lower_bound_whatever_its_offset() -> None:
    year_one = datetime(1, 1, 1, 3, tzinfo=timezone(timedelta(hours=14)))
    with pytest.raises(ParamError):
        check_datetime(year_one, field="seen_at", minimum=MIN_SEEN_AT)
    with pytest.raises(ParamError):
        check_datetime(datetime(1989, 12, 31, tzinfo=UTC), field="seen_at", minimum=MIN_SEEN_AT)


def test_a_cursor_round_trips_its_values() -> None:
    at = datetime(2026, 11, 2, 2, 30, tzinfo=UTC)
    cursor = encode_cursor((0, at, "case-1"))
    assert decode_cursor(cursor, shape=(int, datetime, str)) == (0, at, "case-1")


@pytest.mark.parametrize(
    "values",
    [
        ("0001-01-01T00:00:00+14:00", "case-1"),  # well formed, out of range
        ("2026-11-02T09:30:00", "case-1"),  # no zone
        (17, "case-1"),
        ("2026-11-02T09:30:00Z",),
    ],
)
def test_a_cursor_holding_bad_values_is_refused(values: tuple[object, ...]) -> None:
    raw = base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode()
    with pytest.raises(ParamError) as caught:
        decode_cursor(raw, shape=(datetime, str))
    assert caught.value.field == "cursor"


@pytest.mark.parametrize("raw", ["%%%", "not-a-cursor", "é" * 10, "A" * 5000])
def test_garbage_is_not_a_cursor(raw: str) -> None:
    with pytest.raises(ParamError):
        decode_cursor(raw, shape=(datetime, str))
