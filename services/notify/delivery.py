"""Delivers recorded alerts (escalations, warnings, platforms past their deadline) to their
webhook, PagerDuty and e-mail targets, retrying with back-off; a PagerDuty trigger whose case
has closed meanwhile is skipped, never sent late."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from services.common import tracing
from services.common.clock import Clock
from services.common.contracts import CaseEscalated
from services.common.mail import MailServer
from services.common.mongo import TRANSIENT_MONGO_ERRORS
from services.common.runtime import raise_if_cancelling, woken
from services.notify import telemetry
from services.notify.alerts import RESOLUTION, AlertEvent, AlertLog, parse_alert_event
from services.notify.channels import (
    DeliveryError,
    HttpSender,
    WebhookSender,
    alert_email,
    send_email,
    webhook_body,
)
from services.notify.pagerduty import RESOLVE, resolve_body, trigger_body
from services.notify.retry import (
    FAILED,
    RetryPolicy,
    after_failure,
    attempted,
    delivered,
    expired,
    is_due,
    retry_start,
    skipped,
    too_old,
)

__all__ = ["CONCURRENCY", "LEASE", "Deliverer", "RetryPolicy"]

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
CONCURRENCY = 8


@dataclass
class Deliverer:
    """Leases due alerts and attempts their pending deliveries."""

    alerts: AlertLog
    webhooks: WebhookSender | None
    pagerduty: HttpSender
    smtp: MailServer | None
    retry: RetryPolicy
    case_url: str
    clock: Clock
    case_closed: Callable[[str], Awaitable[bool]]
    poll_seconds: float = 0.5

    def __post_init__(self) -> None:
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New alerts were recorded."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled."""
        while True:
            # Cleared before looking, so a wake during the round cuts the next wait short.
            self._wake.clear()
            try:
                handled = await self.deliver_due()
            except TRANSIENT_MONGO_ERRORS as exc:
                raise_if_cancelling()
                log.warning("alert delivery paused", extra={"error": repr(exc)})
                handled = 0
            if handled < CONCURRENCY:
                await woken(self._wake, seconds=self.poll_seconds)

    async def deliver_due(self) -> int:
        """Lease up to CONCURRENCY due alerts and attempt them together; return how many."""
        leased = []
        for _ in range(CONCURRENCY):
            alert = await self.alerts.lease(self.clock(), LEASE)
            if alert is None:
                break
            leased.append(alert)
        outcomes = await asyncio.gather(
            *(self._deliver(alert) for alert in leased), return_exceptions=True
        )
        for alert, outcome in zip(leased, outcomes, strict=True):
            if isinstance(outcome, TRANSIENT_MONGO_ERRORS):  # retried once the lease runs out
                log.warning(
                    "alert outcome not saved; retried after the lease",
                    extra={"alert_id": str(alert.get("_id")), "error": repr(outcome)},
                )
            elif isinstance(outcome, Exception):
                await self.alerts.quarantine(alert, outcome, self.clock())
        return len(leased)

    async def _deliver(self, alert: dict[str, Any]) -> None:
        event = None if alert.get("kind") == RESOLUTION else parse_alert_event(alert["event"])
        with tracing.resumed(tracing.stored_trace(alert.get(tracing.TRACE))):
            deliveries = [
                await self._attempt(event, alert, d) if is_due(d, self.clock()) else d
                for d in alert["deliveries"]
            ]
        await self.alerts.save_deliveries(alert, deliveries)

    async def _attempt(
        self, event: AlertEvent | None, alert: dict[str, Any], delivery: dict[str, Any]
    ) -> dict[str, Any]:
        started, now = retry_start(delivery, alert["recorded_at"]), self.clock()
        if too_old(started, self.retry, now):
            return self._failed(alert, expired(delivery, started, now))
        if await self._overtaken(event, alert, delivery):
            return skipped(delivery, "not sent: the case closed before the trigger went out")
        try:
            await self._send(event, alert, delivery)
        except DeliveryError as exc:
            outcome = after_failure(
                attempted(delivery),
                str(exc),
                permanent=exc.permanent,
                recorded_at=started,
                retry=self.retry,
                now=self.clock(),
            )
            return self._failed(alert, outcome)
        telemetry.DELIVERIES.labels(delivery["channel"], "delivered").inc()
        log.info(
            "alert delivered",
            extra={
                "case_id": alert["case_id"],
                "channel": delivery["channel"],
                "target": delivery["target"],
            },
        )
        return delivered(attempted(delivery), self.clock())

    async def _overtaken(
        self, event: AlertEvent | None, alert: dict[str, Any], delivery: dict[str, Any]
    ) -> bool:
        """True for a PagerDuty trigger whose case has closed: it would open an alert that
        nothing resolves (the case's resolution only covers triggers recorded before it)."""
        if event is None or delivery["channel"] != "pagerduty":
            return False
        return await self.case_closed(alert["case_id"])

    async def _send(
        self, event: AlertEvent | None, alert: dict[str, Any], delivery: dict[str, Any]
    ) -> None:
        channel, address = delivery["channel"], delivery["address"]
        if channel == "pagerduty":
            await self.pagerduty.post(address, self._pagerduty_body(event, alert, delivery), {})
        elif event is None:
            raise DeliveryError(f"a resolution has no {channel} deliveries", permanent=True)
        elif channel == "webhook":
            if self.webhooks is None:
                raise DeliveryError(
                    "webhooks are off: no NOTIFY_WEBHOOK_SECRETS (or NOTIFY_WEBHOOK_SECRET)",
                    permanent=True,
                )
            body = webhook_body(event, delivery["target"], self._case_url(event.case_id))
            await self.webhooks.send(address, alert["_id"], body, now=self.clock().timestamp())
        elif channel == "email":
            if self.smtp is None:
                raise DeliveryError("e-mail is off: NOTIFY_SMTP_HOST is not set", permanent=True)
            recipients = [a.strip() for a in address.split(",")]
            message = alert_email(
                event, recipients, self.smtp.sender, self._case_url(event.case_id)
            )
            await send_email(self.smtp, message)
        else:
            raise DeliveryError(f"unknown channel {channel!r}", permanent=True)

    def _pagerduty_body(
        self, event: AlertEvent | None, alert: dict[str, Any], delivery: dict[str, Any]
    ) -> bytes:
        if delivery.get("action") == RESOLVE:
            return resolve_body(alert["case_id"], delivery["routing_key"])
        if not isinstance(event, CaseEscalated):
            raise DeliveryError("a PagerDuty trigger needs its escalation", permanent=True)
        return trigger_body(event, delivery["routing_key"], self._case_url(event.case_id))

    def _case_url(self, case_id: str) -> str:
        return self.case_url.format(case_id=case_id)

    def _failed(self, alert: dict[str, Any], outcome: dict[str, Any]) -> dict[str, Any]:
        """Count and log a failed delivery (given up, or to be retried); return it."""
        channel = outcome["channel"]
        extra = {"case_id": alert["case_id"], "channel": channel, "error": outcome["last_error"]}
        telemetry.DELIVERIES.labels(channel, "failed").inc()
        if outcome["status"] == FAILED:
            telemetry.DELIVERY_FAILURES.labels(channel).inc()
            log.error("alert delivery given up", extra={**extra, "attempts": outcome["attempts"]})
        else:
            retry_at = outcome["next_attempt_at"].isoformat()
            log.warning("alert delivery failed; will retry", extra={**extra, "retry_at": retry_at})
        return outcome
