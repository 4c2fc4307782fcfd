"""`incidents-admin outboxes`: per service and collection, the outbox backlog (documents with
events still to publish, and events a change-stream relay read while the broker was away and
keeps in `outbox_spill`; the age of the oldest), who holds the relay's lease, and what was
quarantined: outbox entries that cannot be published (`outbox_quarantine`) and documents a loop
could not process (`poisoned`)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import PyMongoError

from services.admin.databases import (
    DatabaseError,
    ServiceDatabase,
    database_options,
    databases,
    service_databases,
)
from services.common.mongo import MongoDatabase
from services.common.outbox import OUTBOX_SINCE, PENDING, QUARANTINE, RELAYS, may_hold_pending
from services.common.outbox_stream import SPILL

POISONED = "poisoned"
HEADER = ("service", "collection", "pending", "oldest", "relay lease", "quarantined", "poisoned")


def register(commands: Any) -> None:
    """Add `outboxes`."""
    parser = commands.add_parser(
        "outboxes",
        parents=[database_options()],
        help="outbox backlogs, relay leases, quarantined entries and poisoned documents",
        description="Read each service's database: pending outbox documents and the oldest "
        "one's age, the relay lease, entries in outbox_quarantine and documents marked poisoned.",
    )
    parser.set_defaults(handler=outboxes_command)


@dataclass(frozen=True)
class Lease:
    """A collection's relay lease: its holder (a relay's random token) and until when."""

    holder: str
    until: datetime
    held: bool


@dataclass
class CollectionState:
    """What `outboxes` reports for one collection (None: not applicable to it)."""

    service: str
    database: str
    collection: str
    pending: int | None = None
    oldest_pending_seconds: float | None = None
    lease: Lease | None = None
    quarantined_entries: int | None = None
    quarantined_documents: int | None = None
    poisoned: int | None = None


async def outboxes_command(args: argparse.Namespace) -> int:
    """Print the state of every outbox and quarantine of the chosen services."""
    now = datetime.now(UTC)
    try:
        chosen = service_databases(args)
        async with databases(args, [service.service for service in chosen]) as found:
            states = []
            for service in chosen:
                states += await service_state(found[service.service], service, now)
    except (DatabaseError, PyMongoError) as exc:
        print(f"incidents-admin outboxes: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([asdict(state) for state in states], default=str, ensure_ascii=False))
    else:
        print(render(states))
    return 0


async def service_state(
    db: MongoDatabase, service: ServiceDatabase, now: datetime
) -> list[CollectionState]:
    """One row per outbox or quarantine collection of the service (and any other collection
    a relay has leased, should a service have gained an outbox)."""
    leased = [doc["_id"] for doc in await db[RELAYS].find({}, {"_id": 1}).to_list()]
    outboxes = [*service.outboxes, *(name for name in leased if name not in service.outboxes)]
    names = [*outboxes, *(name for name in service.poisoned if name not in outboxes)]
    states = []
    for name in names:
        state = CollectionState(service.service, service.database, name)
        if name in outboxes:
            await _outbox(db, state, now)
        if name in service.poisoned:
            state.poisoned = await db[name].count_documents({POISONED: {"$exists": True}})
        states.append(state)
    return states


async def _outbox(db: MongoDatabase, state: CollectionState, now: datetime) -> None:
    collection = db[state.collection]
    spilled = {"collection": state.collection}
    # Only writes made for the clearing relay, while its index exists, mark documents pending.
    pending, oldest = 0, None
    if await may_hold_pending(collection):
        pending = await collection.count_documents(PENDING)
        oldest = await collection.find_one(PENDING, {OUTBOX_SINCE: 1}, sort=[(OUTBOX_SINCE, 1)])
    state.pending = pending + await db[SPILL].count_documents(spilled)
    oldest_spilled = await db[SPILL].find_one(spilled, {"at": 1}, sort=[("at", 1)])
    times = [
        *([oldest[OUTBOX_SINCE]] if oldest else []),
        *([oldest_spilled["at"]] if oldest_spilled else []),
    ]
    if times:
        state.oldest_pending_seconds = (now - min(times)).total_seconds()
    lease = await db[RELAYS].find_one({"_id": state.collection})
    if lease is not None:
        state.lease = Lease(str(lease.get("holder")), lease["until"], lease["until"] > now)
    quarantined = await collection.find(
        {f"{QUARANTINE}.0": {"$exists": True}}, {QUARANTINE: 1}
    ).to_list()
    state.quarantined_documents = len(quarantined)
    state.quarantined_entries = sum(len(doc[QUARANTINE]) for doc in quarantined)


def render(states: list[CollectionState]) -> str:
    """A table: one line per collection."""
    header = (
        "service",
        "collection",
        "pending",
        "oldest",
        "relay lease",
        "quarantined",
        "poisoned",
    )
    rows = [header, *(_cells(state) for state in states)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _cells(state: CollectionState) -> tuple[str, ...]:
    quarantined = "-"
    if state.quarantined_entries is not None:
        quarantined = f"{state.quarantined_entries} in {state.quarantined_documents} doc(s)"
    return (
        state.service,
        f"{state.database}.{state.collection}",
        "-" if state.pending is None else str(state.pending),
        "-" if state.oldest_pending_seconds is None else age(state.oldest_pending_seconds),
        _lease(state.lease, state.pending is not None),
        quarantined,
        "-" if state.poisoned is None else str(state.poisoned),
    )


def _lease(lease: Lease | None, has_outbox: bool) -> str:
    if lease is None:
        return "never taken" if has_outbox else "-"
    state = "held" if lease.held else "free since"
    return f"{lease.holder[:8]} {state} until {lease.until:%Y-%m-%d %H:%M:%S}Z"


def age(seconds: float) -> str:
    """A duration as the largest two units: `45s`, `3m20s`, `5h02m`, `2d03h`."""
    whole = max(int(seconds), 0)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
