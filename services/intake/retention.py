"""What intake lets go once past retention (services.common.retention runs these sweeps):
submissions' idempotency keys, and decision e-mails that are finished (sent, given up, dropped).

An idempotency key answers a client's retry of the same submission, which comes within minutes,
not days: once past retention the key and the hash of the request it was sent with are cleared
from the report (the report stays), and the same key may be used afresh. A finished decision
e-mail is deleted; a pending one never is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.common.mongo import MongoDatabase
from services.common.retention import Sweep

# Intake's field names (services/intake/repository.py, services/intake/mail_outbox.py).
IDEMPOTENCY_KEY, REQUEST_HASH, SUBMITTED_AT = "idempotency_key", "request_hash", "submitted_at"
FINISHED_AT = "finished_at"


def old_idempotency_keys(cutoff: datetime) -> dict[str, Any]:
    """Reports submitted before `cutoff` that still carry an idempotency key."""
    return {IDEMPOTENCY_KEY: {"$exists": True}, SUBMITTED_AT: {"$lt": cutoff}}


def finished_mails(cutoff: datetime) -> dict[str, Any]:
    """Decision e-mails that finished before `cutoff`."""
    return {FINISHED_AT: {"$lt": cutoff}}


def intake_sweeps(
    db: MongoDatabase, *, idempotency: timedelta, sent_mails: timedelta
) -> list[Sweep]:
    """Idempotency keys cleared after `idempotency`, finished mails deleted after `sent_mails`."""

    async def clear_keys(cutoff: datetime, limit: int) -> int:
        query = old_idempotency_keys(cutoff)
        found = await db.reports.find(query, {"_id": 1}).limit(limit).to_list()
        if not found:
            return 0
        chosen = {**query, "_id": {"$in": [doc["_id"] for doc in found]}}
        cleared = await db.reports.update_many(
            chosen, {"$unset": {IDEMPOTENCY_KEY: "", REQUEST_HASH: ""}}
        )
        return cleared.modified_count

    async def delete_mails(cutoff: datetime, limit: int) -> int:
        query = finished_mails(cutoff)
        found = await db.mails.find(query, {"_id": 1}).limit(limit).to_list()
        if not found:
            return 0
        chosen = {**query, "_id": {"$in": [doc["_id"] for doc in found]}}
        return (await db.mails.delete_many(chosen)).deleted_count

    return [
        Sweep("intake idempotency keys cleared", idempotency, clear_keys),
        Sweep("intake finished decision mails deleted", sent_mails, delete_mails),
    ]
