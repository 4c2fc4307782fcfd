"""Intake's JSON API against a real broker and database."""

from __future__ import annotations

from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Topology
from services.common.contracts import ReportSubmitted
from services.common.mongo import MongoDatabase
from tests.helpers import QueueProbe, opened_contact
from tests.integration.intake.conftest import valid_report

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]


async def test_submitted_report_is_stored_and_announced(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "report.submitted")
    response = await intake.post("/api/v1/reports", json=valid_report())
    assert response.status == 201
    body = await response.json()
    code = body["tracking_code"]
    assert body["status"] == "received"
    assert body["links"]["status"].endswith(f"/api/v1/reports/{code}")

    stored = await intake_db.reports.find_one({"tracking_code": code})
    assert stored is not None
    contact = opened_contact(stored["report"], stored["_id"])
    assert contact is not None and contact.phone == "+84912345678"  # E.164

    (event,) = await probe.wait_for(1)
    assert isinstance(event, ReportSubmitted)
    assert event.tracking_code == code
    assert event.report_id == stored["_id"]
    assert event.category == "scam_fraud"
    assert event.content_urls == ["https://www.facebook.com/fake.lottery.page"]
    assert event.contact_sealed == stored["report"]["contact_sealed"]  # sealed on the wire
    assert "Nguyễn" not in probe.messages[0].body.decode() and b"912" not in probe.messages[0].body
    assert probe.messages[0].message_id == event.event_id


async def test_status_lookup_shows_received_without_contact(intake: Client) -> None:
    created = await (await intake.post("/api/v1/reports", json=valid_report())).json()
    response = await intake.get(f"/api/v1/reports/{created['tracking_code']}")
    assert response.status == 200
    status = await response.json()
    assert status["status"] == "received"
    assert status["category"] == "scam_fraud"
    assert status["agency"] is None
    assert "contact" not in status and status["can_erase_contact"] is True
    assert "Nguyễn Văn A" not in str(status) and "912" not in str(status)


async def test_unknown_or_malformed_tracking_code_is_404(intake: Client) -> None:
    assert (await intake.get("/api/v1/reports/AAAA-BBBB-CCCC")).status == 404
    assert (await intake.get("/api/v1/reports/1")).status == 404


async def test_tracking_codes_are_random_not_sequential(intake: Client) -> None:
    codes = [
        (await (await intake.post("/api/v1/reports", json=valid_report())).json())["tracking_code"]
        for _ in range(5)
    ]
    assert len(set(codes)) == 5
    assert sorted(codes) != codes or sorted(codes, reverse=True) != codes


async def test_same_idempotency_key_and_body_returns_the_first_report_once(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "report.submitted")
    headers = {"Idempotency-Key": "client-42-attempt"}
    first = await intake.post("/api/v1/reports", json=valid_report(), headers=headers)
    again = await intake.post("/api/v1/reports", json=valid_report(), headers=headers)
    assert first.status == again.status == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await first.json()) == (await again.json())
    assert await intake_db.reports.count_documents({}) == 1
    await probe.wait_for(1)
    other = await intake.post(
        "/api/v1/reports", json=valid_report(), headers={"Idempotency-Key": "x"}
    )
    assert other.status == 201
    await probe.wait_for(2)
    assert len({e.event_id for e in probe.events}) == 2


async def test_same_idempotency_key_with_another_body_is_409(
    intake: Client, intake_db: MongoDatabase
) -> None:
    headers = {"Idempotency-Key": "k-1"}
    assert (
        await intake.post("/api/v1/reports", json=valid_report(), headers=headers)
    ).status == 201
    response = await intake.post(
        "/api/v1/reports",
        json=valid_report(description="A different description here."),
        headers=headers,
    )
    assert response.status == 409
    assert await intake_db.reports.count_documents({}) == 1


async def test_categories_list_every_category_in_both_languages(intake: Client) -> None:
    body = await (await intake.get("/api/v1/categories")).json()
    codes = {c["code"] for c in body["categories"]}
    assert codes == {
        "hijacked_account",
        "impersonation",
        "scam_fraud",
        "false_information",
        "harmful_content",
        "confidential_leak",
        "member_misconduct",
    }
    assert all(c["name_vi"] and c["name_en"] for c in body["categories"])


async def test_openapi_document_describes_the_api_from_the_models(intake: Client) -> None:
    document = await (await intake.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    post = document["paths"]["/api/v1/reports"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ReportIn"
    )
    schema = document["components"]["schemas"]["ReportIn"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) >= {
        "category",
        "content_urls",
        "platform",
        "description",
        "anonymous",
    }
    assert "422" in post["responses"] and "429" in post["responses"]


async def test_health_ready_and_metrics(intake: Client) -> None:
    assert (await intake.get("/healthz")).status == 200
    ready = await (await intake.get("/readyz")).json()
    assert ready["checks"] == {
        "database": True,
        "broker": True,
        "broker-policies": True,
        "loop:outbox-relay": True,
        "loop:outbox-relay-backlog": True,
        "loop:evidence-sweep": True,
        "loop:retention": True,
    }
    await intake.post("/api/v1/reports", json=valid_report())
    metrics = await (await intake.get("/metrics")).text()
    assert "intake_reports_accepted_total" in metrics
    assert "outbox_publish_latency_seconds" in metrics
