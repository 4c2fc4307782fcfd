"""The notifier's deadline store: one document per case, fed by case events, scanned by due time.

Each document holds the case's latest state (by the version the events carry), how many alerts
were sent about its current deadline (the earlier of its two clocks), how many pre-breach
warnings and which platform requests were alerted, and `next_due_at`, the time of the next
alert of any kind: a sparse index on it makes a scan cost grow with the number of alerts due,
not with open cases. Every write is conditional on the document's revision `rev`, so the
consumer and any number of scanners never overwrite one another. What to write is decided in
`services.notify.planning`; this module loads, calls it, and writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, InsertOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.common import metrics, tracing
from services.common.clock import EPOCH, Clock
from services.common.contracts import CLOSED_STATUSES
from services.common.mongo import MongoDatabase
from services.common.outbox import ensure_outbox_index, outbox_update, with_outbox
from services.common.workcalendar import CalendarBook
from services.notify.escalation import EscalationPolicy
from services.notify.planning import (
    CaseEvent,
    Deadline,
    Revision,
    deadline_key,
    packaged_calendars,
    plan_case_event,
    plan_claim,
)

log = logging.getLogger(__name__)

NEXT_DUE = "next_due_at"
POISONED = "poisoned"
WRITE_ATTEMPTS = 20
# What reading a malformed document raises (pydantic's ValidationError is a ValueError).
UNREADABLE = (KeyError, TypeError, ValueError, AttributeError)

WriteOp = InsertOne[dict[str, Any]] | UpdateOne

__all__ = ["NEXT_DUE", "POISONED", "DeadlineStore", "deadline_key"]


@dataclass(frozen=True)
class _Quarantine:
    doc: dict[str, Any]
    error: str


@dataclass
class DeadlineStore:
    """Deadlines by case, with the atomic claims that turn a due one into one escalation event."""

    db: MongoDatabase
    policy: EscalationPolicy
    clock: Clock
    calendars: CalendarBook = field(default_factory=packaged_calendars)
    # Told when a deadline this store wrote (a case event stored, a claim) falls due next: the
    # scanner, so it looks then.
    on_due: Callable[[datetime], None] = field(default=lambda _due: None)

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
            stored = Revision.model_validate(doc) if doc is not None else None
            fields = self._fields(stored, event)
            if fields is None:
                return False
            if await self._write(event.case_id, stored, fields):
                self._announce(fields)
                return True
        raise RuntimeError(
            f"case {event.case_id}: deadline kept changing under {WRITE_ATTEMPTS} writes"
        )

    async def apply_many(self, events: Sequence[CaseEvent]) -> list[bool]:
        """`apply` for a batch: one read and one write for the first event of each case; the
        others (a later event of a case, a write that lost a race) go one by one after it.
        An event that created its case is not read for: its deadline is inserted, and one
        stored already (the event delivered again) refuses it, so it goes one by one too."""
        firsts: dict[str, int] = {}
        for index, event in enumerate(events):
            firsts.setdefault(event.case_id, index)
        stored = await self._stored(
            {events[i].case_id for i in firsts.values() if not events[i].opens_case()}
        )
        planned: dict[int, WriteOp] = {}
        planned_fields: dict[int, dict[str, Any]] = {}
        for index in firsts.values():
            event = events[index]
            with tracing.message_context(event):
                fields = self._fields(stored.get(event.case_id), event)
            if fields is not None:
                planned[index] = _write_op(event.case_id, stored.get(event.case_id), fields)
                planned_fields[index] = fields
        written = await self._write_many(planned, events)
        for index, landed in written.items():
            if landed:
                self._announce(planned_fields[index])
        outcomes: list[bool] = []
        for index, event in enumerate(events):
            settled = firsts[event.case_id] == index and written.get(index, False) is not None
            if settled:
                outcomes.append(bool(written.get(index)))
                continue
            with tracing.message_context(event):
                outcomes.append(await self.apply(event))
        return outcomes

    async def _stored(self, case_ids: set[str]) -> dict[str, Revision]:
        if not case_ids:
            return {}
        docs = await self.collection.find({"_id": {"$in": sorted(case_ids)}}).to_list()
        return {doc["_id"]: Revision.model_validate(doc) for doc in docs}

    def _fields(self, stored: Revision | None, event: CaseEvent) -> dict[str, Any] | None:
        """What to store for `event` over `stored` (None if it is not newer), with the case's
        trace, for its escalations."""
        fields = plan_case_event(stored, event, self.policy, self.clock(), calendars=self.calendars)
        if fields is not None:
            fields.update(tracing.trace_fields())
        return fields

    def _announce(self, fields: dict[str, Any]) -> None:
        """Tell `on_due` when the deadline just written falls due next, if it does."""
        if (due := fields.get(NEXT_DUE)) is not None:
            self.on_due(due)

    async def _write_many(
        self, planned: dict[int, WriteOp], events: Sequence[CaseEvent]
    ) -> dict[int, bool | None]:
        """Write the planned operations in one command; per event index, True (stored) or None
        (lost a race or refused: to be applied alone)."""
        if not planned:
            return {}
        indexes, ops = list(planned), list(planned.values())
        refused: set[int] = set()
        try:
            result = await self.collection.bulk_write(ops, ordered=False)
            updated = result.matched_count
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if not errors or exc.details.get("writeConcernErrors"):
                raise
            refused = {indexes[e["index"]] for e in errors}
            updated = int(exc.details.get("nMatched", 0))
        updates = [i for i, op in planned.items() if isinstance(op, UpdateOne) and i not in refused]
        if updated < len(updates):  # some lost a race; a bulk result cannot say which
            refused |= await self._not_landed({i: events[i] for i in updates})
        return {i: None if i in refused else True for i in indexes}

    async def _not_landed(self, written: dict[int, CaseEvent]) -> set[int]:
        """Of these events' conditional updates, the ones whose version is not stored (a scanner's
        claim or a newer event got there first)."""
        ids = sorted({event.case_id for event in written.values()})
        docs = await self.collection.find({"_id": {"$in": ids}}, {"version": 1}).to_list()
        versions = {doc["_id"]: doc.get("version") for doc in docs}
        return {i for i, event in written.items() if versions.get(event.case_id) != event.version}

    async def _write(self, case_id: str, stored: Revision | None, fields: dict[str, Any]) -> bool:
        if stored is None:
            try:
                await self.collection.insert_one(_new_deadline(case_id, fields))
            except DuplicateKeyError:
                return False
            return True
        result = await self.collection.update_one(
            {"_id": case_id, "rev": stored.rev}, _restated(fields)
        )
        return result.matched_count == 1

    async def due(self, until: datetime, limit: int) -> list[dict[str, Any]]:
        """Documents whose next alert is due by `until` (now, or less far while many are
        overdue), earliest first."""
        return (
            await self.collection.find({NEXT_DUE: {"$lte": until}})
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

    async def is_closed(self, case_id: str) -> bool:
        """True when the latest stored state of the case is resolved or rejected."""
        doc = await self.collection.find_one({"_id": case_id}, {"status": 1})
        return doc is not None and doc.get("status") in CLOSED_STATUSES

    async def open_deadlines(self) -> int:
        """How many cases have an alert pending (reads the whole index: call it rarely)."""
        return await self.collection.count_documents({NEXT_DUE: {"$gte": EPOCH}})

    async def claim(self, docs: list[dict[str, Any]], now: datetime) -> int:
        """Atomically advance each due document by one alert and store its event; return claims.

        The filter on `rev` makes the claim exclusive: of several scanners (or a scanner and
        the consumer) reading the same revision, exactly one write matches. A document that
        cannot be read, or whose write the server refuses, is quarantined; the rest go on.
        """
        claims: list[tuple[dict[str, Any], UpdateOne]] = []
        next_due: list[datetime] = []
        quarantined: list[_Quarantine] = []
        for doc in docs:
            try:
                operation, due = self._claim_operation(doc, now)
            except UNREADABLE as exc:
                quarantined.append(_Quarantine(doc, repr(exc)))
                continue
            claims.append((doc, operation))
            if due is not None:
                next_due.append(due)
        claimed, refused = await self._write_claims(claims)
        await self._quarantine(quarantined + refused, now)
        if next_due:  # a claim lost to another writer only makes the scanner look early
            self.on_due(min(next_due))
        return claimed

    def _claim_operation(
        self, doc: dict[str, Any], now: datetime
    ) -> tuple[UpdateOne, datetime | None]:
        """The claim of a due document, and when its next alert falls due (None: none)."""
        deadline = Deadline.model_validate(doc)
        claim = plan_claim(deadline, self.policy, now)
        fields: dict[str, Any] = {"rev": deadline.rev + 1, NEXT_DUE: claim.next_due_at}
        fields.update(warned=claim.warned, platform_alerted=list(claim.platform_alerted))
        if claim.escalation is not None:
            fields.update(sent=claim.sent, last_escalated_at=now)
        update = _set_fields(fields)
        if claim.events:
            with tracing.resumed(tracing.stored_trace(doc.get(tracing.TRACE)), "deadline due"):
                update = with_outbox(update, outbox_update(claim.events, now))
        operation = UpdateOne({"_id": deadline.case_id, "rev": deadline.rev}, update)
        return operation, claim.next_due_at

    async def _write_claims(
        self, claims: list[tuple[dict[str, Any], UpdateOne]]
    ) -> tuple[int, list[_Quarantine]]:
        """Write the claims in one command; return how many applied, and those refused."""
        if not claims:
            return 0, []
        try:
            result = await self.collection.bulk_write([op for _, op in claims], ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if not errors or exc.details.get("writeConcernErrors"):
                raise
            refused = [_Quarantine(claims[e["index"]][0], str(e.get("errmsg"))) for e in errors]
            return int(exc.details.get("nModified", 0)), refused
        return result.modified_count, []

    async def _quarantine(self, items: list[_Quarantine], now: datetime) -> None:
        """Keep each error on its document and take the document out of the due index, so the
        scanner never reads it again; logged and counted once, after the write."""
        if not items:
            return
        await self.collection.bulk_write(
            [_quarantine_operation(item, now) for item in items], ordered=False
        )
        for item in items:
            log.error(
                "deadline cannot be processed; quarantined",
                extra={"case_id": str(item.doc.get("_id")), "error": item.error},
            )
        metrics.QUARANTINED.labels(collection="deadlines").inc(len(items))


def _quarantine_operation(item: _Quarantine, now: datetime) -> UpdateOne:
    """Unless the document changed since it was read, keep the error and leave the index."""
    return UpdateOne(
        {"_id": item.doc["_id"], NEXT_DUE: item.doc.get(NEXT_DUE)},
        {"$set": {POISONED: {"error": item.error, "at": now}}, "$unset": {NEXT_DUE: ""}},
    )


def _write_op(case_id: str, stored: Revision | None, fields: dict[str, Any]) -> WriteOp:
    """The conditional write storing `fields` over `stored` (an insert when nothing is)."""
    if stored is None:
        return InsertOne(_new_deadline(case_id, fields))
    return UpdateOne({"_id": case_id, "rev": stored.rev}, _restated(fields))


def _new_deadline(case_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The first document of a case's deadline."""
    return {"_id": case_id, **_without_empty_due(fields)}


def _restated(fields: dict[str, Any]) -> dict[str, Any]:
    """The update storing a newer state: the event states the case afresh, so an earlier
    quarantine mark goes."""
    update = _set_fields(fields)
    update.setdefault("$unset", {})[POISONED] = ""
    return update


def _without_empty_due(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if not (k == NEXT_DUE and v is None)}


def _set_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """`$set` the fields; a `next_due_at` of None is unset so the sparse index drops the case."""
    update: dict[str, Any] = {"$set": _without_empty_due(fields)}
    if NEXT_DUE in fields and fields[NEXT_DUE] is None:
        update["$unset"] = {NEXT_DUE: ""}
    return update
