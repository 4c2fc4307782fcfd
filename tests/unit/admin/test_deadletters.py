"""How dead letters are read, shown and copied for replay: pure, no broker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aio_pika
import pytest

from services.admin.deadletters import (
    REPLAYED_FROM,
    Target,
    body_summary,
    dead_queue_name,
    death_of,
    render_message,
    render_replay,
    replay_copy,
    replay_target,
)

pytestmark = pytest.mark.unit

DIED = datetime(2026, 11, 29, 4, 16, 15, tzinfo=UTC)
HEADERS: dict[str, Any] = {
    "type": "report.submitted",
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "x-death": [
        {
            "count": 2,
            "reason": b"delivery_limit",
            "queue": "p.routing.reports",
            "time": DIED,
            "exchange": "p.incidents",
            "routing-keys": [b"report.submitted"],
        },
        {"count": 1, "reason": "rejected", "queue": "p.older", "exchange": "", "routing-keys": []},
    ],
    "x-first-death-queue": "p.older",
    "x-first-death-reason": "rejected",
    "x-last-death-queue": "p.routing.reports",
    "x-delivery-count": 3,
}


def test_the_latest_death_is_read_out_of_the_x_death_header() -> None:
    death = death_of(HEADERS)
    assert death is not None
    assert death.reason == "delivery_limit" and death.queue == "p.routing.reports"
    assert death.count == 2 and death.time == DIED.isoformat()
    assert death.exchange == "p.incidents" and death.routing_keys == ["report.submitted"]
    assert death_of({"type": "x"}) is None
    assert death_of(None) is None
    assert death_of({"x-death": "garbage"}) is None


def test_a_replayed_copy_keeps_the_message_and_drops_what_the_broker_added() -> None:
    original = aio_pika.Message(
        b'{"type":"report.submitted"}',
        headers=HEADERS,
        content_type="application/json",
        message_id="event-1",
        type="report.submitted",
        correlation_id="c-1",
    )
    copy = replay_copy(original, "p.routing.reports.dead")
    assert copy.body == original.body
    assert (copy.message_id, copy.type, copy.correlation_id) == (
        "event-1",
        "report.submitted",
        "c-1",
    )
    assert copy.content_type == "application/json"
    assert copy.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert copy.headers == {
        "type": "report.submitted",
        "traceparent": HEADERS["traceparent"],
        REPLAYED_FROM: "p.routing.reports.dead",
    }


def test_a_message_goes_back_to_its_queue_or_to_its_first_exchange_and_key() -> None:
    death = death_of(HEADERS)
    assert replay_target(death, to_exchange=False) == Target("", "p.routing.reports")
    assert replay_target(death, to_exchange=True) == Target("p.incidents", "report.submitted")
    assert str(Target("", "q")) == "queue q"
    assert str(Target("x", "k")) == "exchange x with routing key k"
    assert replay_target(None, to_exchange=False) is None
    unrouted = death_of({"x-death": [{"queue": "q", "exchange": "", "routing-keys": []}]})
    assert replay_target(unrouted, to_exchange=True) is None


def test_a_dead_queue_is_named_as_the_operator_types_it() -> None:
    assert dead_queue_name("routing.reports", "") == "routing.reports.dead"
    assert dead_queue_name("routing.reports.dead", "p.") == "p.routing.reports.dead"
    assert dead_queue_name("p.routing.reports", "p.") == "p.routing.reports.dead"


def test_a_body_is_summarised_as_text_even_when_it_is_not_utf8() -> None:
    assert body_summary(b"short") == "short"
    cut = body_summary(b"x" * 500, limit=20)
    assert len(cut) == 20 and cut.endswith("…")
    assert body_summary(b"\xff{not json") == "\\xff{not json"


def test_shown_and_replayed_messages_read_as_lines() -> None:
    death = death_of(HEADERS)
    assert death is not None
    item = {
        "message_id": "event-1",
        "type": "report.submitted",
        "routing_key": "p.routing.reports",
        "death": death.__dict__,
        "body": "{}",
    }
    text = render_message(item)
    assert "dead-lettered: delivery_limit from queue p.routing.reports (2 time(s)" in text
    assert "first published to p.incidents with report.submitted" in text
    assert "no x-death header" in render_message({**item, "death": None})
    report = {
        "queue": "p.routing.reports.dead",
        "messages": [
            {"message_id": "e1", "type": "t", "target": "queue q", "outcome": "would replay"},
            {"message_id": None, "type": "t", "outcome": "skipped", "error": "no x-death"},
        ],
        "not_found": ["e9"],
    }
    lines = render_replay(report, dry_run=True).splitlines()
    assert lines == [
        "would replay: e1 (t) to queue q",
        "skipped: (no id) (t) to ?: no x-death",
        "not found: e9",
        "p.routing.reports.dead: would replay 1 message(s) (dry run)",
    ]
