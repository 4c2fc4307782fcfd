"""No trace of a reporter's contact outlives its erasure, nor lets it be recovered: the request's
hash is kept only for an Idempotency-Key and keyed, erased with the contact like a clear
contact left from before sealing and the quarantined `report.submitted` entries."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from services.common.migrations import MIGRATIONS
from services.common.mongo import MongoDatabase
from services.intake.models import ReportIn
from services.intake.repository import drop_unkeyed_request_hashes
from tests.integration.intake.conftest import valid_report
from tests.integration.intake.decision_events import Client

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 1, tzinfo=UTC)


async def _submit(intake: Client, **headers: str) -> dict[str, Any]:
    reply = await intake.post("/api/v1/reports", json=valid_report(), headers=headers)
    assert reply.status == 201, await reply.text()
    body: dict[str, Any] = await reply.json()
    return body


async def _stored(db: MongoDatabase, code: str) -> dict[str, Any]:
    stored = await db.reports.find_one({"tracking_code": code})
    assert stored is not None
    return stored


async def _erase(intake: Client, code: str) -> int:
    reply = await intake.post(f"/api/v1/reports/{code}/erase-contact", json={"confirm": True})
    return reply.status


def _unkeyed_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def test_the_request_hash_is_kept_only_for_a_key_and_cannot_be_recomputed(
    intake: Client, intake_db: MongoDatabase
) -> None:
    plain = await _submit(intake)
    assert "request_hash" not in await _stored(intake_db, plain["tracking_code"])

    keyed = await _submit(intake, **{"Idempotency-Key": "traces-1"})
    stored = await _stored(intake_db, keyed["tracking_code"])
    # Without intake's key, the body (with a guessed contact in it) does not give the value.
    body = ReportIn.model_validate(valid_report(), context={"now": datetime.now(UTC)})
    assert stored["request_hash"] != _unkeyed_hash(body.model_dump(mode="json"))
    again = await intake.post(
        "/api/v1/reports", json=valid_report(), headers={"Idempotency-Key": "traces-1"}
    )
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"


async def test_the_erasure_takes_the_hash_and_the_quarantined_submission_with_the_contact(
    intake: Client, intake_db: MongoDatabase
) -> None:
    report = await _submit(intake, **{"Idempotency-Key": "traces-2"})
    code = report["tracking_code"]
    stored = await _stored(intake_db, code)
    submitted = {"type": "report.submitted", "body": json.dumps(stored["report"], default=str)}
    appealed = {"type": "report.appealed", "body": "{}"}
    quarantined = [
        {"entry": submitted, "error": "too big", "at": NOW},
        {"entry": "not-a-list", "error": "the outbox is not a list", "at": NOW},
        {"entry": appealed, "error": "too big", "at": NOW},
    ]
    await intake_db.reports.update_one(
        {"_id": stored["_id"]}, {"$set": {"outbox_quarantine": quarantined}}
    )

    assert await _erase(intake, code) == 200
    erased = await _stored(intake_db, code)
    assert "request_hash" not in erased and "contact_sealed" not in erased["report"]
    assert [q["entry"] for q in erased["outbox_quarantine"]] == [appealed]
    # A replay of the key can no longer be told from another body: refused, nothing re-stored.
    again = await intake.post(
        "/api/v1/reports", json=valid_report(), headers={"Idempotency-Key": "traces-2"}
    )
    assert again.status == 409
    assert await intake_db.reports.count_documents({"idempotency_key": "traces-2"}) == 1


async def test_a_clear_contact_left_unsealed_is_erased_too(
    intake: Client, intake_db: MongoDatabase
) -> None:
    code = (await _submit(intake))["tracking_code"]
    await intake_db.reports.update_one(
        {"tracking_code": code},
        {
            "$unset": {"report.contact_sealed": ""},
            "$set": {"report.contact": {"name": "Nguyễn Văn A", "phone": "+84912345678"}},
        },
    )
    status = await (await intake.get(f"/api/v1/reports/{code}")).json()
    assert status["can_erase_contact"] is True

    assert await _erase(intake, code) == 200
    erased = await _stored(intake_db, code)
    assert not {"contact", "contact_sealed"} & set(erased["report"])
    assert await _erase(intake, code) == 409


async def test_the_start_up_pass_drops_the_hashes_of_reports_sent_without_a_key_once(
    intake_db: MongoDatabase,
) -> None:
    await intake_db.reports.insert_many(
        [
            {"_id": "old-plain", "tracking_code": "T-1", "request_hash": "h1"},
            {
                "_id": "old-keyed",
                "tracking_code": "T-2",
                "request_hash": "h2",
                "idempotency_key": "k",
            },
        ]
    )
    await intake_db[MIGRATIONS].delete_many({})
    await drop_unkeyed_request_hashes(intake_db, NOW)
    plain = await intake_db.reports.find_one({"_id": "old-plain"})
    keyed = await intake_db.reports.find_one({"_id": "old-keyed"})
    assert plain is not None and "request_hash" not in plain
    assert keyed is not None and keyed["request_hash"] == "h2"  # a replay may still need it
    assert await intake_db[MIGRATIONS].count_documents({}) == 1

    await intake_db.reports.update_one({"_id": "old-plain"}, {"$set": {"request_hash": "h3"}})
    await drop_unkeyed_request_hashes(intake_db, NOW)  # done once: recorded, not repeated
    plain = await intake_db.reports.find_one({"_id": "old-plain"})
    assert plain is not None and plain["request_hash"] == "h3"
