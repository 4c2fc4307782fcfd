"""A decision reaches the reporter: on the status page, in the API, and once by e-mail."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection

from services.common.amqp import Publisher, Topology
from services.common.contracts import AppealResult
from services.common.mongo import MongoDatabase
from services.intake.settings import IntakeSettings
from tests.helpers import wait_until
from tests.integration.intake.conftest import intake_mailing_to
from tests.integration.intake.decision_events import (
    EXPLANATION,
    Client,
    assigned,
    decided,
    public_decision,
    reviewed,
    status_when,
    submitted,
)
from tests.smtp import SmtpInbox, smtp_server

pytestmark = pytest.mark.integration


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[SmtpInbox, int]]:
    with smtp_server(refusals=1) as running:
        yield running


@pytest.fixture
async def mailing_intake(
    intake_settings: IntakeSettings, smtp_inbox: tuple[SmtpInbox, int]
) -> AsyncIterator[Client]:
    """Intake sending decision e-mails to the test's SMTP server, retrying after 0.2 s."""
    async with intake_mailing_to(intake_settings, smtp_inbox[1], retry_seconds=0.2) as client:
        yield client


async def _mail_of(db: MongoDatabase, report_id: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        mail = await db.mails.find_one({"report_id": report_id})
        return mail if mail and mail["status"] == status else None

    return await wait_until(probe, what=f"the decision e-mail {status}")


async def test_a_decision_shows_on_the_status_page_and_is_mailed_once_despite_a_refusal(
    mailing_intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
    smtp_inbox: tuple[SmtpInbox, int],
) -> None:
    inbox, _ = smtp_inbox
    report = await submitted(mailing_intake, intake_db)
    code = report["tracking_code"]
    publisher = await Publisher.open(amqp_connection, topology)
    decided_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    resolve = decided(report, 2, public_decision(decided_at))
    await publisher.publish(assigned(report))
    await publisher.publish(resolve)

    body = await status_when(mailing_intake, code, lambda b: b["decision"] is not None)
    assert body["status"] == "resolved"
    decision = body["decision"]
    assert decision["outcome"] == "removed_by_platform"
    assert decision["outcome_label"] == "The platform removed the content"
    assert decision["explanation"] == EXPLANATION and decision["automated"] is False
    assert decision["can_appeal"] is True
    assert "internal" not in str(body)  # the officer's note never reaches the reporter

    page = await (await mailing_intake.get(f"/status/{code}")).text()
    assert "Nền tảng đã gỡ bỏ nội dung" in page and EXPLANATION in page
    assert "Nghị định 147/2024/NĐ-CP, Điều 8" in page
    assert "không được đưa ra bằng phương tiện tự động" in page
    assert 'id="appeal-form"' in page

    mail = await _mail_of(intake_db, report["_id"], "sent")
    assert mail["attempts"] == 2  # the first was refused with 451, then retried
    assert [step["result"] for step in mail["log"]] == ["retry", "sent"]
    assert "451" in mail["log"][0]["error"]
    (message,) = inbox.messages
    assert inbox.recipients == [["nguyen.thi.b@example.com"]]
    assert str(message["Subject"]) == f"Kết quả xử lý phản ánh {code}"
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert EXPLANATION in text.get_content() and f"/status/{code}?lang=vi" in text.get_content()

    # The same event again, and a later one carrying the same decision: nothing new is sent.
    await publisher.publish(resolve)
    await publisher.publish(decided(report, 3, public_decision(decided_at), action="note"))
    await status_when(mailing_intake, code, lambda b: len(b["history"]) >= 1)

    async def followed() -> bool:
        state = await intake_db.case_states.find_one({"_id": f"case-of-{report['_id']}"})
        return state is not None and state["version"] == 3

    await wait_until(followed, what="the later event applied")
    assert await intake_db.mails.count_documents({"report_id": report["_id"]}) == 1
    assert len(inbox.messages) == 1

    # The review of an appeal is a decision of its own: the reporter receives its result.
    await publisher.publish(reviewed(report, 4, AppealResult.UPHELD))
    await wait_until(lambda: _count(intake_db, report["_id"], "sent", 2), what="the review mail")
    review = inbox.messages[-1]
    assert str(review["Subject"]) == f"Kết quả xem xét lại khiếu nại của bạn, phản ánh {code}"
    review_text = review.get_body(preferencelist=("plain",))
    assert review_text is not None and "giữ nguyên quyết định trước" in review_text.get_content()


async def _count(db: MongoDatabase, report_id: str, status: str, count: int) -> bool:
    return await db.mails.count_documents({"report_id": report_id, "status": status}) == count


async def test_an_unreadable_mail_document_is_quarantined_and_others_still_go(
    mailing_intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
    smtp_inbox: tuple[SmtpInbox, int],
) -> None:
    inbox, _ = smtp_inbox
    now = datetime.now(UTC)
    await intake_db.mails.insert_one(
        {"_id": "broken", "status": "pending", "next_attempt_at": now, "decision": "?"}
    )
    report = await submitted(mailing_intake, intake_db)
    publisher = await Publisher.open(amqp_connection, topology)
    await publisher.publish(assigned(report))
    await publisher.publish(decided(report, 2, public_decision(now)))

    await _mail_of(intake_db, report["_id"], "sent")
    broken = await intake_db.mails.find_one({"_id": "broken"})
    assert broken is not None and broken["status"] == "quarantined"
    assert len(inbox.messages) == 1


async def test_without_an_smtp_server_no_mail_is_queued(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    report = await submitted(intake, intake_db)
    publisher = await Publisher.open(amqp_connection, topology)
    await publisher.publish(assigned(report))
    await publisher.publish(decided(report, 2, public_decision(datetime.now(UTC))))
    await status_when(intake, report["tracking_code"], lambda b: b["decision"] is not None)
    assert await intake_db.mails.count_documents({}) == 0
