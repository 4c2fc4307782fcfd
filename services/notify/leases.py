"""Alerts leased in batches: three commands take up to a batch of due alerts, one records them.

A worker finds the ids of the most overdue alerts, then leases them with one `update_many`
that matches only those still due and marks them with a token of its own (pushing
`next_attempt_at` and `leased_until` forward), then reads back what carries its token. Each
document's update is atomic, so two replicas racing for the same alerts never both get one:
whichever writes second no longer matches it. The outcomes go back in one `bulk_write`,
each write conditional on the token, so a worker whose lease ran out (and whose alerts
another took) overwrites nothing. While many alerts are due at once, each look reads only
about a batch of the most overdue (services.common.read_window).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from services.common import metrics
from services.common.errortext import describe
from services.common.read_window import ReadWindow
from services.notify.retry import LEASED_UNTIL, NEXT_ATTEMPT, PENDING

log = logging.getLogger(__name__)

LEASE_TOKEN = "lease_token"


@dataclass(frozen=True)
class Lease:
    """The alerts one worker holds until `until`, under `token`."""

    token: str
    until: datetime
    alerts: list[dict[str, Any]] = field(default_factory=list)


def saved(lease: Lease, alert: dict[str, Any], deliveries: list[dict[str, Any]]) -> UpdateOne:
    """The write storing attempt outcomes and when the next pending delivery is due (if any)."""
    pending = [d[NEXT_ATTEMPT] for d in deliveries if d["status"] == PENDING]
    update: dict[str, Any] = {
        "$set": {"deliveries": deliveries},
        "$unset": {LEASED_UNTIL: "", LEASE_TOKEN: ""},
    }
    if pending:
        update["$set"][NEXT_ATTEMPT] = min(pending)
    else:
        update["$unset"][NEXT_ATTEMPT] = ""
    return UpdateOne({"_id": alert["_id"], LEASE_TOKEN: lease.token}, update)


def quarantined(alert: dict[str, Any], error: BaseException, now: datetime) -> UpdateOne:
    """The write moving an alert that cannot be delivered out of the delivery index."""
    log.error(
        "alert cannot be processed; quarantined",
        extra={"alert_id": str(alert.get("_id")), "error": describe(error)},
        exc_info=error,
    )
    metrics.QUARANTINED.labels(collection="alerts").inc()
    return UpdateOne(
        {"_id": alert["_id"]},
        {
            "$set": {"poisoned": {"error": describe(error), "at": now}},
            "$unset": {NEXT_ATTEMPT: "", LEASED_UNTIL: "", LEASE_TOKEN: ""},
        },
    )


@dataclass
class AlertLeases:
    """Takes and returns leases on the `alerts` collection."""

    collection: AsyncCollection[dict[str, Any]]
    # While many alerts are due at once, a look reads only about a batch of the most overdue.
    window: ReadWindow = field(default_factory=ReadWindow)

    @property
    def caught_up(self) -> bool:
        """Whether the last look read every due alert (rather than only the most overdue)."""
        return self.window.caught_up

    async def take(self, now: datetime, duration: timedelta, limit: int) -> Lease:
        """Lease up to `limit` due alerts, most overdue first (fewer when others hold some)."""
        lease = Lease(uuid.uuid4().hex, now + duration)
        found = await self.window.take(
            self._due, field=NEXT_ATTEMPT, size=limit, latest=now, now=now
        )
        if not found:
            return lease
        due = {NEXT_ATTEMPT: {"$lte": now}}
        ids = [doc["_id"] for doc in found]
        marks = {NEXT_ATTEMPT: lease.until, LEASED_UNTIL: lease.until, LEASE_TOKEN: lease.token}
        taken = await self.collection.update_many({**due, "_id": {"$in": ids}}, {"$set": marks})
        if taken.modified_count:
            mine = {"_id": {"$in": ids}, LEASE_TOKEN: lease.token}
            lease.alerts.extend(await self.collection.find(mine).to_list())
        return lease

    async def _due(self, until: datetime, limit: int) -> list[dict[str, Any]]:
        """The ids and due times of the alerts due by `until`, most overdue first."""
        cursor = self.collection.find({NEXT_ATTEMPT: {"$lte": until}}, {NEXT_ATTEMPT: 1})
        return await cursor.sort(NEXT_ATTEMPT, ASCENDING).limit(limit).to_list()

    async def record(self, outcomes: list[tuple[dict[str, Any], UpdateOne]], now: datetime) -> None:
        """Store every (alert, outcome write) in one command; an alert whose write the server
        refuses (a malformed document) is quarantined rather than retried for ever."""
        if not outcomes:
            return
        try:
            await self.collection.bulk_write([write for _, write in outcomes], ordered=False)
        except BulkWriteError as exc:
            refused = exc.details.get("writeErrors", [])
            if not refused:  # not a refused document (e.g. a write concern error): retried
                raise
            moved = [
                quarantined(outcomes[error["index"]][0], RuntimeError(error.get("errmsg")), now)
                for error in refused
            ]
            await self.collection.bulk_write(moved, ordered=False)
