"""Alert channels: HMAC-signed webhooks and e-mail over SMTP.

Webhook receivers verify an alert like this (see `verify_signature`):
`X-Incidents-Signature` is `sha256=` + hex HMAC-SHA256, keyed with the shared secret, over the
bytes `<X-Incidents-Timestamp>.` followed by the raw request body; reject it if the signature
differs (compare in constant time) or the timestamp is more than five minutes away from now.
`X-Incidents-Event-Id` is the same on every retry of one alert: use it to drop duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiohttp
import aiosmtplib

from services.common.contracts import CaseEscalated
from services.common.labels import category_name

SIGNATURE_HEADER = "X-Incidents-Signature"
TIMESTAMP_HEADER = "X-Incidents-Timestamp"
EVENT_ID_HEADER = "X-Incidents-Event-Id"
MAX_SKEW_SECONDS = 300


class DeliveryError(Exception):
    """An attempt failed; `permanent` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp` (Unix seconds)."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: bytes, timestamp: str, body: bytes, signature: str, *, now: float
) -> bool:
    """What a receiver checks: a fresh timestamp and a matching signature."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    fresh = abs(now - sent) <= MAX_SKEW_SECONDS
    return fresh and hmac.compare_digest(sign(secret, sent, body), signature)


@dataclass(frozen=True)
class WebhookSender:
    """Posts an alert's JSON body to a URL, signed; a non-2xx answer is a failed attempt."""

    session: aiohttp.ClientSession
    secret: bytes
    timeout_seconds: float

    async def send(self, url: str, event_id: str, body: bytes, *, now: float) -> None:
        """One delivery attempt; raises DeliveryError when it did not succeed."""
        timestamp = int(now)
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: event_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
        }
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        try:
            async with self.session.post(url, data=body, headers=headers, timeout=timeout) as reply:
                if 200 <= reply.status < 300:
                    return
                permanent = 400 <= reply.status < 500 and reply.status not in (408, 429)
                raise DeliveryError(f"HTTP {reply.status}", permanent=permanent)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send e-mail."""

    host: str
    port: int
    starttls: bool
    username: str | None
    password: str | None
    sender: str
    timeout_seconds: float


def alert_email(
    event: CaseEscalated, recipients: list[str], sender: str, case_url: str
) -> EmailMessage:
    """The alert e-mail: Vietnamese first, with an English line, and the case link."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = (
        f"[Cảnh báo cấp {event.level}] Vụ việc {event.tracking_code} quá hạn xử lý"
        f" / Level {event.level} escalation: case {event.tracking_code} overdue"
    )
    hours = event.overdue_by_seconds / 3600
    category_vi = category_name(event.category.value, "vi")
    message["X-Incidents-Event-Id"] = event.event_id
    message.set_content(
        "\n".join(
            [
                f"Vụ việc {event.tracking_code} ({category_vi})"
                f" do {event.agency} xử lý đã quá hạn {hours:.1f} giờ"
                f" (hạn: {event.due_at.isoformat()}). Trạng thái: {event.status.value}."
                f" Mức cảnh báo: {event.level}.",
                f"Xem vụ việc: {case_url}",
                "",
                f"English: case {event.tracking_code} ({event.category.value}) held by"
                f" {event.agency} is {hours:.1f} h past its deadline; escalation level"
                f" {event.level}. Open it at {case_url}",
            ]
        )
    )
    return message


async def send_email(settings: SmtpSettings, message: EmailMessage) -> None:
    """One SMTP delivery attempt; raises DeliveryError when it did not succeed."""
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.host,
            port=settings.port,
            start_tls=settings.starttls,
            username=settings.username,
            password=settings.password,
            timeout=settings.timeout_seconds,
        )
    except aiosmtplib.SMTPResponseException as exc:
        raise DeliveryError(
            f"SMTP {exc.code}: {exc.message}", permanent=500 <= exc.code < 600
        ) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


def webhook_body(event: CaseEscalated, target: str, case_url: str) -> bytes:
    """The JSON a webhook receives: the event, the target it is sent to, and the case link."""
    payload: dict[str, Any] = json.loads(event.model_dump_json())
    payload["target"] = target
    payload["case_url"] = case_url
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
