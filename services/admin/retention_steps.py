"""The steps of `incidents-admin retention` (services/admin/retention.py): what is old enough
(pure queries) and, per service, the steps removing or counting it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReplaceOne, UpdateOne

from services.admin.anonymise import (
    DEFAULT_ANONYMISE_DAYS,
    NO_HOLDS,
    Holds,
    anonymise_case_states,
    anonymise_cases,
    anonymise_reports,
)
from services.admin.databases import ServiceDatabase
from services.common.contracts import CLOSED_STATUSES, ErasureReason
from services.common.mongo import Document, MongoDatabase
from services.common.outbox import QUARANTINE
from services.intake.erasure import ERASED_AT, plan_erasure
from services.intake.repository import HOLDING
from services.intake.retention import IDEMPOTENCY_KEY, REQUEST_HASH, old_idempotency_keys
from services.notify.retention import (
    DEADLINE_KEEPS,
    closed_deadlines,
    compacted,
    finished_alerts,
)
from services.routing.erasure import erased_line
from services.routing.legalhold import not_held

DEFAULT_CONTACT_DAYS = 180  # the privacy notice's promise (services/intake/formfields.py)
WRITE_BATCH = 500


# ---- what is old enough (pure) ----


@dataclass(frozen=True)
class Cutoffs:
    """Everything before these times is past its retention, except what a legal hold keeps."""

    kept: datetime
    idempotency: datetime
    contact: datetime
    anonymise: datetime
    held: Holds = NO_HOLDS

    @classmethod
    def of(
        cls,
        now: datetime,
        *,
        days: int,
        idempotency_days: int,
        contact_days: int = DEFAULT_CONTACT_DAYS,
        anonymise_days: int = DEFAULT_ANONYMISE_DAYS,
        held: Holds = NO_HOLDS,
    ) -> Cutoffs:
        """The cutoffs `days`, `idempotency_days`, `contact_days` and `anonymise_days` before
        `now`, sparing what `held` names."""
        return cls(
            now - timedelta(days=days),
            now - timedelta(days=idempotency_days),
            now - timedelta(days=contact_days),
            now - timedelta(days=anonymise_days),
            held,
        )


def old_quarantine(cutoff: datetime) -> dict[str, Any]:
    """Documents holding a quarantined outbox entry from before `cutoff`."""
    return {f"{QUARANTINE}.at": {"$lt": cutoff}}


def closed_reports_with_contact(cutoff: datetime) -> dict[str, Any]:
    """Intake's reports whose case closed before `cutoff` and that still hold a contact."""
    return {
        "status": {"$in": sorted(CLOSED_STATUSES)},
        "updated_at": {"$lt": cutoff},
        **HOLDING,  # a sealed contact, or a clear one left from before sealing
    }


def closed_cases_with_contact(cutoff: datetime) -> dict[str, Any]:
    """Routing's cases closed before `cutoff` where one of their reports still holds a contact."""
    return {
        "status": {"$in": sorted(CLOSED_STATUSES)},
        "closed_at": {"$lt": cutoff},
        "$or": [{f"report.{field}": {"$ne": None}} for field in ("contact_sealed", "contact")]
        + [
            {"reports": {"$elemMatch": {field: {"$ne": None}}}}
            for field in ("contact_sealed", "contact")
        ],
    }


# ---- the steps ----


Step = Callable[[MongoDatabase, Cutoffs, datetime, bool], Awaitable[int]]


def steps(service: ServiceDatabase) -> list[tuple[str, str, Step]]:
    """The steps that apply to a service: (collection, what it removes, the step)."""
    found: list[tuple[str, str, Step]] = [
        (name, "quarantined outbox entries removed", _quarantine_step(name))
        for name in service.outboxes
    ]
    if service.service == "intake":
        found.append(("reports", "idempotency keys cleared", _idempotency_keys))
        found.append(("reports", "reporters' contacts erased", _report_contacts))
        found.append(("reports", "free text anonymised", _report_texts))
        found.append(("case_states", "free text anonymised", _case_state_texts))
    if service.service == "routing":
        found.append(("cases", "reporters' contacts erased", _case_contacts))
        found.append(("cases", "free text anonymised", _case_texts))
    if service.service == "notify":
        found.append(("alerts", "alert records deleted", _alerts))
        found.append(("deadlines", "closed deadlines compacted", _deadlines))
    return found


def _quarantine_step(name: str) -> Step:
    async def step(db: MongoDatabase, cutoffs: Cutoffs, now: datetime, dry_run: bool) -> int:
        collection = db[name]
        holding = old_quarantine(cutoffs.kept)
        docs = await collection.find(holding, {QUARANTINE: 1}).to_list()
        count = sum(_older(entry, cutoffs.kept) for doc in docs for entry in doc[QUARANTINE])
        if not dry_run and docs:
            pull = {"$pull": {QUARANTINE: {"at": {"$lt": cutoffs.kept}}}}
            await collection.update_many(holding, pull)
            await collection.update_many({QUARANTINE: {"$size": 0}}, {"$unset": {QUARANTINE: ""}})
        return count

    return step


def _older(entry: Any, cutoff: datetime) -> bool:
    return (
        isinstance(entry, dict) and isinstance(entry.get("at"), datetime) and entry["at"] < cutoff
    )


async def _alerts(db: MongoDatabase, cutoffs: Cutoffs, now: datetime, dry_run: bool) -> int:
    query = finished_alerts(cutoffs.kept)
    if dry_run:
        return await db.alerts.count_documents(query)
    return (await db.alerts.delete_many(query)).deleted_count


async def _deadlines(db: MongoDatabase, cutoffs: Cutoffs, now: datetime, dry_run: bool) -> int:
    query = closed_deadlines(cutoffs.kept)
    if dry_run:
        return await db.deadlines.count_documents(query)
    count = 0
    projection = dict.fromkeys(DEADLINE_KEEPS, 1)
    while docs := await db.deadlines.find(query, projection).limit(WRITE_BATCH).to_list():
        # Each replacement is conditional on the revision read, so a deadline an event
        # changed meanwhile is left alone (and looked at again by the next run).
        writes = [
            ReplaceOne({**query, "_id": d["_id"], "rev": d.get("rev")}, compacted(d, now))
            for d in docs
        ]
        result = await db.deadlines.bulk_write(writes, ordered=False)
        count += result.modified_count
        if result.modified_count == 0:
            break
    return count


async def _idempotency_keys(
    db: MongoDatabase, cutoffs: Cutoffs, now: datetime, dry_run: bool
) -> int:
    query = old_idempotency_keys(cutoffs.idempotency)
    if dry_run:
        return await db.reports.count_documents(query)
    cleared = await db.reports.update_many(
        query, {"$unset": {IDEMPOTENCY_KEY: "", REQUEST_HASH: ""}}
    )
    return cleared.modified_count


async def _report_contacts(
    db: MongoDatabase, cutoffs: Cutoffs, now: datetime, dry_run: bool
) -> int:
    """Erase the contacts in intake's reports, each with its `report.contact_erased` event
    (reason `retention`) in the report's outbox in the same write: intake's relay publishes
    it, and routing erases the report's contact in every case holding it."""
    query = {
        **closed_reports_with_contact(cutoffs.contact),
        "_id": {"$nin": sorted(cutoffs.held.reports)},
    }
    if dry_run:
        return await db.reports.count_documents(query)
    count = 0
    projection = {"_id": 1, "tracking_code": 1}
    while docs := await db.reports.find(query, projection).limit(WRITE_BATCH).to_list():
        plans = [
            plan_erasure({"tracking_code": "", **doc}, ErasureReason.RETENTION, now) for doc in docs
        ]
        # The plan's own condition wants a sealed contact; the query also takes a clear one.
        writes = [
            UpdateOne({**query, "_id": plan.filter["_id"], ERASED_AT: None}, plan.update)
            for plan in plans
        ]
        result = await db.reports.bulk_write(writes, ordered=False)
        count += result.modified_count
        if result.modified_count == 0:
            break
    return count


async def _case_contacts(db: MongoDatabase, cutoffs: Cutoffs, now: datetime, dry_run: bool) -> int:
    """Erase the contacts in routing's cases, each write conditional on the query still
    matching (no hold set, not reopened meanwhile); the version goes up, so a change planned
    from before cannot write a contact back, and the audit log gains a `contact_erased` line."""
    query = {**closed_cases_with_contact(cutoffs.contact), **not_held(now)}
    if dry_run:
        return await db.cases.count_documents(query)
    docs = await db.cases.find(query, CASE_READ).to_list()
    if not docs:
        return 0
    result = await db.cases.bulk_write([case_erasure(doc, query, now) for doc in docs])
    return result.modified_count


CASE_READ = {"_id": 1, "status": 1, "agency": 1, "report.tracking_code": 1, "reports": 1}


def case_erasure(doc: Document, query: Document, now: datetime) -> UpdateOne:
    """The write erasing the contacts of the case `doc` (as read), only while `query` matches."""
    unset = {"report.contact_sealed": "", "report.contact": ""}
    if isinstance(doc.get("reports"), list) and doc["reports"]:
        # `reports.$[]` needs the array, which cases stored before grouping lack.
        unset |= {"reports.$[].contact_sealed": "", "reports.$[].contact": ""}
    codes = [str(e.get("tracking_code")) for e in doc.get("reports") or [] if _holds(e)]
    line = erased_line(
        status=str(doc.get("status")),
        agency=doc.get("agency"),
        reason=ErasureReason.RETENTION,
        what=", ".join(codes) or str((doc.get("report") or {}).get("tracking_code")),
        event_id=f"retention-erasure:{doc['_id']}:{now.isoformat()}",
        now=now,
    )
    return UpdateOne(
        {**query, "_id": doc["_id"]},
        {
            "$unset": unset,
            "$set": {"contact_erased_at": now},
            "$inc": {"version": 1},
            "$push": {"audit": line.model_dump(by_alias=True, exclude_none=True)},
        },
    )


def _holds(entry: Any) -> bool:
    return isinstance(entry, dict) and bool(entry.get("contact_sealed") or entry.get("contact"))


async def _report_texts(db: MongoDatabase, cutoffs: Cutoffs, now: datetime, dry_run: bool) -> int:
    return await anonymise_reports(db, cutoffs.anonymise, cutoffs.held, now, dry_run)


async def _case_state_texts(
    db: MongoDatabase, cutoffs: Cutoffs, now: datetime, dry_run: bool
) -> int:
    return await anonymise_case_states(db, cutoffs.anonymise, cutoffs.held, now, dry_run)


async def _case_texts(db: MongoDatabase, cutoffs: Cutoffs, now: datetime, dry_run: bool) -> int:
    return await anonymise_cases(db, cutoffs.anonymise, cutoffs.held, now, dry_run)
