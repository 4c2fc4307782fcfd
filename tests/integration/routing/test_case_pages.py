"""Case lists read a window of urgency at a time give the pages one query gave: every case
once, most urgent first, whatever the list learned from its earlier reads."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.mongo import MongoDatabase
from services.routing import listing
from services.routing.case import CLOSED, DUE, OPEN_WITHOUT_DEADLINE, urgency_key
from services.routing.cases import LIST_HINTS, CaseQuery, CaseRepository
from services.routing.listing import Hint
from services.routing.planning import plan_new_case
from services.routing.policy import load_policy
from tests.helpers import report_event

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
AGENCIES = ("police", "culture_office")


def stored(n: int, urgency: int, agency: str) -> dict[str, Any]:
    """A case document as routing stores it, with this urgency and agency (every third one
    acknowledged)."""
    case, _ = plan_new_case(report_event(n), load_policy(), NOW, case_id=f"case-{n:04d}")
    status = "acknowledged" if n % 3 == 0 else case.status.value
    fields = {"urgency": urgency, "agency": agency, "readers": [agency], "status": status}
    return case.to_document() | fields


def urgencies(rng: random.Random) -> list[int]:
    """Keys of every kind: due far back and far ahead (beyond where any case is expected),
    dense around now, open without deadline and closed of every age, and ties."""
    days = [-20_000, -400, -31, -2, -0.01, 0.01, 1, 3, 29, 2_000, 20_000]
    keys = [urgency_key(DUE, NOW + timedelta(days=d)) for d in days]
    keys += [urgency_key(DUE, NOW + timedelta(minutes=rng.uniform(-600, 600))) for _ in range(60)]
    for rank in (OPEN_WITHOUT_DEADLINE, CLOSED):
        ages = [0.0, 0.5, 3, 40, 900, 15_000, -0.5]  # -0.5: a clock half a day ahead
        keys += [urgency_key(rank, NOW - timedelta(days=a)) for a in ages]
        keys += [urgency_key(rank, NOW - timedelta(hours=rng.uniform(0, 48))) for _ in range(20)]
    tie = urgency_key(DUE, NOW + timedelta(hours=5))
    return keys + [tie] * 9


async def pages(repository: CaseRepository, query: CaseQuery) -> list[str]:
    """Every case of the list, page after page."""
    ids: list[str] = []
    cursor = None
    while True:
        page, cursor = await repository.find(CaseQuery(**{**query.__dict__, "cursor": cursor}), NOW)
        ids += [case.case_id for case in page]
        if cursor is None:
            return ids


async def test_pages_read_by_windows_are_the_pages_one_query_gave(
    routing_db: MongoDatabase,
) -> None:
    rng = random.Random(15)
    repository = CaseRepository(routing_db)
    await repository.ensure_indexes(NOW)
    docs = [stored(n, key, rng.choice(AGENCIES)) for n, key in enumerate(urgencies(rng))]
    await routing_db.cases.insert_many(docs)
    overdue = urgency_key(DUE, NOW)

    def expected(query: CaseQuery) -> list[str]:
        chosen = [
            d
            for d in docs
            if query.agency in (None, d["agency"])
            and query.status in (None, d["status"])
            and (query.overdue is None or (d["urgency"] < overdue) == query.overdue)
        ]
        return [d["_id"] for d in sorted(chosen, key=lambda d: (d["urgency"], d["_id"]))]

    queries = [
        CaseQuery(agency="police", limit=7),
        # Narrower than the list above: read by its hint the first time.
        CaseQuery(agency="police", status="acknowledged", limit=4),
        CaseQuery(limit=10),
        CaseQuery(agency="culture_office", overdue=True, limit=3),
        CaseQuery(agency="police", overdue=False, limit=5),
        CaseQuery(agency="nobody", limit=5),
    ]
    for query in queries:
        # Read whole the first time, then by windows from what that read found.
        assert await pages(repository, query) == expected(query), query
        assert await pages(repository, query) == expected(query), query
    assert any(hint.width is not None for hint in repository._pages.hints.values())
    # Cases more urgent than where the lists began, and among them, come in order too.
    more = [urgency_key(DUE, NOW - timedelta(days=d)) for d in (50_000, 90, 30.5, 0.5)]
    added = [stored(1000 + n, key, "police") for n, key in enumerate(more)]
    await routing_db.cases.insert_many(added)
    docs += added
    for query in queries:
        assert await pages(repository, query) == expected(query), query


async def test_a_restarted_routing_reads_lists_by_the_hints_stored_before(
    routing_db: MongoDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [stored(n, urgency_key(DUE, NOW + timedelta(hours=n)), "police") for n in range(-30, 30)]
    await routing_db.cases.insert_many(docs)
    expected = [d["_id"] for d in sorted(docs, key=lambda d: (d["urgency"], d["_id"]))]
    query = CaseQuery(reader="police", hidden_categories=("member_misconduct",), limit=7)
    assert await pages(CaseRepository(routing_db), query) == expected
    assert await routing_db[LIST_HINTS].count_documents({}) == 1  # the reader's, unfiltered
    used: list[Hint] = []
    windows = listing.windows

    def spied(start: int, end: int, now: datetime, hint: Hint) -> Iterator[tuple[int, int]]:
        used.append(hint)
        return windows(start, end, now, hint)

    monkeypatch.setattr(listing, "windows", spied)
    assert await pages(CaseRepository(routing_db), query) == expected
    assert used[0].width is not None  # by windows from its first read on
    # A hint stored malformed is none: the list is read whole, and right.
    await routing_db[LIST_HINTS].update_many({}, {"$set": {"first": "soon"}})
    used.clear()
    assert await pages(CaseRepository(routing_db), query) == expected
    assert used[0].width is None
