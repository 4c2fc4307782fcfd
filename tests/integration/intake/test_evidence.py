"""Evidence files through the API: checked by content, cleaned, hashed, stored all or nothing,
and served only through a valid link of the agency holding the report's case."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient
from PIL import Image
from PIL.ExifTags import IFD
from pymongo import ASCENDING

from services.common import signedlinks
from services.common.amqp import Publisher, Topology
from services.common.contracts import CaseAssigned, CaseStatus, Category, Priority, new_event_id
from services.common.mongo import MongoDatabase
from services.intake.evidence_store import FILE_IDS_INDEX, EvidenceStore
from tests.evidence_samples import pdf, photo_with_gps, screenshot, too_large
from tests.helpers import EVIDENCE_LINK_SECRET, wait_until
from tests.integration.intake.conftest import valid_report

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
SECRET = EVIDENCE_LINK_SECRET.encode()


def multipart(
    report: dict[str, Any] | None, files: list[tuple[str, bytes]], **extra: str
) -> aiohttp.FormData:
    """A multipart body: the `report` part (JSON) and one `evidence` part per file."""
    form = aiohttp.FormData()
    if report is not None:
        form.add_field("report", json.dumps(report), content_type="application/json")
    for name, data in files:
        form.add_field("evidence", io.BytesIO(data), filename=name, content_type="image/jpeg")
    for name, value in extra.items():
        form.add_field(name, value)
    return form


async def submit(intake: Client, files: list[tuple[str, bytes]], **kwargs: Any) -> Any:
    return await intake.post("/api/v1/reports", data=multipart(valid_report(), files), **kwargs)


async def stored_report(db: MongoDatabase, response: aiohttp.ClientResponse) -> dict[str, Any]:
    assert response.status == 201, await response.text()
    code = (await response.json())["tracking_code"]
    document = await db.reports.find_one({"tracking_code": code})
    assert document is not None
    return document


async def stored_bytes(db: MongoDatabase, file_id: str) -> bytes:
    store = EvidenceStore(db, clock=lambda: datetime.now(UTC))
    stream = await store.bucket.open_download_stream(file_id)
    return await stream.read()


async def nothing_stored(db: MongoDatabase) -> bool:
    return (
        await db.reports.count_documents({}) == 0
        and await db["evidence.files"].count_documents({}) == 0
        and await db["evidence.chunks"].count_documents({}) == 0
    )


async def test_photo_is_stored_without_gps_and_with_both_hashes(
    intake: Client, intake_db: MongoDatabase
) -> None:
    photo = photo_with_gps()
    report = await stored_report(intake_db, await submit(intake, [("IMG_0001.jpg", photo)]))

    (evidence,) = report["report"]["evidence"]
    kept = await stored_bytes(intake_db, evidence["file_id"])
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(IFD.GPSInfo)
    assert not Image.open(io.BytesIO(kept)).getexif().get_ifd(IFD.GPSInfo)
    assert len(Image.open(io.BytesIO(kept)).getexif()) == 0
    assert evidence["filename"] == "IMG_0001.jpg"
    assert evidence["content_type"] == "image/jpeg"
    assert evidence["size"] == len(kept)
    assert evidence["sha256_received"] == hashlib.sha256(photo).hexdigest()
    assert evidence["sha256_stored"] == hashlib.sha256(kept).hexdigest()
    (event,) = report["outbox"]
    assert json.loads(event["body"])["evidence"] == [evidence]  # report.submitted carries it
    record = await intake_db["evidence.files"].find_one({"_id": evidence["file_id"]})
    assert record is not None
    assert record["metadata"]["status"] == "attached"
    assert record["metadata"]["report_id"] == report["_id"]


async def test_png_named_pdf_is_stored_as_png_and_a_pdf_as_received(
    intake: Client, intake_db: MongoDatabase
) -> None:
    document = pdf()
    files = [("statement.pdf", screenshot("PNG")), ("bank.pdf", document)]
    report = await stored_report(intake_db, await submit(intake, files))
    png, kept_pdf = report["report"]["evidence"]
    assert png["content_type"] == "image/png" and png["filename"] == "statement.pdf"
    assert kept_pdf["content_type"] == "application/pdf"
    assert await stored_bytes(intake_db, kept_pdf["file_id"]) == document


@pytest.mark.parametrize(
    ("files", "status", "field", "kind"),
    [
        ([("notes.jpg", b"this is a text file, not a photo")], 415, "evidence.0", "evidence_type"),
        (
            [("ok.png", screenshot()), ("big.png", too_large())],
            413,
            "evidence.1",
            "evidence_too_large",
        ),
        ([(f"s{i}.png", screenshot()) for i in range(6)], 422, "evidence", "evidence_count"),
        (
            [("ok.png", screenshot()), ("bad.jpg", b"\xff\xd8\xff broken")],
            422,
            "evidence.1",
            "evidence_unreadable",
        ),
    ],
    ids=["text-named-jpg", "six-mb", "six-files", "damaged-after-a-good-one"],
)
async def test_a_bad_file_refuses_everything_naming_the_file(
    intake: Client,
    intake_db: MongoDatabase,
    files: list[tuple[str, bytes]],
    status: int,
    field: str,
    kind: str,
) -> None:
    response = await submit(intake, files)
    assert response.status == status
    errors = (await response.json())["error"]["errors"]
    assert {"field": field, "type": kind} in [
        {"field": e["field"], "type": e["type"]} for e in errors
    ]
    if field != "evidence":
        index = int(field.split(".")[1])
        assert files[index][0] in str(errors)
    assert await nothing_stored(intake_db)


async def test_invalid_report_part_stores_no_file(intake: Client, intake_db: MongoDatabase) -> None:
    form = multipart(valid_report(category="nonsense"), [("a.png", screenshot())])
    response = await intake.post("/api/v1/reports", data=form)
    assert response.status == 422
    fields = [e["field"] for e in (await response.json())["error"]["errors"]]
    assert fields == ["report.category"]
    assert await nothing_stored(intake_db)


@pytest.mark.parametrize(
    ("form", "status", "field"),
    [
        (multipart(None, [("a.png", screenshot())]), 422, "report"),
        (multipart(valid_report(), [], other="x"), 422, "other"),
    ],
    ids=["no-report-part", "unknown-part"],
)
async def test_missing_or_unknown_parts_are_named(
    intake: Client, intake_db: MongoDatabase, form: aiohttp.FormData, status: int, field: str
) -> None:
    response = await intake.post("/api/v1/reports", data=form)
    assert response.status == status
    assert [e["field"] for e in (await response.json())["error"]["errors"]] == [field]
    assert await nothing_stored(intake_db)


async def test_idempotency_key_replays_and_keeps_only_the_first_files(
    intake: Client, intake_db: MongoDatabase
) -> None:
    files = [("a.png", screenshot())]
    headers = {"Idempotency-Key": "evidence-retry-1"}
    first = await stored_report(intake_db, await submit(intake, files, headers=headers))
    again = await submit(intake, files, headers=headers)
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert (await again.json())["tracking_code"] == first["tracking_code"]
    other = await submit(intake, [("b.png", screenshot("PNG", size=(10, 10)))], headers=headers)
    assert other.status == 409
    assert await intake_db["evidence.files"].count_documents({}) == 1


async def test_json_reports_still_work_without_files(
    intake: Client, intake_db: MongoDatabase
) -> None:
    report = await stored_report(
        intake_db, await intake.post("/api/v1/reports", json=valid_report())
    )
    assert report["report"]["evidence"] == []


# Links: a report assigned to a case, then links naming case, file, agency and expiry.


async def assign(
    report: dict[str, Any], publisher: Publisher, db: MongoDatabase, *, case_id: str, agency: str
) -> None:
    """Announce the report's case as routing would, and wait until intake has recorded it."""
    event = CaseAssigned(
        event_id=new_event_id(),
        occurred_at=datetime.now(UTC),
        case_id=case_id,
        report_id=report["_id"],
        tracking_code=report["tracking_code"],
        agency=agency,
        category=Category.SCAM_FRAUD,
        priority=Priority.HIGH,
        status=CaseStatus.ASSIGNED,
        version=1,
        due_at=datetime.now(UTC) + timedelta(hours=24),
        policy_version="test",
        rule_id="scam",
    )
    await publisher.publish(event)

    async def recorded() -> bool:
        doc = await db.reports.find_one({"_id": report["_id"]}, {"case": 1})
        return bool(doc and doc.get("case", {}).get("case_id") == case_id)

    await wait_until(recorded, what="case recorded")


def url(
    file_id: str, case_id: str, agency: str, *, now: datetime | None = None, secret: bytes = SECRET
) -> str:
    link = signedlinks.issue(
        secret, case_id=case_id, file_id=file_id, agency=agency, now=now or datetime.now(UTC)
    )
    return f"/evidence/{file_id}?{link.query(secret)}"


async def test_only_the_holding_agency_opens_the_file_with_a_fresh_link(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    photo = photo_with_gps()
    report = await stored_report(intake_db, await submit(intake, [("ảnh 1.jpg", photo)]))
    file_id = report["report"]["evidence"][0]["file_id"]
    assert (await intake.get(url(file_id, "case-7", "police"))).status == 403  # no case yet
    await assign(
        report,
        await Publisher.open(amqp_connection, topology),
        intake_db,
        case_id="case-7",
        agency="police",
    )

    opened = await intake.get(url(file_id, "case-7", "police"))
    assert opened.status == 200
    assert await opened.read() == await stored_bytes(intake_db, file_id)
    assert opened.headers["Content-Type"] == "image/jpeg"
    assert opened.headers["X-Content-Type-Options"] == "nosniff"
    assert opened.headers["Cache-Control"] == "private, no-store"
    assert "default-src 'none'" in opened.headers["Content-Security-Policy"]
    assert opened.headers["Content-Disposition"].startswith("inline;")
    assert "filename*=UTF-8''%E1%BA%A3nh%201.jpg" in opened.headers["Content-Disposition"]

    refused = [
        url(file_id, "case-7", "culture_office"),  # another agency
        url(file_id, "case-8", "police"),  # a case the report does not belong to
        url(file_id, "case-7", "police", now=datetime.now(UTC) - timedelta(minutes=11)),  # expired
        url(file_id, "case-7", "police", secret=b"not-the-shared-secret-0123456789"),
        url("0" * 32, "case-7", "police"),  # no such file
        f"/evidence/{file_id}?case=case-7&agency=police",  # unsigned
    ]
    answers = [await intake.get(u) for u in refused]
    assert [a.status for a in answers] == [403] * len(refused)
    assert len({await a.text() for a in answers}) == 1  # never says which check failed


async def test_pdf_is_served_as_an_attachment(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    document = pdf()
    report = await stored_report(intake_db, await submit(intake, [("sao kê.pdf", document)]))
    file_id = report["report"]["evidence"][0]["file_id"]
    await assign(
        report,
        await Publisher.open(amqp_connection, topology),
        intake_db,
        case_id="case-9",
        agency="police",
    )
    opened = await intake.get(url(file_id, "case-9", "police"))
    assert opened.status == 200 and await opened.read() == document
    assert opened.headers["Content-Type"] == "application/pdf"
    assert opened.headers["Content-Disposition"].startswith("attachment;")


async def test_files_of_a_report_never_stored_are_swept_and_never_served(
    intake: Client, intake_db: MongoDatabase
) -> None:
    from services.intake.evidence import Upload, check

    later = datetime.now(UTC) + timedelta(hours=1)
    store = EvidenceStore(intake_db, clock=lambda: datetime.now(UTC))
    kept = await stored_report(intake_db, await submit(intake, [("a.png", screenshot())]))
    orphans = await store.store_pending([check(Upload(0, "b.png", screenshot()))], "never-stored")
    assert (await intake.get(url(orphans[0].file_id, "case-1", "police"))).status == 403
    await intake_db["evidence.files"].update_many({}, {"$set": {"metadata.status": "pending"}})

    store.clock = lambda: later
    assert await store.sweep() == 2
    remaining = [doc async for doc in intake_db["evidence.files"].find({})]
    assert [(d["_id"], d["metadata"]["status"]) for d in remaining] == [
        (kept["report"]["evidence"][0]["file_id"], "attached")
    ]
    assert await intake_db["evidence.chunks"].count_documents({"files_id": orphans[0].file_id}) == 0


async def test_report_part_may_come_as_a_file_as_curl_sends_it(
    intake: Client, intake_db: MongoDatabase
) -> None:
    form = aiohttp.FormData()
    body = json.dumps(valid_report()).encode()
    form.add_field(
        "report", io.BytesIO(body), filename="report.json", content_type="application/json"
    )
    form.add_field("evidence", io.BytesIO(screenshot("WEBP")), filename="shot.webp")
    report = await stored_report(intake_db, await intake.post("/api/v1/reports", data=form))
    assert [f["content_type"] for f in report["report"]["evidence"]] == ["image/webp"]


async def test_the_index_earlier_versions_kept_on_file_ids_is_dropped_at_start(
    intake_db: MongoDatabase,
) -> None:
    await intake_db.reports.create_index([("report.evidence.file_id", ASCENDING)], sparse=True)
    assert FILE_IDS_INDEX in await intake_db.reports.index_information()
    store = EvidenceStore(intake_db, clock=lambda: datetime.now(UTC))

    await store.ensure_indexes()
    await store.ensure_indexes()  # the next start finds none to drop

    assert FILE_IDS_INDEX not in await intake_db.reports.index_information()
