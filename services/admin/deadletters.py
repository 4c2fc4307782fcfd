"""Dead letters as the operator sees them: where a message died (its `x-death` header), a
summary of it, and the copy that replays it. Pure functions; `dlq` does the broker's part."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractMessage

DEAD_SUFFIX = ".dead"
# Headers the broker adds when it dead-letters or redelivers; a replayed copy starts afresh.
BROKER_HEADERS = ("x-death", "x-first-death-", "x-last-death-", "x-delivery-count")
REPLAYED_FROM = "x-replayed-from"
BODY_SUMMARY_CHARS = 160


@dataclass(frozen=True)
class Death:
    """The latest dead-lettering of a message, from its `x-death` header."""

    reason: str
    queue: str
    count: int
    time: str | None
    exchange: str
    routing_keys: list[str]


def death_of(headers: Mapping[str, Any] | None) -> Death | None:
    """The most recent `x-death` entry (the broker keeps the latest first), or None."""
    deaths = (headers or {}).get("x-death")
    if not isinstance(deaths, list) or not deaths or not isinstance(deaths[0], Mapping):
        return None
    entry = deaths[0]
    time = entry.get("time")
    return Death(
        reason=_text(entry.get("reason")),
        queue=_text(entry.get("queue")),
        count=int(entry.get("count") or 0),
        time=time.isoformat() if isinstance(time, datetime) else None,
        exchange=_text(entry.get("exchange")),
        routing_keys=[_text(key) for key in entry.get("routing-keys") or []],
    )


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value or "")


def body_summary(body: bytes, limit: int = BODY_SUMMARY_CHARS) -> str:
    """The body as text, cut to `limit` characters (bytes that are not UTF-8 escaped)."""
    text = body.decode("utf-8", errors="backslashreplace")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(message: AbstractIncomingMessage) -> dict[str, Any]:
    """What `dlq show` says about one message."""
    death = death_of(message.headers)
    return {
        "message_id": message.message_id,
        "type": message.type,
        "routing_key": message.routing_key,
        "death": asdict(death) if death else None,
        "body": body_summary(message.body),
    }


def render_message(item: Mapping[str, Any]) -> str:
    """One message as a few lines of text."""
    lines = [
        f"message {item['message_id'] or '(no id)'}  type {item['type'] or '(none)'}",
        f"  routing key {item['routing_key']}",
    ]
    death = item["death"]
    if death:
        keys = ", ".join(death["routing_keys"]) or "(none)"
        lines.append(
            f"  dead-lettered: {death['reason']} from queue {death['queue']} "
            f"({death['count']} time(s), last {death['time'] or 'unknown'})"
        )
        lines.append(f"  first published to {death['exchange'] or '(default)'} with {keys}")
    else:
        lines.append("  no x-death header: not dead-lettered by the broker")
    lines.append(f"  body {item['body']}")
    return "\n".join(lines)


def dead_queue_name(name: str, prefix: str) -> str:
    """The full name of a dead queue given as the operator types it: the prefix is implied,
    and `.dead` is added to a consumer queue's name."""
    if prefix and not name.startswith(prefix):
        name = prefix + name
    return name if name.endswith(DEAD_SUFFIX) else name + DEAD_SUFFIX


def replay_copy(message: AbstractMessage, dead_queue: str) -> aio_pika.Message:
    """A persistent copy of a dead letter: same body, id, type and properties, its headers
    without the broker's dead-lettering ones, and where it was replayed from."""
    headers = {
        key: value
        for key, value in (message.headers or {}).items()
        if not key.startswith(BROKER_HEADERS)
    }
    headers[REPLAYED_FROM] = dead_queue
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        priority=message.priority,
        correlation_id=message.correlation_id,
        message_id=message.message_id,
        timestamp=message.timestamp,
        type=message.type,
        app_id=message.app_id,
    )


@dataclass(frozen=True)
class Target:
    """Where a replayed message goes: an exchange ('' is the default one) and a routing key."""

    exchange: str
    routing_key: str

    def __str__(self) -> str:
        if not self.exchange:
            return f"queue {self.routing_key}"
        return f"exchange {self.exchange} with routing key {self.routing_key}"


def replay_target(death: Death | None, *, to_exchange: bool) -> Target | None:
    """The queue the message died in, or its original exchange and key; None if unknown."""
    if death is None:
        return None
    if to_exchange:
        if not death.exchange or not death.routing_keys:
            return None
        return Target(death.exchange, death.routing_keys[0])
    return Target("", death.queue) if death.queue else None


def render_replay(report: Mapping[str, Any], *, dry_run: bool) -> str:
    """What `dlq replay` did (or would do) to each message, and how many it replayed."""
    lines = []
    for row in report["messages"]:
        where = row.get("target") or "?"
        line = f"{row['outcome']}: {row['message_id'] or '(no id)'} ({row['type']}) to {where}"
        lines.append(line + (f": {row['error']}" if "error" in row else ""))
    for message_id in report["not_found"]:
        lines.append(f"not found: {message_id}")
    done = sum(row["outcome"] in ("replayed", "would replay") for row in report["messages"])
    verb = "would replay" if dry_run else "replayed"
    lines.append(f"{report['queue']}: {verb} {done} message(s)" + (" (dry run)" if dry_run else ""))
    return "\n".join(lines)
