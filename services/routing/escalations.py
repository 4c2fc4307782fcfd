"""Escalations recorded as records of their own, one per `case.escalated` event, beside the cases.

An escalation changes nothing on its case; it is a line of the case's history. Storing it as
an immutable record (its id the event's id, so a redelivered event stores nothing new) costs
one insert into a collection with two indexes, where a `$push` onto the case rewrote every
index entry of a document with eleven. Readers see no difference: a case read for showing
gets its escalations merged into its audit log in time order (`with_escalations`), and the
console's alert log reads the newest records by time rather than every escalated case.

Cases stored before this kept their escalations in their own audit log with the event ids in
`escalations`; a start copies them here and drops `escalations` (until a start finds none:
`services.common.migrations`), and the merge skips an entry the case's own audit log holds
already (same event id).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError
from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.errors import BulkWriteError

from services.common.contracts import CaseEscalated
from services.common.groupcommit import DUPLICATE_KEY, per_document_errors
from services.common.mongo import Document, MongoDatabase
from services.routing.case import AuditRecord, Case

log = logging.getLogger(__name__)

COLLECTION = "escalations"
LEGACY_FIELD = "escalations"  # the event ids a case kept of its escalations before
LOOKUP = 100  # cases per look-up of their escalations
# How far back the alert log looks, widening until it has its page; None: all of it.
RECENT_WINDOWS = (
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=30),
    timedelta(days=365),
    None,
)


@dataclass(frozen=True)
class EscalationEntry:
    """An escalation recorded on a case, for the supervisors' alert log."""

    case_id: str
    tracking_code: str
    agency: str
    at: datetime
    level: int
    note: str | None


def escalation_audit(event: CaseEscalated) -> AuditRecord:
    """The audit line an escalation adds to its case's history."""
    return AuditRecord(
        at=event.escalated_at,
        actor="notify",
        action="escalated",
        from_status=event.status.value,
        to_status=event.status.value,
        note=f"level {event.level}: {', '.join(event.targets)}",
        level=event.level,
        event_id=event.event_id,
    )


def _record(case_id: str, tracking_code: str, agency: str, entry: AuditRecord) -> Document:
    """The stored record: its case, the agency escalated about, and the audit line."""
    return {
        "_id": entry.event_id,
        "case_id": case_id,
        "tracking_code": tracking_code,
        "agency": agency,
        "at": entry.at,
        "audit": entry.model_dump(by_alias=True, exclude_none=True),
    }


def merged(case: Case, records: Sequence[AuditRecord]) -> Case:
    """`case` with the escalations it does not hold already in its audit log, in time order."""
    held = {entry.event_id for entry in case.audit if entry.event_id}
    more = [entry for entry in records if entry.event_id not in held]
    if not more:
        return case
    audit = sorted([*case.audit, *more], key=lambda entry: entry.at)  # stable: ties keep order
    return case.model_copy(update={"audit": audit})


class EscalationLog:
    """The `escalations` collection of routing's database."""

    def __init__(self, db: MongoDatabase) -> None:
        self.records = db[COLLECTION]
        self.cases = db.cases

    async def ensure_indexes(self) -> None:
        """A case's escalations by case, the alert log by time."""
        await self.records.create_index([("case_id", ASCENDING), ("at", ASCENDING)])
        await self.records.create_index([("at", DESCENDING)])

    async def record(self, events: Sequence[CaseEscalated]) -> list[BaseException | None]:
        """Store each escalation once (one command); per event, None or the error refusing it.
        An event stored already (redelivered) is not an error."""
        docs = [_record(e.case_id, e.tracking_code, e.agency, escalation_audit(e)) for e in events]
        if not docs:
            return []
        try:
            await self.records.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = per_document_errors(exc, len(docs))
            return [_unless_stored(errors.get(index)) for index in range(len(docs))]
        return [None] * len(docs)

    async def of_cases(self, case_ids: Iterable[str]) -> dict[str, list[AuditRecord]]:
        """The escalations recorded for each of these cases, oldest first; one look-up per
        `LOOKUP` cases (SecantusDB matches each record against the whole `$in` list)."""
        ids = sorted(set(case_ids))
        found: dict[str, list[AuditRecord]] = {}
        for start in range(0, len(ids), LOOKUP):
            chunk = ids[start : start + LOOKUP]
            criteria = {"case_id": chunk[0]} if len(chunk) == 1 else {"case_id": {"$in": chunk}}
            async for doc in self.records.find(criteria).sort("at", ASCENDING):
                if (entry := _readable(doc)) is not None:
                    found.setdefault(str(doc["case_id"]), []).append(entry)
        return found

    async def with_escalations(self, cases: Sequence[Case]) -> list[Case]:
        """The cases with their escalations merged into their audit logs (one look-up)."""
        records = await self.of_cases(case.case_id for case in cases)
        return [merged(case, records.get(case.case_id, [])) for case in cases]

    async def recent(self, *, limit: int, now: datetime) -> list[EscalationEntry]:
        """The latest escalations, newest first (the console's alert log): read from the last
        hour, then further back until `limit` are found, so that a page reads about what it
        shows (SecantusDB reads every record a query matches before it sorts and limits)."""
        docs: list[Document] = []
        for back in RECENT_WINDOWS:
            criteria = {} if back is None else {"at": {"$gte": now - back}}
            docs = await self.records.find(criteria).sort("at", DESCENDING).limit(limit).to_list()
            if len(docs) >= limit:
                break
        return [
            EscalationEntry(
                str(doc["case_id"]),
                str(doc.get("tracking_code", "")),
                str(doc.get("agency", "")),
                entry.at,
                entry.escalation_level(),
                entry.note,
            )
            for doc in docs
            if (entry := _readable(doc)) is not None
        ]

    async def copy_from_cases(self) -> int:
        """Copy the escalations of cases stored before records (the audit lines named in their
        `escalations`) into records, then drop the field; return how many cases had some. It
        reads every case (no index serves the query): run it `until_clean`."""
        stored = self.cases.find(
            {f"{LEGACY_FIELD}.0": {"$exists": True}},
            {"tracking_code": 1, "agency": 1, "audit": 1, LEGACY_FIELD: 1},
        )
        docs = await stored.to_list()
        if not docs:
            return 0
        records = [
            _record(str(doc["_id"]), doc.get("tracking_code", ""), doc.get("agency", ""), entry)
            for doc in docs
            for entry in _escalations_in(doc)
        ]
        if records:
            try:
                await self.records.insert_many(records, ordered=False)
            except BulkWriteError as exc:  # copied by an earlier start that stopped half-way
                errors = per_document_errors(exc, len(records)).values()
                if refused := [e for e in errors if _unless_stored(e) is not None]:
                    raise refused[0] from exc
        await self.cases.bulk_write(
            [UpdateOne({"_id": doc["_id"]}, {"$unset": {LEGACY_FIELD: ""}}) for doc in docs],
            ordered=False,
        )
        log.info(
            "escalations of stored cases copied to their own records",
            extra={"cases": len(docs), "records": len(records)},
        )
        return len(docs)


def _escalations_in(doc: Document) -> list[AuditRecord]:
    """The readable escalation lines of a stored case's audit log named in `escalations`."""
    ids = set(doc.get(LEGACY_FIELD) or [])
    entries = []
    for raw in doc.get("audit") or []:
        if (
            isinstance(raw, dict)
            and raw.get("action") == "escalated"
            and raw.get("event_id") in ids
        ):
            try:
                entries.append(AuditRecord.model_validate(raw))
            except ValidationError:
                continue  # the case's own audit log still shows what it can of it
    return entries


def _readable(doc: Document) -> AuditRecord | None:
    """The audit line of a stored record; None (logged) when it is not one."""
    try:
        return AuditRecord.model_validate(doc.get("audit"))
    except ValidationError:
        log.error("stored escalation record is unreadable; left out", extra={"id": doc["_id"]})
        return None


def _unless_stored(error: BaseException | None) -> BaseException | None:
    """None for a duplicate id (the escalation is stored already), else the error."""
    code = getattr(error, "code", None)
    return None if code == DUPLICATE_KEY else error
