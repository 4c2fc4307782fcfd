"""Alert delivery: signed webhooks retried against a flaky receiver, e-mail to an SMTP server."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.common.contracts import CaseEscalated, Priority
from services.common.embedded import free_port
from services.common.mongo import MongoDatabase
from services.notify.channels import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)
from services.notify.settings import NotifySettings
from services.notify.signing import decode_secret
from tests.helpers import escalation_event, post_endpoint, wait_until
from tests.integration.notify.conftest import (
    NEXT_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    Cases,
    short_policy,
    start_notify,
)
from tests.smtp import SmtpInbox
from tests.smtp import smtp_server as running_smtp_server

pytestmark = pytest.mark.integration


@dataclass
class FlakyReceiver:
    """A webhook endpoint that answers 503 to the first `failures` requests, then 200."""

    failures: int
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        if len(self.requests) <= self.failures:
            return web.Response(status=503, text="busy")
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[FlakyReceiver, str]]:
    flaky = FlakyReceiver(failures=2)
    async with post_endpoint("/hook", flaky.handle) as url:
        yield flaky, url


async def alert_of(db: MongoDatabase, case_id: str, level: int = 1) -> dict[str, Any] | None:
    return await db.alerts.find_one({"case_id": case_id, "level": level})


def delivery(alert: dict[str, Any], channel: str) -> dict[str, Any]:
    return next(d for d in alert["deliveries"] if d["channel"] == channel)


async def test_webhook_alert_is_signed_and_retried_until_delivered(
    notify_settings: NotifySettings,
    cases: Cases,
    notify_db: MongoDatabase,
    receiver: tuple[FlakyReceiver, str],
) -> None:
    flaky, url = receiver
    policy = short_policy(f'webhook = "{url}"')
    client = await start_notify(notify_settings, policy)
    try:
        case = await cases.assign(due_in=0.1)

        async def delivered() -> dict[str, Any] | None:
            alert = await alert_of(notify_db, case.case_id)
            return alert if alert and delivery(alert, "webhook")["status"] == "delivered" else None

        alert = await wait_until(delivered, timeout=20, what="the webhook delivered")
    finally:
        await client.close()
    assert delivery(alert, "webhook")["attempts"] == 3
    level_one = [(h, b) for h, b in flaky.requests if b'"level":1' in b]
    assert len(level_one) == 3
    for headers, body in level_one:
        Webhook(WEBHOOK_SECRET).verify(body, headers)
        # The same id on every retry, so a receiver drops duplicates.
        assert headers["webhook-id"] == alert["_id"]
        # Deprecated headers, still sent for one release, keyed with the newest key.
        assert headers[EVENT_ID_HEADER] == alert["_id"]
        assert verify_signature(
            decode_secret(WEBHOOK_SECRET, setting="test"),
            headers[TIMESTAMP_HEADER],
            body,
            headers[SIGNATURE_HEADER],
            now=time.time(),
        )
    headers, body = level_one[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(NEXT_WEBHOOK_SECRET).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(WEBHOOK_SECRET).verify(body + b" ", headers)
    payload = json.loads(body)
    assert payload.pop("target") == "police-supervisor"
    assert payload.pop("case_url").endswith(f"/console/cases/{case.case_id}")
    # Added since alerts had kinds (fields are only ever added): kind, clock and summary.
    assert payload.pop("kind") == "escalation" and payload["clock"] == "internal"
    assert payload.pop("summary").startswith("[Cảnh báo cấp 1]")
    sent = CaseEscalated.model_validate(payload)
    assert sent.case_id == case.case_id and sent.level == 1


async def test_a_webhook_that_never_recovers_is_given_up_and_recorded_as_failed(
    notify_settings: NotifySettings, cases: Cases, notify_db: MongoDatabase
) -> None:
    settings = notify_settings.model_copy(update={"delivery_give_up_seconds": 1.0})
    dead_url = f"http://127.0.0.1:{free_port()}/hook"
    client = await start_notify(settings, short_policy(f'webhook = "{dead_url}"'))
    try:
        case = await cases.assign(due_in=0.1)

        async def failed() -> dict[str, Any] | None:
            alert = await alert_of(notify_db, case.case_id)
            return alert if alert and delivery(alert, "webhook")["status"] == "failed" else None

        alert = await wait_until(failed, timeout=20, what="the webhook given up")
    finally:
        await client.close()
    webhook = delivery(alert, "webhook")
    assert webhook["attempts"] >= 2 and "ClientConnectorError" in webhook["last_error"]
    assert "next_attempt_at" not in alert or alert.get("next_attempt_at") is None
    assert delivery(alert, "amqp")["status"] == "delivered"


@pytest.fixture
def smtp_server() -> Iterator[tuple[SmtpInbox, int]]:
    with running_smtp_server(refusals=1) as running:
        yield running


async def test_email_alert_reaches_the_smtp_server_in_vietnamese_and_english(
    notify_settings: NotifySettings,
    cases: Cases,
    notify_db: MongoDatabase,
    smtp_server: tuple[SmtpInbox, int],
) -> None:
    inbox, port = smtp_server
    settings = notify_settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    client = await start_notify(settings, short_policy('email = ["giamsat@example.gov.vn"]'))
    try:
        case = await cases.assign(due_in=0.1)

        async def delivered() -> dict[str, Any] | None:
            alert = await alert_of(notify_db, case.case_id)
            return alert if alert and delivery(alert, "email")["status"] == "delivered" else None

        alert = await wait_until(delivered, timeout=20, what="the e-mail delivered")
    finally:
        await client.close()
    assert delivery(alert, "email")["attempts"] == 2  # the first was refused with 451
    message = next(m for m in inbox.messages if "cấp 1" in str(m["Subject"]))
    assert str(message["Subject"]) == (
        f"[Cảnh báo cấp 1] Vụ việc {case.tracking_code} quá hạn xử lý (hạn nội bộ)"
        f" / Level 1 escalation: case {case.tracking_code} overdue (internal deadline)"
    )
    assert message["X-Incidents-Alert-Kind"] == "escalation"
    assert message["X-Incidents-Clock"] == "internal"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "Lừa đảo" in text and "English: case" in text
    assert f"/console/cases/{case.case_id}" in text
    assert inbox.recipients[0] == ["giamsat@example.gov.vn"]


async def test_without_an_smtp_server_email_deliveries_are_recorded_as_skipped(
    notify_settings: NotifySettings, cases: Cases, notify_db: MongoDatabase
) -> None:
    client = await start_notify(notify_settings, short_policy('email = ["giamsat@example.gov.vn"]'))
    try:
        case = await cases.assign(due_in=0.1)
        alert = await wait_until(lambda: alert_of(notify_db, case.case_id), what="the alert")
    finally:
        await client.close()
    assert [(d["channel"], d["status"]) for d in alert["deliveries"]] == [
        ("amqp", "delivered"),
        ("email", "skipped"),
    ]
    assert "NOTIFY_SMTP_HOST" in delivery(alert, "email")["last_error"]


def stale_escalation() -> CaseEscalated:
    return escalation_event(
        escalated_at=datetime.now(UTC) - timedelta(hours=2),
        overdue=timedelta(hours=1),
        targets=["police-supervisor"],
        event_id="old-alert",
        case_id="old-case",
        report_id="old-report",
        tracking_code="OLD-CASE",
        priority=Priority.HIGH,
    )


async def test_an_alert_older_than_the_give_up_time_is_never_sent_late(
    notify_settings: NotifySettings,
    notify_db: MongoDatabase,
    receiver: tuple[FlakyReceiver, str],
) -> None:
    flaky, url = receiver
    flaky.failures = 0
    settings = notify_settings.model_copy(update={"delivery_give_up_seconds": 60.0})
    client = await start_notify(settings, short_policy(f'webhook = "{url}"'))
    try:
        # As if recorded long ago and never delivered (the notifier was down meanwhile).
        await notify_db.alerts.insert_one(
            {
                "_id": "old-alert",
                "case_id": "old-case",
                "recorded_at": datetime.now(UTC) - timedelta(hours=2),
                "next_attempt_at": datetime.now(UTC),
                "event": stale_escalation().model_dump_json(),
                "deliveries": [
                    {
                        "target": "police-supervisor",
                        "channel": "webhook",
                        "address": url,
                        "status": "pending",
                        "attempts": 0,
                        "last_error": None,
                        "delivered_at": None,
                        "next_attempt_at": datetime.now(UTC),
                    }
                ],
            }
        )

        async def given_up() -> dict[str, Any] | None:
            alert = await notify_db.alerts.find_one({"_id": "old-alert"})
            return alert if alert and delivery(alert, "webhook")["status"] == "failed" else None

        alert = await wait_until(given_up, what="the stale alert given up")
    finally:
        await client.close()
    assert delivery(alert, "webhook")["last_error"].startswith("expired")
    assert delivery(alert, "webhook")["attempts"] == 0
    assert flaky.requests == []
