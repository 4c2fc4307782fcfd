"""What notify lets go once past retention: closed deadlines are compacted, finished alerts
deleted (services.common.retention runs these sweeps).

A closed deadline (resolved or rejected, nothing due, nothing to publish, not poisoned) keeps
only what orders later events about its case (id, version, revision, status), so a late or
replayed older event is still recognised as older and cannot open the deadline again and
escalate a closed case. An alert goes once it has nothing left to deliver; a quarantined one
stays until then too, for an operator to look at (`incidents-admin outboxes`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ReplaceOne

from services.common.clock import Clock
from services.common.contracts import CLOSED_STATUSES
from services.common.mongo import MongoDatabase
from services.common.outbox import OUTBOX_SINCE
from services.common.retention import Sweep
from services.notify.deadlines import NEXT_DUE, POISONED
from services.notify.retry import NEXT_ATTEMPT

COMPACTED_AT = "compacted_at"
# What a compacted deadline keeps: enough to order later events about its case.
DEADLINE_KEEPS = ("_id", "version", "rev", "status", "updated_at")


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


def compacted(deadline: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What a closed deadline keeps."""
    kept = {key: deadline[key] for key in DEADLINE_KEEPS if key in deadline}
    return {**kept, COMPACTED_AT: now}


def finished_alerts(cutoff: datetime) -> dict[str, Any]:
    """Alerts recorded before `cutoff` with no delivery left to attempt."""
    return {"recorded_at": {"$lt": cutoff}, NEXT_ATTEMPT: {"$exists": False}}


def notify_sweeps(
    db: MongoDatabase, clock: Clock, *, deadlines: timedelta, alerts: timedelta
) -> list[Sweep]:
    """Closed deadlines compacted after `deadlines`, finished alerts deleted after `alerts`."""

    async def compact_deadlines(cutoff: datetime, limit: int) -> int:
        query = closed_deadlines(cutoff)
        projection = dict.fromkeys(DEADLINE_KEEPS, 1)
        docs = await db.deadlines.find(query, projection).limit(limit).to_list()
        if not docs:
            return 0
        now = clock()
        # Each replacement is conditional on the revision read: a deadline an event changed
        # meanwhile is left alone (and looked at again by the next pass).
        writes = [
            ReplaceOne({**query, "_id": d["_id"], "rev": d.get("rev")}, compacted(d, now))
            for d in docs
        ]
        return (await db.deadlines.bulk_write(writes, ordered=False)).modified_count

    async def delete_alerts(cutoff: datetime, limit: int) -> int:
        query = finished_alerts(cutoff)
        found = await db.alerts.find(query, {"_id": 1}).limit(limit).to_list()
        if not found:
            return 0
        chosen = {**query, "_id": {"$in": [doc["_id"] for doc in found]}}
        return (await db.alerts.delete_many(chosen)).deleted_count

    return [
        Sweep("notify closed deadlines compacted", deadlines, compact_deadlines),
        Sweep("notify finished alerts deleted", alerts, delete_alerts),
    ]
