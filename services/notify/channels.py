"""Alert channels: signed webhooks, PagerDuty's Events API v2, and e-mail over SMTP.

Every kind of alert (an escalation, a pre-breach warning, a platform past the legal deadline
of a takedown request) goes out the same way; the e-mail and the webhook body say which kind
and which clock (internal: working time on the agency's calendar; legal: calendar time).

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

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp

from services.common.contracts import CaseEscalated, CaseWarning, DeadlineClock
from services.common.labels import category_name
from services.common.mail import MailError, MailServer, send_mail
from services.notify.clocks import AlertEvent, alert_clock, alert_kind
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
    "SendLimits",
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


@dataclass
class SendLimits:
    """At most `concurrency` sends at once, `per_host` of them to any one host."""

    concurrency: int = 64
    per_host: int = 16
    _all: asyncio.Semaphore = field(init=False)
    _hosts: defaultdict[str, asyncio.Semaphore] = field(init=False)

    def __post_init__(self) -> None:
        self._all = asyncio.Semaphore(self.concurrency)
        self._hosts = defaultdict(lambda: asyncio.Semaphore(self.per_host))

    @asynccontextmanager
    async def slot(self, delivery: dict[str, Any]) -> AsyncIterator[None]:
        """Hold a place to send `delivery` (its host's, then one of all)."""
        async with self._hosts[host_of(delivery)], self._all:
            yield


def host_of(delivery: dict[str, Any]) -> str:
    """What the per-host limit counts a delivery against: its URL's host, or its channel."""
    address = str(delivery.get("address", ""))
    host = urlsplit(address).netloc if "://" in address else ""
    return host or str(delivery.get("channel"))


CLOCK_VI = {
    DeadlineClock.INTERNAL: "thời hạn xử lý nội bộ (tính theo giờ làm việc)",
    DeadlineClock.LEGAL: "thời hạn theo quy định pháp luật",
}
CLOCK_EN = {
    DeadlineClock.INTERNAL: "internal deadline (working hours)",
    DeadlineClock.LEGAL: "legal deadline",
}
CLOCK_SHORT_VI = {DeadlineClock.INTERNAL: "hạn nội bộ", DeadlineClock.LEGAL: "hạn theo luật"}
LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def local_time(moment: datetime) -> str:
    """`16:30 27/11/2026` in Vietnam's time, as people there read it."""
    return moment.astimezone(LOCAL_ZONE).strftime("%H:%M %d/%m/%Y")


def alert_subject(event: AlertEvent) -> str:
    """The alert's one-line summary, Vietnamese first, then English."""
    code = event.tracking_code
    if isinstance(event, CaseEscalated):
        return (
            f"[Cảnh báo cấp {event.level}] Vụ việc {code} quá hạn xử lý"
            f" ({CLOCK_SHORT_VI[event.clock]}) / Level {event.level} escalation: case {code}"
            f" overdue ({event.clock.value} deadline)"
        )
    if isinstance(event, CaseWarning):
        percent = round(event.share * 100)
        return (
            f"[Nhắc hạn {percent}%] Vụ việc {code} đã dùng {percent}% {CLOCK_VI[event.clock]}"
            f" / Warning: case {code} has used {percent}% of its {CLOCK_EN[event.clock]}"
        )
    return (
        f"[Nền tảng quá hạn] {event.platform} chưa trả lời yêu cầu của vụ việc {code} đúng hạn"
        f" / Platform overdue: {event.platform} has not answered the request on case {code}"
        " within its legal deadline"
    )


def alert_text(event: AlertEvent, case_url: str) -> list[str]:
    """The body's lines: what happened and by when, in Vietnamese, then in English."""
    category_vi = category_name(event.category.value, "vi")
    who = f"Vụ việc {event.tracking_code} ({category_vi}) do {event.agency} xử lý"
    who_en = f"case {event.tracking_code} ({event.category.value}) held by {event.agency}"
    if isinstance(event, CaseEscalated):
        hours = event.overdue_by_seconds / 3600
        vi = (
            f"{who} đã quá {CLOCK_VI[event.clock]} {hours:.1f} giờ (hạn: {local_time(event.due_at)}"
            f" giờ Việt Nam). Trạng thái: {event.status.value}. Mức cảnh báo: {event.level}."
        )
        en = (
            f"{who_en} is {hours:.1f} h past its {CLOCK_EN[event.clock]};"
            f" escalation level {event.level}."
        )
    elif isinstance(event, CaseWarning):
        percent = round(event.share * 100)
        vi = (
            f"{who} đã dùng {percent}% {CLOCK_VI[event.clock]}; hạn: {local_time(event.due_at)}"
            f" (giờ Việt Nam). Trạng thái: {event.status.value}. Đây là nhắc hạn, chưa quá hạn."
        )
        en = (
            f"{who_en} has used {percent}% of its {CLOCK_EN[event.clock]}, due"
            f" {event.due_at.isoformat()}: a warning before the deadline, not an escalation."
        )
    else:
        hours = event.overdue_by_seconds / 3600
        vi = (
            f"{who}: nền tảng {event.platform} chưa trả lời yêu cầu {event.request_id}"
            f" (gửi lúc {local_time(event.sent_at)}) và đã quá {CLOCK_VI[DeadlineClock.LEGAL]}"
            f" {hours:.1f} giờ (hạn: {local_time(event.legal_due_at)} giờ Việt Nam)."
        )
        en = (
            f"{who_en}: {event.platform} has not answered request {event.request_id} (sent"
            f" {event.sent_at.isoformat()}) and is {hours:.1f} h past its legal deadline."
        )
    return [vi, f"Xem vụ việc: {case_url}", "", f"English: {en} Open it at {case_url}"]


def alert_email(
    event: AlertEvent, recipients: list[str], sender: str, case_url: str
) -> EmailMessage:
    """The alert e-mail: Vietnamese first, with an English line, and the case link."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = alert_subject(event)
    message["X-Incidents-Event-Id"] = event.event_id
    message["X-Incidents-Alert-Kind"] = alert_kind(event)
    message["X-Incidents-Clock"] = alert_clock(event).value
    message.set_content("\n".join(alert_text(event, case_url)))
    return message


async def send_email(server: MailServer, message: EmailMessage) -> None:
    """One SMTP delivery attempt (services.common.mail); DeliveryError when it did not succeed."""
    try:
        await send_mail(server, message)
    except MailError as exc:
        raise DeliveryError(str(exc), permanent=exc.permanent) from exc


def webhook_body(event: AlertEvent, target: str, case_url: str) -> bytes:
    """The JSON a webhook receives: the event (its `type` tells the kind), the target it is
    sent to, the case link, and added since alerts had kinds: `kind`, `clock` and `summary`
    (Vietnamese, then English). Fields are only ever added, never renamed."""
    payload: dict[str, Any] = json.loads(event.model_dump_json())
    payload["target"] = target
    payload["case_url"] = case_url
    payload["kind"] = alert_kind(event)
    payload["clock"] = alert_clock(event).value
    payload["summary"] = alert_subject(event)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
