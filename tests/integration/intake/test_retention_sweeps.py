"""Intake lets go of what is past retention by itself: old idempotency keys are cleared (the
reports stay), finished decision e-mails deleted; young keys and pending mails stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.mongo import MongoDatabase
from services.common.retention import RetentionLoop
from services.intake.retention import intake_sweeps
from services.intake.settings import IntakeSettings
from tests.helpers import wait_until
from tests.integration.intake.conftest import start_intake

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
OLD, YOUNG = NOW - timedelta(days=8), NOW - timedelta(hours=1)


def report(report_id: str, submitted_at: datetime, key: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": report_id,
        "tracking_code": f"TC-{report_id}",
        "submitted_at": submitted_at,
        "request_hash": "h",
    }
    if key:
        doc["idempotency_key"] = key
    return doc


async def fill(db: MongoDatabase) -> None:
    await db.reports.insert_many(
        [report("old", OLD, "key-old"), report("young", YOUNG, "key-young")]
    )
    await db.mails.insert_many(
        [
            {"_id": "sent-old", "status": "sent", "finished_at": OLD},
            {"_id": "sent-young", "status": "sent", "finished_at": YOUNG},
            {"_id": "pending-old", "status": "pending", "next_attempt_at": OLD},
        ]
    )


async def assert_swept(db: MongoDatabase) -> None:
    old = await db.reports.find_one({"_id": "old"})
    young = await db.reports.find_one({"_id": "young"})
    assert old is not None and "idempotency_key" not in old and "request_hash" not in old
    assert young is not None and young["idempotency_key"] == "key-young"
    assert sorted(await db.mails.distinct("_id")) == ["pending-old", "sent-young"]


async def test_a_pass_clears_old_keys_and_deletes_finished_mails_only(
    intake_db: MongoDatabase,
) -> None:
    await fill(intake_db)
    sweeps = intake_sweeps(intake_db, idempotency=timedelta(days=7), sent_mails=timedelta(days=7))
    removed = await RetentionLoop(sweeps, clock=lambda: NOW, every_seconds=3600).sweep_once()
    assert list(removed.values()) == [1, 1]
    await assert_swept(intake_db)


async def test_the_service_runs_retention_at_start_and_reports_it_in_readyz(
    intake_settings: IntakeSettings, intake_db: MongoDatabase
) -> None:
    await fill(intake_db)
    client = await start_intake(intake_settings)
    try:

        async def swept() -> bool:
            return await intake_db.mails.count_documents({"_id": "sent-old"}) == 0

        await wait_until(swept, what="the first retention pass at start")
        await assert_swept(intake_db)
        checks = (await (await client.get("/readyz")).json())["checks"]
        assert checks["loop:retention"] is True
    finally:
        await client.close()
