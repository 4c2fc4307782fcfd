"""Console dashboard figures, without a server (sessions: test_staff_accounts.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.contracts import CaseStatus, Category
from services.routing.case import AuditRecord, Case
from services.routing.dashboard import bar_chart, duration_text, figures, overdue_by_level
from tests.unit.routing.factory import new_case

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def case(**fields: object) -> Case:
    base: dict[str, Any] = {
        "created_at": NOW - timedelta(hours=10),
        "acknowledge_within_s": 4 * 3600,
        "resolve_within_s": 24 * 3600,
        "due_at": NOW + timedelta(hours=1),
        "audit": [],
    }
    return new_case(**{**base, **fields})


def escalated(level: int | None, note: str) -> AuditRecord:
    return AuditRecord(
        at=NOW, actor="notify", action="escalated", to_status="assigned", level=level, note=note
    )


def test_figures_count_and_time_cases_and_judge_deadlines() -> None:
    created = NOW - timedelta(hours=10)
    on_time = case(
        status=CaseStatus.RESOLVED,
        acknowledged_at=created + timedelta(hours=1),
        closed_at=created + timedelta(hours=5),
    )
    late_ack = case(
        status=CaseStatus.RESOLVED,
        agency="culture_office",
        category=Category.FALSE_INFORMATION,
        acknowledged_at=created + timedelta(hours=6),
        closed_at=created + timedelta(hours=7),
    )
    still_open = case()
    numbers = figures([on_time, late_ack, still_open])
    assert numbers.total == 3
    assert numbers.by_category == {"scam_fraud": 2, "false_information": 1}
    assert numbers.by_agency == {"police": 2, "culture_office": 1}
    assert numbers.median_ack == timedelta(hours=3, minutes=30)
    assert numbers.median_resolve == timedelta(hours=6)
    assert numbers.on_time_share == 0.5


def test_overdue_cases_are_grouped_by_agency_and_reached_level() -> None:
    escalated_case = case(
        due_at=NOW - timedelta(hours=5),
        audit=[escalated(None, "level 1: police-supervisor"), escalated(2, "level 2: x")],
    )
    not_yet = case(due_at=NOW - timedelta(minutes=1))
    closed = case(due_at=NOW - timedelta(hours=1), status=CaseStatus.RESOLVED)
    table = overdue_by_level([escalated_case, not_yet, closed, case()], NOW)
    assert table == {"police": {2: 1, 0: 1}}
    assert escalated_case.escalation_level == 2


def test_the_chart_is_self_contained_accessible_svg() -> None:
    svg = bar_chart([("Lừa đảo", 3), ("<script>", 1)], title="Theo loại")
    assert svg.startswith("<svg") and 'role="img"' in svg and 'aria-label="Theo loại"' in svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "–"),
        (timedelta(seconds=40), "40 s"),
        (timedelta(minutes=12), "12 min"),
        (timedelta(hours=2, minutes=5), "2 h 05 min"),
    ],
)
def test_durations_read_naturally(value: timedelta | None, text: str) -> None:
    assert duration_text(value) == text
