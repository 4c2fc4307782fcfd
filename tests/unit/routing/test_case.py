"""The typed case: open, overdue, time left, escalation level, urgency order, documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.common.contracts import CaseStatus, DeadlineClock
from services.routing.case import (
    CLOSED,
    DUE,
    OPEN_WITHOUT_DEADLINE,
    AuditRecord,
    Case,
    overdue_bound,
    urgency_key,
    urgency_position,
)
from tests.unit.routing.factory import NOW, new_case

pytestmark = pytest.mark.unit
HOUR = timedelta(hours=1)


@pytest.mark.parametrize("status", list(CaseStatus))
def test_only_resolved_and_rejected_cases_are_closed(status: CaseStatus) -> None:
    closed = status in (CaseStatus.RESOLVED, CaseStatus.REJECTED)
    assert new_case(status=status).is_open is not closed


def test_an_open_case_past_its_deadline_is_overdue_and_a_closed_one_never() -> None:
    late = new_case(due_at=NOW - HOUR)
    assert late.is_overdue(NOW) and late.time_left(NOW) == -HOUR
    assert not new_case(due_at=NOW + HOUR).is_overdue(NOW)
    assert not new_case(due_at=NOW).is_overdue(NOW), "due this instant is not yet late"
    closed = new_case(status=CaseStatus.RESOLVED, due_at=NOW - HOUR)
    assert not closed.is_overdue(NOW) and closed.time_left(NOW) is None
    assert new_case(due_at=None, legal_due_at=None).time_left(NOW) is None


def test_the_nearer_clock_decides_overdue_and_a_paused_case_still_runs_its_legal_clock() -> None:
    legal_first = new_case(due_at=NOW + 3 * HOUR, legal_due_at=NOW - HOUR)
    assert legal_first.deadline == (NOW - HOUR, DeadlineClock.LEGAL)
    assert legal_first.is_overdue(NOW) and legal_first.time_left(NOW) == -HOUR
    internal_first = new_case(due_at=NOW + HOUR, legal_due_at=NOW + 3 * HOUR)
    assert internal_first.deadline == (NOW + HOUR, DeadlineClock.INTERNAL)
    paused = new_case(
        status=CaseStatus.WAITING_ON_PLATFORM,
        due_at=None,
        internal_left_s=3600.0,
        legal_due_at=NOW - HOUR,
    )
    assert paused.is_overdue(NOW) and paused.deadline == (NOW - HOUR, DeadlineClock.LEGAL)
    assert paused.urgency < internal_first.urgency


def test_the_escalation_level_is_the_highest_recorded_old_notes_included() -> None:
    def escalated(level: int | None, note: str) -> AuditRecord:
        return AuditRecord(
            at=NOW, actor="notify", action="escalated", to_status="assigned", level=level, note=note
        )

    case = new_case(audit=[escalated(None, "level 1: a"), escalated(2, "level 2: b")])
    assert case.escalation_level == 2
    assert new_case().escalation_level == 0


def test_urgency_orders_overdue_then_due_soonest_then_open_newest_then_closed_newest() -> None:
    cases = {
        "closed-old": new_case(status=CaseStatus.REJECTED, created_at=NOW - 9 * HOUR),
        "closed-new": new_case(status=CaseStatus.RESOLVED, created_at=NOW - HOUR),
        "no-deadline-old": new_case(
            status=CaseStatus.IN_PROGRESS, due_at=None, legal_due_at=None, created_at=NOW - 5 * HOUR
        ),
        "no-deadline-new": new_case(
            status=CaseStatus.IN_PROGRESS, due_at=None, legal_due_at=None, created_at=NOW
        ),
        "due-later": new_case(due_at=NOW + 3 * HOUR),
        "overdue": new_case(due_at=NOW - 2 * HOUR),
        "due-soon": new_case(due_at=NOW + HOUR),
    }
    ordered = sorted(cases, key=lambda name: cases[name].urgency)
    assert ordered == [
        "overdue",
        "due-soon",
        "due-later",
        "no-deadline-new",
        "no-deadline-old",
        "closed-new",
        "closed-old",
    ]


@pytest.mark.parametrize("rank", [DUE, OPEN_WITHOUT_DEADLINE, CLOSED])
@pytest.mark.parametrize(
    "at",
    [datetime(1970, 1, 1, tzinfo=UTC), NOW, datetime(8999, 12, 31, 23, 59, 59, 999000, UTC)],
)
def test_an_urgency_key_gives_back_its_rank_and_time(rank: int, at: datetime) -> None:
    assert urgency_position(urgency_key(rank, at)) == (rank, at)
    assert 0 <= urgency_key(rank, at) < 2**63


def test_overdue_bound_separates_overdue_cases_even_within_a_millisecond() -> None:
    now = NOW + timedelta(microseconds=400)
    assert new_case(due_at=NOW).urgency < overdue_bound(now), "due 0.4 ms ago: overdue"
    assert new_case(due_at=NOW + timedelta(milliseconds=1)).urgency >= overdue_bound(now)
    assert new_case(due_at=NOW).urgency >= overdue_bound(NOW)


def test_a_case_reads_back_from_its_document_with_its_urgency_stored() -> None:
    case = new_case()
    document = case.to_document()
    assert document["_id"] == "case-1" and document["urgency"] == case.urgency
    assert document["audit"][0]["to"] == "assigned" and "to_status" not in document["audit"][0]
    assert Case.from_document({**document, "outbox": [{"x": 1}]}) == case


@pytest.mark.parametrize("missing", ["tracking_code", "report", "status", "created_at"])
def test_an_incomplete_document_is_refused_naming_the_field(missing: str) -> None:
    document = new_case().to_document()
    del document[missing]
    with pytest.raises(ValidationError, match=missing):
        Case.from_document(document)
