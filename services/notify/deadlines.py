"""The notifier's deadline store: one document per case, fed by case events, scanned by due time.

Each document holds the case's latest state (by the version the events carry), how many alerts
were sent about its current deadline, and `next_due_at`, the time of the next alert: a sparse
index on it makes a scan cost grow with the number of alerts due, not with open cases. Every
write is conditional on the document's revision `rev`, so the consumer and any number of
scanners never overwrite one another.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.common import metrics
from services.common.clock import EPOCH, Clock, to_millis
from services.common.contracts import (
    CaseAssigned,
    CaseEscalated,
    CaseStatus,
    CaseUpdated,
    Category,
    Priority,
)
from services.common.mongo import MongoDatabase
from services.common.outbox import ensure_outbox_index, outbox_update
from services.notify.escalation import CaseState, EscalationPolicy, Step

log = logging.getLogger(__name__)

NEXT_DUE = "next_due_at"
POISONED = "poisoned"
EVENT_NAMESPACE = uuid.UUID("5b0f3c56-4c8e-4e8f-9a57-0c7f2f3a9e11")
WRITE_ATTEMPTS = 20

CaseEvent = CaseAssigned | CaseUpdated


def case_state(doc: dict[str, Any]) -> CaseState:
    """The escalation-relevant state of a stored deadline document."""
    return CaseState(
        agency=doc["agency"],
        priority=Priority(doc["priority"]),
        status=CaseStatus(doc["status"]),
        due_at=doc.get("due_at"),
        province=doc.get("province"),
    )


def deadline_key(event: CaseEvent) -> str | None:
    """Identifies the deadline an event sets (agency and time); alerts restart on change.

    The time is taken in UTC to the millisecond, as the database stores it, so an event that
    carries a deadline read back from storage names the same deadline as the event that set it.
    """
    if event.due_at is None:
        return None
    return f"{event.agency}@{to_millis(event.due_at.astimezone(UTC)).isoformat()}"


@dataclass
class DeadlineStore:
    """Deadlines by case, with the atomic claims that turn a due one into one escalation event."""

    db: MongoDatabase
    policy: EscalationPolicy
    clock: Clock

    @property
    def collection(self) -> AsyncCollection[dict[str, Any]]:
        """The `deadlines` collection."""
        return self.db.deadlines

    async def ensure_indexes(self) -> None:
        """The due-time index the scanner reads and the outbox index the relay reads."""
        await self.collection.create_index([(NEXT_DUE, ASCENDING)], sparse=True, name="next_due_at")
        await ensure_outbox_index(self.collection)

    async def apply(self, event: CaseEvent) -> bool:
        """Store the case state an event announces unless a newer one is stored; True if stored."""
        for _ in range(WRITE_ATTEMPTS):
            doc = await self.collection.find_one({"_id": event.case_id})
            if doc is not None and doc["version"] >= event.version:
                return False
            fields = self._fields(event, doc)
            if await self._write(event.case_id, doc, fields):
                return True
        raise RuntimeError(
            f"case {event.case_id}: deadline kept changing under {WRITE_ATTEMPTS} writes"
        )

    def _fields(self, event: CaseEvent, doc: dict[str, Any] | None) -> dict[str, Any]:
        key, now = deadline_key(event), self.clock()
        sent = doc["sent"] if doc is not None and doc.get("deadline_key") == key else 0
        fields: dict[str, Any] = {
            "version": event.version,
            "agency": event.agency,
            "category": event.category.value,
            "priority": event.priority.value,
            "status": event.status.value,
            "due_at": event.due_at,
            "deadline_key": key,
            "sent": sent,
            "report_id": event.report_id,
            "tracking_code": event.tracking_code,
            "province": event.province,
            "rev": (doc["rev"] + 1) if doc is not None else 1,
            "updated_at": now,
        }
        step = self.policy.next_step(case_state(fields), sent, now)
        fields[NEXT_DUE] = step.due if step else None
        return fields

    async def _write(
        self, case_id: str, doc: dict[str, Any] | None, fields: dict[str, Any]
    ) -> bool:
        if doc is None:
            try:
                await self.collection.insert_one({"_id": case_id, **_without_empty_due(fields)})
            except DuplicateKeyError:
                return False
            return True
        result = await self.collection.update_one(
            {"_id": case_id, "rev": doc["rev"]}, _set_fields(fields)
        )
        return result.matched_count == 1

    async def due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Documents whose next alert is due, earliest first."""
        return (
            await self.collection.find({NEXT_DUE: {"$lte": now}})
            .sort(NEXT_DUE, ASCENDING)
            .limit(limit)
            .to_list()
        )

    async def next_due_before(self, horizon: datetime) -> datetime | None:
        """When the earliest pending alert falls due, if that is before `horizon`.

        The bounded range keeps the look-up to the few alerts due soon; an open-ended one
        would read every pending deadline on servers that sort before they limit.
        """
        doc = await self.collection.find_one(
            {NEXT_DUE: {"$lte": horizon}}, {NEXT_DUE: 1}, sort=[(NEXT_DUE, ASCENDING)]
        )
        return doc[NEXT_DUE] if doc else None

    async def open_deadlines(self) -> int:
        """How many cases have an alert pending (reads the whole index: call it rarely)."""
        return await self.collection.count_documents({NEXT_DUE: {"$gte": EPOCH}})

    async def claim(self, docs: list[dict[str, Any]], now: datetime) -> int:
        """Atomically advance each due document by one alert and store its event; return claims.

        The filter on `rev` makes the claim exclusive: of several scanners (or a scanner and
        the consumer) reading the same revision, exactly one write matches.
        """
        operations = [self._claim_or_quarantine(doc, now) for doc in docs]
        result = await self.collection.bulk_write(operations, ordered=False)
        return result.modified_count

    def _claim_or_quarantine(self, doc: dict[str, Any], now: datetime) -> UpdateOne:
        """The claim of a due document, or, for one that cannot be read, its quarantine: the
        error is kept on it and it leaves the due index, so the scanner goes on with the rest."""
        try:
            return self._claim_operation(doc, now)
        except (KeyError, TypeError, ValueError, AttributeError, AssertionError) as exc:
            log.error(
                "deadline cannot be processed; quarantined",
                extra={"case_id": str(doc.get("_id")), "error": repr(exc)},
            )
            metrics.QUARANTINED.labels(collection="deadlines").inc()
            return UpdateOne(
                {"_id": doc["_id"], NEXT_DUE: doc.get(NEXT_DUE)},
                {"$set": {POISONED: {"error": repr(exc), "at": now}}, "$unset": {NEXT_DUE: ""}},
            )

    def _claim_operation(self, doc: dict[str, Any], now: datetime) -> UpdateOne:
        state = case_state(doc)
        step = self.policy.next_step(state, doc["sent"], now)
        if step is None or step.due > now:  # the policy changed since the write: reschedule
            return UpdateOne(
                {"_id": doc["_id"], "rev": doc["rev"]},
                _set_fields({NEXT_DUE: step.due if step else None, "rev": doc["rev"] + 1}),
            )
        event = self._escalation(doc, state, step, now)
        following = self.policy.next_step(state, step.index + 1, now)
        update = _set_fields(
            {
                "sent": step.index + 1,
                "rev": doc["rev"] + 1,
                NEXT_DUE: following.due if following else None,
                "last_escalated_at": now,
            }
        )
        update.update(outbox_update([event], now))
        return UpdateOne({"_id": doc["_id"], "rev": doc["rev"]}, update)

    def _escalation(
        self, doc: dict[str, Any], state: CaseState, step: Step, now: datetime
    ) -> CaseEscalated:
        assert state.due_at is not None
        event_id = uuid.uuid5(EVENT_NAMESPACE, f"{doc['_id']}|{doc['deadline_key']}|{step.index}")
        return CaseEscalated(
            event_id=event_id.hex,
            occurred_at=now,
            case_id=doc["_id"],
            report_id=doc["report_id"],
            tracking_code=doc["tracking_code"],
            agency=state.agency,
            category=Category(doc["category"]),
            priority=state.priority,
            status=state.status,
            level=step.level,
            repeat=step.repeat,
            due_at=state.due_at,
            scheduled_at=step.due,
            escalated_at=now,
            overdue_by_seconds=max((now - state.due_at).total_seconds(), 0.0),
            targets=[t.id for t in self.policy.targets_for(state, step.level)],
        )


def _without_empty_due(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if not (k == NEXT_DUE and v is None)}


def _set_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """`$set` the fields; a `next_due_at` of None is unset so the sparse index drops the case."""
    update: dict[str, Any] = {"$set": _without_empty_due(fields)}
    if NEXT_DUE in fields and fields[NEXT_DUE] is None:
        update["$unset"] = {NEXT_DUE: ""}
    return update
