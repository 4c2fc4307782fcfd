"""Alert channels: signed webhooks, PagerDuty's Events API v2, and e-mail over SMTP.

Webhook alerts follow the Standard Webhooks specification (https://www.standardwebhooks.com).
A receiver holding the secret (`whsec_<base64 key>`, the form `NOTIFY_WEBHOOK_SECRETS` takes)
verifies each request with the `standardwebhooks` package, over the raw body:

    payload = Webhook(secret).verify(body, request.headers)  # raises WebhookVerificationError

which checks `webhook-signature` (`v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.
<body>">`; during a secret rotation several, separated by spaces, and one matching is enough)
and that `webhook-timestamp` is within five minutes of now. `webhook-id` is the alert's id,
the same on every retry and manual re-send of one alert: use it to drop duplicates. A
deployment still configured with the older `NOTIFY_WEBHOOK_SECRET` signs with that string's
UTF-8 bytes as the key: receivers verify with `Webhook(secret.encode())` (or the `whsec_`
form, `encode_secret`).

Deprecated, sent for one more release: `X-Incidents-Signature` (`sha256=` + hex HMAC-SHA256,
keyed with `NOTIFY_WEBHOOK_SECRET`, or the newest key when only `NOTIFY_WEBHOOK_SECRETS` is
set, over `<X-Incidents-Timestamp>.` followed by the body; see `verify_signature`) and
`X-Incidents-Event-Id` (equal to `webhook-id`). Move receivers to the headers above.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiohttp
import aiosmtplib

from services.common.contracts import CaseEscalated
from services.common.labels import category_name
from services.notify.signing import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SigningKeys,
    sign,
    verify_signature,
)

__all__ = [
    "EVENT_ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "DeliveryError",
    "HttpSender",
    "SmtpSettings",
    "WebhookSender",
    "alert_email",
    "send_email",
    "sign",
    "verify_signature",
    "webhook_body",
]

JSON_HEADERS = {"Content-Type": "application/json"}


class DeliveryError(Exception):
    """An attempt failed; `permanent` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class HttpSender:
    """Posts JSON bodies; a non-2xx answer is a failed attempt (a 4xx other than 408 and 429
    a permanent one)."""

    session: aiohttp.ClientSession
    timeout_seconds: float

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        """One delivery attempt; raises DeliveryError when it did not succeed."""
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        sent = {**JSON_HEADERS, **headers}
        try:
            async with self.session.post(url, data=body, headers=sent, timeout=timeout) as reply:
                if 200 <= reply.status < 300:
                    return
                permanent = 400 <= reply.status < 500 and reply.status not in (408, 429)
                raise DeliveryError(f"HTTP {reply.status}", permanent=permanent)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True)
class WebhookSender:
    """Posts an alert's JSON body to a URL, signed with every current key."""

    http: HttpSender
    keys: SigningKeys

    async def send(self, url: str, message_id: str, body: bytes, *, now: float) -> None:
        """One delivery attempt; raises DeliveryError when it did not succeed."""
        await self.http.post(url, body, self.keys.headers(message_id, body, now=now))


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
