"""The case export's pure parts: the column set, cell text, date bounds, the query."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pytest

from services.admin.export import (
    HEADERS,
    LOCAL,
    CaseFilter,
    case_row,
    csv_text,
    is_formula_like,
    parse_bound,
)
from tests.unit.routing.factory import NOW, new_case

pytestmark = pytest.mark.unit


def test_the_column_set_never_holds_contact_data_or_free_text() -> None:
    case = new_case()
    assert case.report.contact_sealed is not None
    row = dict(zip(HEADERS, case_row(case, NOW), strict=True))
    text = " ".join(str(value) for value in row.values())
    assert "0905123456" not in text and "Trần Thị B" not in text
    assert case.report.description not in text
    assert not {"contact", "name", "phone", "email", "description", "notes"} & set(HEADERS)
    assert row["created_at"] == datetime(2026, 11, 25, 19, 0, tzinfo=LOCAL)
    assert row["overdue"] is False and row["province"] == "Đà Nẵng"
    # A case stored before place codes gets its province code from the name.
    assert (row["province_code"], row["commune_code"]) == ("48", None)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "yes"),
        (False, "no"),
        (3, "3"),
        (datetime(2026, 11, 25, 19, 0, 30, 123000, tzinfo=LOCAL), "2026-11-25T19:00:30+07:00"),
        ("Hà Nội", "Hà Nội"),
        ("=1+1", "'=1+1"),
        ("+84905", "'+84905"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("a=b", "a=b"),
    ],
)
def test_csv_cells(value: object, text: str) -> None:
    assert csv_text(value) == text  # type: ignore[arg-type]


def test_only_text_can_look_like_a_formula() -> None:
    assert is_formula_like("=A1") and not is_formula_like(-1) and not is_formula_like(None)


def test_a_date_bound_is_a_whole_day_in_hanoi() -> None:
    assert parse_bound("2026-11-22", end=False) == datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
    assert parse_bound("2026-11-22", end=True) == datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
    assert parse_bound("2026-11-22T08:00:00+07:00", end=True) == datetime(
        2026, 11, 22, 1, 0, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["tomorrow", "2026-11-22T08:00:00", "22/11/2026", ""])
def test_a_bound_without_a_zone_or_unreadable_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_bound(text, end=False)


def test_the_query_has_only_the_filters_given() -> None:
    assert CaseFilter().query() == {}
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    assert CaseFilter("police", "assigned", start, end).query() == {
        "agency": "police",
        "status": "assigned",
        "created_at": {"$gte": start, "$lt": end},
    }
    assert CaseFilter(created_to=end).query() == {"created_at": {"$lt": end}}
