"""The alert log: one document per alert, with the outcome of each delivery to each target.

Alerts are recorded from `case.escalated`, `case.warning` (pre-breach) and
`case.platform_overdue` events (kinds `escalation`, `warning`, `platform_overdue`;
idempotently: the event id is the document id), and, when a case that was sent to PagerDuty
closes, a resolution (kind `resolution`, its id the closing event's) whose deliveries resolve
the PagerDuty alerts. Each pending delivery carries its next attempt time; the document's
`next_attempt_at` is the earliest of them (sparse-indexed, absent when nothing is pending), and
a worker leases documents by pushing that time forward (and setting `leased_until` and its
token, services.notify.leases) before it attempts anything, so replicas never send the same
delivery at the same time. A supervisor's
re-send queues one delivery again, only while no worker holds the lease, and keeps who asked
and when in the delivery's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, TypeAdapter
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from services.common import params, tracing
from services.common.contracts import CaseEscalated, CaseUpdated, CaseWarning
from services.common.mongo import MongoDatabase
from services.notify.clocks import (
    PLATFORM_OVERDUE,
    WARNING,
    AlertEvent,
    alert_clock,
    alert_kind,
)
from services.notify.fanout import deliveries_for, resolutions_for
from services.notify.pagerduty import TRIGGER
from services.notify.retry import (
    DELIVERED,
    FAILED,
    LEASED_UNTIL,
    NEXT_ATTEMPT,
    PENDING,
    SKIPPED,
    resend_refusal,
    resent,
)

__all__ = [
    "DELIVERED",
    "ESCALATION",
    "FAILED",
    "NEXT_ATTEMPT",
    "PENDING",
    "PLATFORM_OVERDUE",
    "RESOLUTION",
    "SKIPPED",
    "WARNING",
    "AlertEvent",
    "AlertLog",
    "ResendOutcome",
    "alert_clock",
    "alert_document",
    "alert_kind",
    "decode_cursor",
    "deliveries_for",
    "encode_cursor",
    "parse_alert_event",
    "resolutions_for",
]

ESCALATION, RESOLUTION = "escalation", "resolution"
DUPLICATE_KEY = 11000

_ALERT_EVENTS: TypeAdapter[AlertEvent] = TypeAdapter(
    Annotated[AlertEvent, Field(discriminator="type")]
)


def parse_alert_event(raw: str) -> AlertEvent:
    """The alert event a stored alert keeps (as JSON)."""
    return _ALERT_EVENTS.validate_json(raw)


@dataclass(frozen=True)
class ResendOutcome:
    """What a re-send request came to: 202 with the queued delivery, or 404/409 and why."""

    status: int
    message: str
    delivery: dict[str, Any] | None = None


def _kind_fields(event: AlertEvent) -> dict[str, Any]:
    """What the alert log shows of each kind of alert."""
    if isinstance(event, CaseEscalated):
        return {
            "level": event.level,
            "repeat": event.repeat,
            "due_at": event.due_at,
            "scheduled_at": event.scheduled_at,
            "escalated_at": event.escalated_at,
        }
    if isinstance(event, CaseWarning):
        return {"share": event.share, "due_at": event.due_at, "alerted_at": event.alerted_at}
    return {
        "request_id": event.request_id,
        "platform": event.platform,
        "sent_at": event.sent_at,
        "due_at": event.legal_due_at,
        "alerted_at": event.alerted_at,
    }


def alert_document(
    event: AlertEvent, deliveries: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    """The stored alert, due for delivery when one of its deliveries is pending."""
    doc: dict[str, Any] = {
        "_id": event.event_id,
        "kind": alert_kind(event),
        "clock": alert_clock(event).value,
        "case_id": event.case_id,
        "tracking_code": event.tracking_code,
        "agency": event.agency,
        "category": event.category.value,
        "priority": event.priority.value,
        **_kind_fields(event),
        "recorded_at": now,
        "targets": event.targets,
        "event": event.model_dump_json(),
        "deliveries": deliveries,
        **tracing.trace_fields(),  # so that its deliveries can continue the case's trace
    }
    return _scheduled(doc)


def _scheduled(doc: dict[str, Any]) -> dict[str, Any]:
    """The alert with `next_attempt_at` set to its earliest pending delivery, if any."""
    pending = [d[NEXT_ATTEMPT] for d in doc["deliveries"] if d["status"] == PENDING]
    if pending:
        doc[NEXT_ATTEMPT] = min(pending)
    return doc


def _insert_outcome(error: dict[str, Any] | None) -> bool | Exception:
    if error is None:
        return True
    if error.get("code") == DUPLICATE_KEY:
        return False
    return WriteError(error.get("errmsg", "refused"), error.get("code"), error)


@dataclass
class AlertLog:
    """Stored alerts and their deliveries."""

    db: MongoDatabase

    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        """The `alerts` collection."""
        return self.db.alerts

    async def ensure_indexes(self) -> None:
        """Indexes for the delivery worker and for the alert log API."""
        await self.collection.create_index([(NEXT_ATTEMPT, ASCENDING)], sparse=True)
        await self.collection.create_index([("recorded_at", DESCENDING), ("_id", DESCENDING)])
        await self.collection.create_index([("case_id", ASCENDING)])

    async def record(
        self, event: AlertEvent, deliveries: list[dict[str, Any]], now: datetime
    ) -> bool:
        """Store the alert once; False when this event was already recorded."""
        return await self._insert(alert_document(event, deliveries, now))

    async def record_many(self, docs: list[dict[str, Any]]) -> list[bool | Exception]:
        """Store alerts (`alert_document`s) in one command; per document True when stored,
        False when that event was recorded before, or the error the server refused it with."""
        if not docs:
            return []
        try:
            await self.collection.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            refused = {error["index"]: error for error in exc.details.get("writeErrors", [])}
            if not refused:  # e.g. a write concern error: the batch is retried
                raise
            return [_insert_outcome(refused.get(index)) for index in range(len(docs))]
        return [True] * len(docs)

    async def record_resolution(self, event: CaseUpdated, now: datetime) -> bool:
        """Store a resolution of the PagerDuty alerts the closed case triggered, once per
        closing event; False when there is none to resolve or it was already recorded."""
        triggered = await self.collection.find(
            {"case_id": event.case_id, "deliveries.action": TRIGGER}, {"deliveries": 1}
        ).to_list()
        deliveries = resolutions_for(triggered, now)
        if not deliveries:
            return False
        doc: dict[str, Any] = {
            "_id": event.event_id,
            "kind": RESOLUTION,
            "case_id": event.case_id,
            "tracking_code": event.tracking_code,
            "agency": event.agency,
            "category": event.category.value,
            "priority": event.priority.value,
            "status": event.status.value,
            "closed_at": event.occurred_at,
            "recorded_at": now,
            "targets": sorted({d["target"] for d in deliveries}),
            "deliveries": deliveries,
            **tracing.trace_fields(),
        }
        return await self._insert(_scheduled(doc))

    async def _insert(self, doc: dict[str, Any]) -> bool:
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def resend(
        self, alert_id: str, n: int, request: dict[str, Any], now: datetime
    ) -> ResendOutcome:
        """Queue delivery `n` (from 1) of the alert again, unless it cannot be re-sent now."""
        alert = await self.collection.find_one({"_id": alert_id}, {"event": 0})
        if alert is None:
            return ResendOutcome(404, f"no alert {alert_id!r}")
        count = len(alert["deliveries"])
        if not 1 <= n <= count:
            return ResendOutcome(404, f"alert {alert_id!r} has no delivery {n} (it has {count})")
        if (refusal := resend_refusal(alert, n, now)) is not None:
            return ResendOutcome(409, refusal)
        stored = alert["deliveries"][n - 1]
        queued = resent(stored, request, now)
        at = f"deliveries.{n - 1}"
        result = await self.collection.update_one(
            {
                "_id": alert_id,
                f"{at}.status": stored["status"],
                f"{at}.attempts": stored["attempts"],
                "$or": [{LEASED_UNTIL: None}, {LEASED_UNTIL: {"$lte": now}}],
            },
            {"$set": {at: queued}, "$min": {NEXT_ATTEMPT: now}},
        )
        if result.matched_count == 0:
            return ResendOutcome(409, f"delivery {n} changed meanwhile; look again and retry")
        return ResendOutcome(202, f"delivery {n} of alert {alert_id} queued again", queued)

    async def page(
        self, filters: dict[str, Any], limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Alerts newest first, `limit` at a time; returns the page and the next cursor."""
        query = dict(filters)
        if cursor is not None:
            recorded_at, alert_id = decode_cursor(cursor)
            query["$or"] = [
                {"recorded_at": {"$lt": recorded_at}},
                {"recorded_at": recorded_at, "_id": {"$lt": alert_id}},
            ]
        docs = (
            await self.collection.find(query, {"event": 0})
            .sort([("recorded_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit + 1)
            .to_list()
        )
        more = len(docs) > limit
        docs = docs[:limit]
        return docs, encode_cursor(docs[-1]) if more else None


def encode_cursor(doc: dict[str, Any]) -> str:
    """An opaque cursor pointing after `doc`."""
    return params.encode_cursor((doc["recorded_at"], doc["_id"]))


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor points after; ParamError when it is not one of ours."""
    recorded_at, alert_id = params.decode_cursor(cursor, shape=(datetime, str))
    return recorded_at, alert_id
