"""Stored contacts sealed again: the clear contacts left from before sealing (at a service's
start), or every contact not under the ring's current key (`incidents-admin contact-keys
rekey`), in batches of one `bulk_write`, each document's update conditional on what was read.

A service describes where its documents keep contacts (`ContactHolder`); the pass pages
through them by `_id`, so it can stop anywhere and be run again: what is already sealed under
the current key is left alone, and a document that changed meanwhile is taken by the next run.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from pymongo import ASCENDING, UpdateOne

from services.common import migrations
from services.common.mongo import Document, MongoDatabase
from services.common.sealing import KeyRing, SealingError, key_id_of

log = logging.getLogger(__name__)

CLEAR = "clear"  # how `status` counts a contact stored before sealing
UNREADABLE = "unreadable"  # a value that is not a sealed one


@dataclass(frozen=True)
class Slot:
    """One contact in a document: whose report, its value (sealed, or a clear mapping left
    from before sealing), where the sealed value goes, and what must still hold to write it."""

    report_id: str
    value: str | Mapping[str, Any]
    sealed_path: str
    legacy_path: str
    condition: Document

    @property
    def clear(self) -> bool:
        """Whether the contact is still in clear."""
        return not isinstance(self.value, str)


@dataclass(frozen=True)
class ContactHolder:
    """Where a collection keeps reporters' contacts."""

    service: str
    collection: str
    holding: Document  # documents with a contact, sealed or clear
    holding_clear: Document  # documents with a clear contact
    projection: Document
    slots: Callable[[Document], list[Slot]]
    # A version field conditional writes are planned on: raised by each re-seal, so a write
    # planned before cannot put back a value sealed under the old key.
    version: str | None = None


@dataclass
class Progress:
    """What a pass did so far."""

    documents: int = 0
    resealed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _due(slot: Slot, ring: KeyRing, clear_only: bool) -> bool:
    if slot.clear:
        return True
    return not clear_only and not ring.is_current(str(slot.value))


def planned_update(
    doc: Document, holder: ContactHolder, ring: KeyRing, clear_only: bool, progress: Progress
) -> UpdateOne | None:
    """The one conditional update sealing the document's due contacts under the current key."""
    condition: Document = {"_id": doc["_id"]}
    sets: Document = {}
    unsets: Document = {}
    for slot in holder.slots(doc):
        if not _due(slot, ring, clear_only):
            continue
        try:
            sets[slot.sealed_path] = ring.reseal_contact(slot.value, slot.report_id)
        except (SealingError, ValueError) as exc:
            progress.failed += 1
            progress.errors.append(f"{holder.service} report {slot.report_id}: {_why(exc, slot)}")
            continue
        condition |= slot.condition
        if slot.clear:
            unsets[slot.legacy_path] = ""
    if not sets:
        return None
    update: Document = {"$set": sets}
    if unsets:
        update["$unset"] = unsets
    if holder.version is not None:
        update["$inc"] = {holder.version: 1}
    return UpdateOne(condition, update)


def _why(exc: Exception, slot: Slot) -> str:
    """Why a contact could not be sealed, without its value (a pydantic error quotes it)."""
    if isinstance(exc, SealingError):  # its messages name keys and formats, never contents
        return f"{slot.sealed_path}: {type(exc).__name__}: {exc}"
    if isinstance(exc, ValidationError):
        fields = ", ".join(".".join(map(str, error["loc"])) for error in exc.errors())
        return f"{slot.legacy_path}: {type(exc).__name__} at {fields or '(the value)'}"
    return f"{slot.legacy_path if slot.clear else slot.sealed_path}: {type(exc).__name__}"


async def reseal(
    db: MongoDatabase,
    holder: ContactHolder,
    ring: KeyRing,
    *,
    clear_only: bool = False,
    batch: int = 200,
    report: Callable[[Progress], None] | None = None,
) -> Progress:
    """Seal `holder`'s contacts under the ring's current key (only the clear ones when
    `clear_only`), `batch` documents per command; `report` is called after each batch."""
    collection = db[holder.collection]
    query = holder.holding_clear if clear_only else holder.holding
    progress, last = Progress(), None
    while True:
        page = query if last is None else {"$and": [query, {"_id": {"$gt": last}}]}
        found = collection.find(page, holder.projection).sort("_id", ASCENDING).limit(batch)
        docs = [doc async for doc in found]
        if not docs:
            return progress
        last = docs[-1]["_id"]
        updates = [u for d in docs if (u := planned_update(d, holder, ring, clear_only, progress))]
        if updates:
            result = await collection.bulk_write(updates, ordered=False)
            progress.resealed += result.modified_count
        progress.documents += len(docs)
        if report is not None:
            report(progress)


async def count_by_key(db: MongoDatabase, holder: ContactHolder) -> Counter[str]:
    """How many of `holder`'s contacts are sealed under each key id (`clear` for those stored
    before sealing)."""
    counts: Counter[str] = Counter()
    async for doc in db[holder.collection].find(holder.holding, holder.projection):
        for slot in holder.slots(doc):
            counts[_key_of(slot)] += 1
    return counts


def _key_of(slot: Slot) -> str:
    if slot.clear:
        return CLEAR
    try:
        return key_id_of(str(slot.value))
    except SealingError:
        return UNREADABLE


async def seal_clear_contacts(
    db: MongoDatabase, holder: ContactHolder, ring: KeyRing, now: datetime
) -> None:
    """At a service's start: seal the clear contacts stored before contacts were sealed, once
    (a document in `migrations` records the pass; `contact-keys rekey` seals any clear contact
    an older replica still wrote during the upgrade)."""
    name = f"{holder.collection}.contacts-sealed"
    if await migrations.ran(db, name):
        return
    done = await reseal(db, holder, ring, clear_only=True)
    if done.resealed or done.failed:
        log.warning(
            "clear contacts stored before sealing were sealed",
            extra={"collection": holder.collection, "sealed": done.resealed, "failed": done.failed},
        )
    if not done.failed:
        await migrations.record(db, name, now)
