"""Reports in MongoDB: each report and its `report.submitted` event are stored in one write."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from services.common import migrations
from services.common.contracts import ReportSubmitted
from services.common.groupcommit import GroupInsert
from services.common.mongo import Document, MongoDatabase
from services.common.outbox import QUARANTINE, ensure_outbox_index, outbox_fields
from services.common.resealing import ContactHolder, Slot
from services.intake.labels import RECEIVED

log = logging.getLogger(__name__)

TRACKING_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no look-alikes (0/O, 1/I/L, U/V)
# Where a report keeps its reporter's contact, sealed (services/common/sealing.py); the clear
# `report.contact` of reports stored before sealing is sealed at start (seal_clear_contacts).
SEALED_CONTACT = "report.contact_sealed"
LEGACY_CONTACT = "report.contact"
REQUEST_HASH = "request_hash"
# Never read out with a report: its contact, sealed or not, its outbox (pending or quarantined:
# `report.submitted` carries the sealed contact), its request's hash.
UNREAD = {SEALED_CONTACT: 0, LEGACY_CONTACT: 0, "outbox": 0, QUARANTINE: 0, REQUEST_HASH: 0}


def new_tracking_code() -> str:
    """A random, unguessable code (about 59 bits) like `K7QX-3MPA-WZ9D`."""
    chars = "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(12))
    return "-".join(chars[i : i + 4] for i in range(0, 12, 4))


def new_report_id() -> str:
    """A random report id."""
    return uuid.uuid4().hex


def request_fingerprint(body: dict[str, Any], key: bytes) -> str:
    """A stable HMAC of a validated request body under intake's reporter-id key, to compare
    idempotent retries: the body holds the contact, so nobody without the key can test a
    guessed contact against the stored value."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def contact_slots(doc: Document) -> list[Slot]:
    """The contact a stored report holds (sealed, or clear from before sealing), if any."""
    report = doc.get("report") or {}
    sealed, clear = report.get("contact_sealed"), report.get("contact")
    if sealed:
        condition = {SEALED_CONTACT: sealed}
        return [Slot(str(doc["_id"]), sealed, SEALED_CONTACT, LEGACY_CONTACT, condition)]
    if clear:
        condition = {LEGACY_CONTACT: {"$exists": True}}
        return [Slot(str(doc["_id"]), clear, SEALED_CONTACT, LEGACY_CONTACT, condition)]
    return []


# A report holding a contact: sealed, or clear (from before sealing, or one that failed to seal).
HOLDING = {"$or": [{SEALED_CONTACT: {"$ne": None}}, {LEGACY_CONTACT: {"$ne": None}}]}
REPORT_CONTACTS = ContactHolder(
    service="intake",
    collection="reports",
    holding=HOLDING,
    holding_clear={LEGACY_CONTACT: {"$ne": None}},
    projection={SEALED_CONTACT: 1, LEGACY_CONTACT: 1},
    slots=contact_slots,
)


async def drop_unkeyed_request_hashes(db: MongoDatabase, now: datetime) -> None:
    """At start, once (recorded in `migrations`): unset the request hash of the reports sent
    without an Idempotency-Key. It was stored for every report, unkeyed, over a body holding
    the clear contact; only a replay of a key needs it (those are cleared by retention)."""
    name = "reports.unkeyed-request-hashes-dropped"
    if await migrations.ran(db, name):
        return
    result = await db.reports.update_many(
        {REQUEST_HASH: {"$exists": True}, "idempotency_key": {"$exists": False}},
        {"$unset": {REQUEST_HASH: ""}},
    )
    if result.modified_count:
        log.warning("request hashes without a key dropped", extra={"count": result.modified_count})
    await migrations.record(db, name, now)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request body."""


@dataclass(frozen=True)
class StoredReport:
    """The outcome of `save`: the report document and whether this call created it."""

    document: Document
    created: bool


class ReportRepository:
    """Reports collection: create (idempotently), look up, and follow case status."""

    def __init__(
        self, db: MongoDatabase, *, commit_batch: int = 200, commit_linger_seconds: float = 0.002
    ) -> None:
        self.reports = db.reports
        # Concurrent submissions share one insert_many (group commit).
        self.inserts = GroupInsert(
            db.reports, max_batch=commit_batch, linger_seconds=commit_linger_seconds
        )

    async def ensure_indexes(self) -> None:
        """Unique tracking codes and idempotency keys; the outbox index."""
        await self.reports.create_index([("tracking_code", ASCENDING)], unique=True)
        await self.reports.create_index([("idempotency_key", ASCENDING)], unique=True, sparse=True)
        # Case events fan out to every report linked to the case (services/intake/status.py).
        await self.reports.create_index([("case.case_id", ASCENDING), ("case.version", ASCENDING)])
        await ensure_outbox_index(self.reports)

    async def save(
        self,
        event: ReportSubmitted,
        *,
        now: datetime,
        idempotency_key: str | None,
        fingerprint: str,
    ) -> StoredReport:
        """Store the report with its event; a repeated Idempotency-Key returns the first one."""
        if idempotency_key and (earlier := await self._by_key(idempotency_key, fingerprint)):
            return StoredReport(earlier, created=False)
        document = self._document(event, now, idempotency_key, fingerprint)
        try:
            await self.inserts.insert(document)
        except DuplicateKeyError:
            if idempotency_key and (earlier := await self._by_key(idempotency_key, fingerprint)):
                return StoredReport(earlier, created=False)
            raise
        log.info("report stored", extra={"report_id": event.report_id})
        return StoredReport(document, created=True)

    async def _by_key(self, key: str, fingerprint: str) -> Document | None:
        earlier = await self.reports.find_one({"idempotency_key": key})
        # An erased contact takes the hash with it: a replay cannot be told from a new body.
        if earlier is not None and earlier.get(REQUEST_HASH) != fingerprint:
            raise IdempotencyConflict(key)
        return earlier

    @staticmethod
    def _document(
        event: ReportSubmitted, now: datetime, key: str | None, fingerprint: str
    ) -> Document:
        report = event.model_dump(
            mode="python", exclude={"event_id", "occurred_at", "schema_version", "type"}
        )
        document: Document = {
            "_id": event.report_id,
            "tracking_code": event.tracking_code,
            "report": report,
            "submitted_at": now,
            "updated_at": now,
            "status": RECEIVED,
            "history": [{"status": RECEIVED, "at": now}],
            **outbox_fields([event], now),
        }
        if key:  # the hash only answers a replay of the same key
            document["idempotency_key"] = key
            document[REQUEST_HASH] = fingerprint
        return document

    async def by_tracking_code(self, code: str) -> Document | None:
        """The report with this tracking code, without contact data or outbox."""
        return await self.reports.find_one({"tracking_code": code}, UNREAD)

    async def by_id(self, report_id: str) -> Document | None:
        """The report with this id, without contact data or outbox."""
        return await self.reports.find_one({"_id": report_id}, UNREAD)

    async def holds_contact(self, report_id: str) -> bool:
        """Whether the report still holds its reporter's contact (never read out here)."""
        found = await self.reports.find_one({"_id": report_id, **HOLDING}, {"_id": 1})
        return found is not None

    async def apply(self, condition: Document, update: Document) -> bool:
        """Apply `update` to the report matching `condition`; False when none matched."""
        result = await self.reports.update_one(condition, update)
        return result.matched_count == 1
