"""A reporter erases their contact with the tracking code: intake's copy goes at once, the
`report.contact_erased` event announces it, the status says so, a pending e-mail is dropped."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection

from services.common.amqp import Publisher, Topology
from services.common.contracts import ErasureReason, ReportContactErased
from services.common.csrf import CSRF_COOKIE
from services.common.mongo import MongoDatabase
from services.intake.settings import IntakeSettings
from tests.helpers import QueueProbe, wait_until
from tests.integration.intake.conftest import intake_mailing_to, valid_report
from tests.integration.intake.decision_events import (
    Client,
    assigned,
    decided,
    public_decision,
    submitted,
)
from tests.smtp import SmtpInbox, smtp_server

pytestmark = pytest.mark.integration

CONFIRMED = {"confirm": True}


async def _erase(intake: Client, code: str, body: Any = CONFIRMED) -> tuple[int, Any]:
    reply = await intake.post(f"/api/v1/reports/{code}/erase-contact", json=body)
    return reply.status, await reply.json()


async def _status(intake: Client, code: str) -> dict[str, Any]:
    body: dict[str, Any] = await (await intake.get(f"/api/v1/reports/{code}")).json()
    return body


async def test_the_api_erases_the_contact_announces_it_and_refuses_a_second_time(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "report.contact_erased")
    report = await submitted(intake, intake_db)
    code = report["tracking_code"]
    before = await _status(intake, code)
    assert before["can_erase_contact"] is True and before["contact_erased_at"] is None

    for refused in ({}, {"confirm": False}, {"confirm": True, "also": 1}):
        status, body = await _erase(intake, code, refused)
        assert status == 422, refused
        assert {e["field"] for e in body["error"]["errors"]} & {"confirm", "also"}
    assert (await _erase(intake, "AAAA-BBBB-CCCC"))[0] == 404
    stored = await intake_db.reports.find_one({"_id": report["_id"]})
    assert stored is not None and stored["report"]["contact_sealed"]  # nothing erased yet

    status, body = await _erase(intake, code.lower().replace("-", " "))
    assert status == 200, body
    assert body["tracking_code"] == code and body["reason"] == "reporter_request"
    stored = await intake_db.reports.find_one({"_id": report["_id"]})
    assert stored is not None and not {"contact", "contact_sealed"} & set(stored["report"])
    assert stored["contact_erased_at"] is not None
    assert stored["contact_erasure_reason"] == "reporter_request"
    assert stored["report"]["description"] == report["report"]["description"]  # report kept

    (event,) = await probe.wait_for(1)
    assert isinstance(event, ReportContactErased)
    assert event.report_id == report["_id"] and event.tracking_code == code
    assert event.reason is ErasureReason.REPORTER_REQUEST
    assert "nguyen" not in event.model_dump_json().lower()  # the event carries no contact

    again, refused_body = await _erase(intake, code)
    assert again == 409
    assert refused_body["error"]["errors"][0]["type"] == "already_erased"
    after = await _status(intake, code)
    assert after["can_erase_contact"] is False
    assert after["contact_erased_at"] == body["contact_erased_at"]
    assert after["contact_erasure_reason"] == "reporter_request"
    page = await (await intake.get(f"/status/{code}")).text()
    assert "Thông tin liên hệ của bạn đã được xóa lúc" in page
    assert 'id="erase-form"' not in page
    assert await probe.flush() == [event]  # the refusal announced nothing


async def test_a_report_sent_without_contact_has_nothing_to_erase(
    intake: Client, intake_db: MongoDatabase
) -> None:
    body = valid_report(anonymous=True)
    del body["contact"]
    reply = await intake.post("/api/v1/reports", json=body)
    assert reply.status == 201, await reply.text()
    code = (await reply.json())["tracking_code"]
    status, body = await _erase(intake, code)
    assert status == 409 and body["error"]["errors"][0]["type"] == "nothing_to_erase"
    assert (await _status(intake, code))["can_erase_contact"] is False
    page = await (await intake.get(f"/status/{code}?lang=en")).text()
    assert "This report was sent without contact details." in page
    stored = await intake_db.reports.find_one({"tracking_code": code})
    assert stored is not None and "contact_erased_at" not in stored


def _form_token(page: str) -> str:
    match = re.search(
        r'id="erase-form">\s*<input type="hidden" name="csrf_token" value="(\w+)"', page
    )
    assert match, "the erase form and its CSRF token"
    return match.group(1)


async def test_the_status_page_form_erases_after_the_box_is_ticked_then_confirms(
    intake: Client, intake_db: MongoDatabase
) -> None:
    report = await submitted(intake, intake_db)
    code = report["tracking_code"]
    page = await intake.get(f"/status/{code}")
    text = await page.text()
    assert "Việc xóa không thể hoàn tác." in text and "Xóa thông tin liên hệ của tôi" in text
    assert page.cookies.get(CSRF_COOKIE) is not None
    token = _form_token(text)
    action = f"/status/{code}/erase-contact?lang=vi"

    forged = await intake.post(action, data={"csrf_token": "0" * 64, "confirm": "yes"})
    assert forged.status == 403
    unticked = await intake.post(action, data={"csrf_token": token})
    assert unticked.status == 422
    assert "Vui lòng đánh dấu vào ô để xác nhận" in await unticked.text()
    stored = await intake_db.reports.find_one({"_id": report["_id"]})
    assert stored is not None and stored["report"]["contact_sealed"]  # still held

    done = await intake.post(
        action, data={"csrf_token": token, "confirm": "yes"}, allow_redirects=False
    )
    assert done.status == 303
    assert done.headers["Location"] == f"/status/{code}?lang=vi&erased=1"
    shown = await (await intake.get(done.headers["Location"])).text()
    assert "Thông tin liên hệ của bạn đã được xóa lúc" in shown
    stored = await intake_db.reports.find_one({"_id": report["_id"]})
    assert stored is not None and not {"contact", "contact_sealed"} & set(stored["report"])

    again = await intake.post(action, data={"csrf_token": token, "confirm": "yes"})
    assert again.status == 409
    assert "đã được xóa trước đó" in await again.text()


@pytest.fixture
def refusing_smtp() -> Iterator[tuple[SmtpInbox, int]]:
    with smtp_server(refusals=1000) as running:  # every attempt refused for now (451)
        yield running


@pytest.fixture
async def mailing_intake(
    intake_settings: IntakeSettings, refusing_smtp: tuple[SmtpInbox, int]
) -> AsyncIterator[Client]:
    """Intake whose decision e-mails are refused and retried only after an hour."""
    async with intake_mailing_to(intake_settings, refusing_smtp[1], retry_seconds=3600) as client:
        yield client


async def test_a_decision_e_mail_waiting_for_a_retry_is_dropped_by_the_erasure(
    mailing_intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
    refusing_smtp: tuple[SmtpInbox, int],
) -> None:
    report = await submitted(mailing_intake, intake_db)
    publisher = await Publisher.open(amqp_connection, topology)
    await publisher.publish(assigned(report))
    await publisher.publish(decided(report, 2, public_decision(datetime.now(UTC))))

    async def retrying() -> dict[str, Any] | None:
        mail = await intake_db.mails.find_one({"report_id": report["_id"]})
        return mail if mail and mail["attempts"] == 1 else None

    pending = await wait_until(retrying, what="the decision e-mail refused once")
    assert pending["status"] == "pending"
    status, _ = await _erase(mailing_intake, report["tracking_code"])
    assert status == 200
    mail = await intake_db.mails.find_one({"report_id": report["_id"]})
    assert mail is not None and mail["status"] == "dropped"
    assert mail["log"][-1]["result"] == "dropped"
    assert not refusing_smtp[0].messages
