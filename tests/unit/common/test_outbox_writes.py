"""How a write stores its events, for the clearing relay and for the change-stream relay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.common.contracts import AnyEvent
from services.common.outbox import (
    OUTBOX,
    OUTBOX_SINCE,
    change_streams_used,
    outbox_fields,
    outbox_update,
    use_change_streams,
    with_outbox,
)
from services.common.outbox_stream import _written
from tests.helpers import report_event

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.fixture
def streamed() -> Iterator[None]:
    use_change_streams(True)
    try:
        yield
    finally:
        use_change_streams(False)


def test_for_the_clearing_relay_events_are_appended_and_marked_pending() -> None:
    assert not change_streams_used()
    events: list[AnyEvent] = [report_event(1), report_event(2)]
    fields = outbox_fields(events, NOW)
    assert [e["event_id"] for e in fields[OUTBOX]] == [e.event_id for e in events]
    assert fields[OUTBOX_SINCE] == NOW
    update = outbox_update(events, NOW)
    assert update["$push"][OUTBOX].keys() == {"$each"}
    assert update["$min"] == {OUTBOX_SINCE: NOW}


def test_for_the_change_stream_a_write_keeps_its_own_events_alone(streamed: None) -> None:
    events: list[AnyEvent] = [report_event(1), report_event(2)]
    assert OUTBOX_SINCE not in outbox_fields(events, NOW)
    update = outbox_update(events, NOW)
    assert update == {"$push": {OUTBOX: {"$each": update["$push"][OUTBOX]["$each"], "$slice": -2}}}
    assert [e["event_id"] for e in update["$push"][OUTBOX]["$each"]] == [e.event_id for e in events]


def test_with_outbox_merges_operators_without_dropping_the_write_s_own() -> None:
    own: dict[str, Any] = {
        "$set": {"status": "appealed"},
        "$push": {"history": {"status": "appealed"}},
    }
    merged = with_outbox(own, outbox_update([report_event(1)], NOW))
    assert merged["$set"] == {"status": "appealed"}
    assert merged["$push"].keys() == {"history", OUTBOX}
    assert merged["$min"] == {OUTBOX_SINCE: NOW}
    assert own["$push"].keys() == {"history"}  # the caller's update is left as it was


@pytest.mark.parametrize(
    ("change", "entries"),
    [
        ({"operationType": "insert", "fullDocument": {"_id": 1, OUTBOX: ["a"]}}, ["a"]),
        ({"operationType": "replace", "fullDocument": {"_id": 1, OUTBOX: ["b"]}}, ["b"]),
        (
            {
                "operationType": "update",
                "updateDescription": {"updatedFields": {OUTBOX: ["c"], "rev": 2}},
            },
            ["c"],
        ),
    ],
)
def test_the_relay_takes_the_events_a_change_wrote(
    change: dict[str, Any], entries: list[str]
) -> None:
    assert _written({**change, "documentKey": {"_id": 1}}) == {"_id": 1, OUTBOX: entries}
