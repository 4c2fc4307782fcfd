"""`incidents-admin retention`: remove what is done and no longer needed, counted per
collection; `--dry-run` only counts.

What goes, and why it is safe:
- quarantined outbox entries (`outbox_quarantine`) older than the retention: logged and
  counted when quarantined, kept this long for an operator to look at (`outboxes`);
- notify's alert records older than the retention with no delivery left to attempt;
- notify's closed deadlines (resolved or rejected, nothing due, nothing to publish, not
  poisoned) older than the retention are compacted, not deleted: the case's id, version and
  revision stay, so a late or replayed older event about the case is still recognised as older
  and cannot open a deadline again and escalate a closed case;
- intake's idempotency keys (and the request hash compared with them) on reports older than
  `--idempotency-older-than`: a client retries a submission within minutes, not days. The
  reports themselves stay;
- reporters' contact details (name, phone, e-mail) `--contact-older-than` days after their
  case closed, in intake's reports and in routing's cases (every report a case holds): what
  the form's privacy notice promises. The reports and cases stay, without the contact. Each
  report erased in intake gets a `report.contact_erased` event (reason `retention`) in its
  outbox in the same write, so routing also erases it in the cases that hold the report.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReplaceOne, UpdateOne
from pymongo.errors import PyMongoError

from services.admin.databases import (
    DatabaseError,
    ServiceDatabase,
    database_options,
    mongo_client,
    service_databases,
)
from services.common.contracts import CLOSED_STATUSES, ErasureReason
from services.common.mongo import MongoDatabase
from services.common.outbox import OUTBOX_SINCE, QUARANTINE
from services.intake.erasure import plan_erasure
from services.notify.deadlines import NEXT_DUE, POISONED
from services.notify.retry import NEXT_ATTEMPT

DEFAULT_DAYS = 90
DEFAULT_IDEMPOTENCY_DAYS = 7
DEFAULT_CONTACT_DAYS = 180  # the privacy notice's promise (services/intake/formfields.py)
# Intake's field names (services/intake/repository.py).
IDEMPOTENCY_KEY, REQUEST_HASH, SUBMITTED_AT = "idempotency_key", "request_hash", "submitted_at"
COMPACTED_AT = "compacted_at"
# What a compacted deadline keeps: enough to order later events about its case.
DEADLINE_KEEPS = ("_id", "version", "rev", "status", "updated_at")
WRITE_BATCH = 500


def register(commands: Any) -> None:
    """Add `retention`."""
    parser = commands.add_parser(
        "retention",
        parents=[database_options()],
        help="remove what is done and no longer needed (--dry-run counts only)",
        description=(__doc__ or "").split("\n\n", 1)[-1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dry-run", action="store_true", help="count only; change nothing")
    parser.add_argument(
        "--older-than",
        type=_days,
        default=DEFAULT_DAYS,
        metavar="DAYS",
        help=f"retention of quarantined entries, alerts and closed deadlines ({DEFAULT_DAYS})",
    )
    parser.add_argument(
        "--idempotency-older-than",
        type=_days,
        default=DEFAULT_IDEMPOTENCY_DAYS,
        metavar="DAYS",
        help=f"how long intake keeps idempotency keys ({DEFAULT_IDEMPOTENCY_DAYS})",
    )
    parser.add_argument(
        "--contact-older-than",
        type=_days,
        default=DEFAULT_CONTACT_DAYS,
        metavar="DAYS",
        help=f"erase reporters' contact this long after their case closed ({DEFAULT_CONTACT_DAYS})",
    )
    parser.set_defaults(handler=retention_command)


def _days(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 36500:
        raise argparse.ArgumentTypeError(f"must be a whole number of days from 1, not {text!r}")
    return int(text)


# ---- what is old enough (pure) ----


@dataclass(frozen=True)
class Cutoffs:
    """Everything before these times is past its retention."""

    kept: datetime
    idempotency: datetime
    contact: datetime

    @classmethod
    def of(
        cls,
        now: datetime,
        *,
        days: int,
        idempotency_days: int,
        contact_days: int = DEFAULT_CONTACT_DAYS,
    ) -> Cutoffs:
        """The cutoffs `days`, `idempotency_days` and `contact_days` before `now`."""
        return cls(
            now - timedelta(days=days),
            now - timedelta(days=idempotency_days),
            now - timedelta(days=contact_days),
        )


def old_quarantine(cutoff: datetime) -> dict[str, Any]:
    """Documents holding a quarantined outbox entry from before `cutoff`."""
    return {f"{QUARANTINE}.at": {"$lt": cutoff}}


def finished_alerts(cutoff: datetime) -> dict[str, Any]:
    """Alerts recorded before `cutoff` with no delivery left to attempt."""
    return {"recorded_at": {"$lt": cutoff}, NEXT_ATTEMPT: {"$exists": False}}


def closed_deadlines(cutoff: datetime) -> dict[str, Any]:
    """Deadlines of cases closed before `cutoff`, nothing due or pending, not yet compacted."""
    return {
        "status": {"$in": sorted(CLOSED_STATUSES)},
        "updated_at": {"$lt": cutoff},
        NEXT_DUE: {"$exists": False},
        OUTBOX_SINCE: {"$exists": False},
        POISONED: {"$exists": False},
        COMPACTED_AT: {"$exists": False},
    }


def old_idempotency_keys(cutoff: datetime) -> dict[str, Any]:
    """Reports submitted before `cutoff` that still carry an idempotency key."""
    return {IDEMPOTENCY_KEY: {"$exists": True}, SUBMITTED_AT: {"$lt": cutoff}}


def closed_reports_with_contact(cutoff: datetime) -> dict[str, Any]:
    """Intake's reports whose case closed before `cutoff` and that still hold a contact."""
    return {
        "status": {"$in": sorted(CLOSED_STATUSES)},
        "updated_at": {"$lt": cutoff},
        "report.contact": {"$ne": None},
    }


def closed_cases_with_contact(cutoff: datetime) -> dict[str, Any]:
    """Routing's cases closed before `cutoff` where one of their reports still holds a contact."""
    return {
        "status": {"$in": sorted(CLOSED_STATUSES)},
        "closed_at": {"$lt": cutoff},
        "$or": [
            {"report.contact": {"$ne": None}},
            {"reports": {"$elemMatch": {"contact": {"$ne": None}}}},
        ],
    }


def compacted(deadline: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What a closed deadline keeps."""
    kept = {key: deadline[key] for key in DEADLINE_KEEPS if key in deadline}
    return {**kept, COMPACTED_AT: now}


# ---- the steps ----


@dataclass(frozen=True)
class Outcome:
    """One step's count: what it removed (or would remove) from a collection."""

    service: str
    database: str
    collection: str
    what: str
    count: int


Step = Callable[[MongoDatabase, Cutoffs, datetime, bool], Awaitable[int]]


async def retention_command(args: argparse.Namespace) -> int:
    """Run (or count) every step for the chosen services."""
    now = datetime.now(UTC)
    cutoffs = Cutoffs.of(
        now,
        days=args.older_than,
        idempotency_days=args.idempotency_older_than,
        contact_days=args.contact_older_than,
    )
    outcomes = []
    try:
        async with mongo_client(args) as client:
            for service in service_databases(args):
                db = client[service.database]
                for collection, what, step in steps(service):
                    count = await step(db, cutoffs, now, args.dry_run)
                    outcomes.append(
                        Outcome(service.service, service.database, collection, what, count)
                    )
    except (DatabaseError, PyMongoError) as exc:
        print(f"incidents-admin retention: {exc}", file=sys.stderr)
        return 1
    if args.json:
        rows = [asdict(outcome) for outcome in outcomes]
        print(json.dumps({"dry_run": args.dry_run, "removed": rows}, ensure_ascii=False))
    else:
        print(render(outcomes, dry_run=args.dry_run, cutoffs=cutoffs))
    return 0


def steps(service: ServiceDatabase) -> list[tuple[str, str, Step]]:
    """The steps that apply to a service: (collection, what it removes, the step)."""
    found: list[tuple[str, str, Step]] = [
        (name, "quarantined outbox entries removed", _quarantine_step(name))
        for name in service.outboxes
    ]
    if service.service == "intake":
        found.append(("reports", "idempotency keys cleared", _idempotency_keys))
        found.append(("reports", "reporters' contacts erased", _report_contacts))
    if service.service == "routing":
        found.append(("cases", "reporters' contacts erased", _case_contacts))
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
    query = closed_reports_with_contact(cutoffs.contact)
    if dry_run:
        return await db.reports.count_documents(query)
    count = 0
    projection = {"_id": 1, "tracking_code": 1}
    while docs := await db.reports.find(query, projection).limit(WRITE_BATCH).to_list():
        plans = [
            plan_erasure({"tracking_code": "", **doc}, ErasureReason.RETENTION, now) for doc in docs
        ]
        writes = [UpdateOne({**query, **plan.filter}, plan.update) for plan in plans]
        result = await db.reports.bulk_write(writes, ordered=False)
        count += result.modified_count
        if result.modified_count == 0:
            break
    return count


async def _case_contacts(db: MongoDatabase, cutoffs: Cutoffs, now: datetime, dry_run: bool) -> int:
    query = closed_cases_with_contact(cutoffs.contact)
    if dry_run:
        return await db.cases.count_documents(query)
    ids = await db.cases.distinct("_id", query)
    if not ids:
        return 0
    # Two writes: `reports.$[]` needs the array, which cases stored before grouping lack.
    chosen = {"_id": {"$in": ids}}
    await db.cases.update_many(
        {**chosen, "reports": {"$elemMatch": {"contact": {"$ne": None}}}},
        {"$unset": {"reports.$[].contact": ""}},
    )
    await db.cases.update_many(
        chosen, {"$unset": {"report.contact": ""}, "$set": {"contact_erased_at": now}}
    )
    return len(ids)


def render(outcomes: list[Outcome], *, dry_run: bool, cutoffs: Cutoffs) -> str:
    """One line per collection and step, then what the run was."""
    width = max((len(f"{o.database}.{o.collection}") for o in outcomes), default=0)
    lines = [
        f"{o.service:<8} {o.database + '.' + o.collection:<{width}}  {o.count:>7} {o.what}"
        for o in outcomes
    ]
    lines.append(
        f"before {cutoffs.kept:%Y-%m-%d %H:%M}Z (idempotency keys: "
        f"{cutoffs.idempotency:%Y-%m-%d %H:%M}Z, contacts: {cutoffs.contact:%Y-%m-%d %H:%M}Z)"
    )
    if dry_run:
        lines.append("dry run: these are counts of what would go; nothing was changed")
    return "\n".join(lines)
