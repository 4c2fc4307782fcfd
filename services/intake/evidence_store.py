"""Evidence files in GridFS (bucket `evidence` in intake's database), and who may read them.

A file is stored before its report, marked `pending` with the id its report will have, and
marked `attached` once the report is stored. Nothing reads a file through its own record: a
file is served only when the report document lists it, so a file whose report never got
stored (refused, failed, or the process died in between) is never visible. Those are
deleted at once when the failure is seen, and otherwise by the sweep, which settles every
file still pending after a grace period: attached if its report exists, deleted if not.
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo import ASCENDING
from pymongo.errors import PyMongoError

from services.common.clock import Clock
from services.common.contracts import EvidenceFile
from services.common.errortext import describe
from services.common.mongo import (
    TRANSIENT_MONGO_ERRORS,
    Document,
    MongoDatabase,
    drop_index_if_present,
)
from services.common.runtime import raise_if_cancelling
from services.intake.evidence import CheckedFile, ContentType

log = logging.getLogger(__name__)

BUCKET = "evidence"
PENDING, ATTACHED = "pending", "attached"
# Longer than any submission can take (each database call gives up after a few seconds).
SWEEP_GRACE = timedelta(minutes=10)
SWEEP_EVERY_SECONDS = 300.0
SWEEP_BATCH = 500
FILE_IDS_INDEX = "report.evidence.file_id_1"  # created by earlier versions; dropped at start


@dataclass(frozen=True)
class ServedFile:
    """A stored file as it is handed out."""

    file_id: str
    filename: str
    content_type: ContentType
    data: bytes


class EvidenceStore:
    """The evidence bucket: store pending, attach, discard, sweep, and read for a case."""

    def __init__(self, db: MongoDatabase, *, clock: Clock) -> None:
        self.bucket = AsyncGridFSBucket(db, bucket_name=BUCKET)
        self.files = db[f"{BUCKET}.files"]
        self.reports = db.reports
        self.clock = clock

    async def ensure_indexes(self) -> None:
        """The sweep's index. A file's report is found by its `_id` (the file's metadata names
        it), so the index on the reports' file ids that earlier versions created is dropped:
        it served no query and cost every write of a report."""
        await self.files.create_index(
            [("metadata.status", ASCENDING), ("metadata.stored_at", ASCENDING)]
        )
        await drop_index_if_present(self.reports, FILE_IDS_INDEX)

    async def store_pending(self, files: list[CheckedFile], report_id: str) -> list[EvidenceFile]:
        """Store every file as pending for `report_id`; on a failure none stays."""
        stored: list[EvidenceFile] = []
        try:
            for checked in files:
                stored.append(await self._store(checked, report_id))
        except BaseException:
            await self.discard([f.file_id for f in stored])
            raise
        log.info("evidence stored", extra={"report_id": report_id, "files": len(stored)})
        return stored

    async def _store(self, checked: CheckedFile, report_id: str) -> EvidenceFile:
        file_id = uuid.uuid4().hex
        record = EvidenceFile(
            file_id=file_id,
            filename=checked.filename,
            content_type=checked.content_type,
            size=len(checked.data),
            sha256_received=checked.sha256_received,
            sha256_stored=checked.sha256_stored,
        )
        metadata = {
            **record.model_dump(exclude={"file_id"}),
            "report_id": report_id,
            "status": PENDING,
            "stored_at": self.clock(),
        }
        await self.bucket.upload_from_stream_with_id(
            file_id, checked.filename, io.BytesIO(checked.data), metadata=metadata
        )
        return record

    async def attach(self, file_ids: list[str], report_id: str) -> None:
        """Mark the files of a stored report attached (the sweep does it if this fails)."""
        if not file_ids:
            return
        try:
            await self.files.update_many(
                {"_id": {"$in": file_ids}}, {"$set": {"metadata.status": ATTACHED}}
            )
        except PyMongoError as exc:
            raise_if_cancelling()
            log.warning(
                "evidence not marked attached; the sweep will",
                extra={"report_id": report_id, "error": describe(exc)},
            )

    async def discard(self, file_ids: list[str]) -> None:
        """Delete files no report refers to (what fails here the sweep deletes later)."""
        for file_id in file_ids:
            try:
                await self.bucket.delete(file_id)
            except NoFile:
                pass
            except PyMongoError as exc:
                raise_if_cancelling()
                log.warning(
                    "evidence not deleted", extra={"file_id": file_id, "error": describe(exc)}
                )

    async def sweep(self) -> int:
        """Settle files pending past the grace period; the number settled."""
        cutoff = self.clock() - SWEEP_GRACE
        pending = self.files.find(
            {"metadata.status": PENDING, "metadata.stored_at": {"$lt": cutoff}},
            {"metadata.report_id": 1},
            limit=SWEEP_BATCH,
        )
        settled = 0
        async for doc in pending:
            await self._settle(doc)
            settled += 1
        return settled

    async def _settle(self, doc: Document) -> None:
        report_id = doc["metadata"]["report_id"]
        if await self.reports.find_one({"_id": report_id, "report.evidence.file_id": doc["_id"]}):
            await self.attach([doc["_id"]], report_id)
        else:
            await self.discard([doc["_id"]])
            log.info("orphaned evidence deleted", extra={"file_id": doc["_id"]})

    async def sweep_forever(self) -> None:
        """The loop that runs the sweep every few minutes (run by the supervisor)."""
        while True:
            try:
                await self.sweep()
            except TRANSIENT_MONGO_ERRORS:
                raise_if_cancelling()
            await asyncio.sleep(SWEEP_EVERY_SECONDS)

    async def for_case(self, file_id: str, *, case_id: str, agency: str) -> ServedFile | None:
        """The file, if a stored report lists it and that report is in `case_id` with `agency`."""
        record = await self.files.find_one({"_id": file_id}, {"metadata": 1})
        if record is None:
            return None
        metadata: dict[str, Any] = record.get("metadata") or {}
        report = await self.reports.find_one(
            {"_id": metadata.get("report_id"), "report.evidence.file_id": file_id}, {"case": 1}
        )
        case = (report or {}).get("case") or {}
        if case.get("case_id") != case_id or case.get("agency") != agency:
            return None
        stream = await self.bucket.open_download_stream(file_id)
        return ServedFile(
            file_id, metadata["filename"], metadata["content_type"], await stream.read()
        )
