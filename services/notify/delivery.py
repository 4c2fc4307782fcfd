"""Delivers recorded alerts (escalations, warnings, platforms past their deadline) to their
webhook, PagerDuty and e-mail targets, retrying with back-off; a PagerDuty trigger whose case
has closed meanwhile is skipped, never sent late.

Each round leases a batch of due alerts (services.notify.leases), attempts them concurrently,
at most `concurrency` sends at once and `per_host` to any one host (webhook and PagerDuty
requests share one connection pool), and records every outcome in one write. A round stops
starting new sends once it has run half the lease: what it did not attempt stays due and goes
in a later round, so a lease never runs out under a round that is still sending. Up to ROUNDS
batches are in flight at once: the next is leased while earlier ones are still sending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo import UpdateOne

from services.common import tracing
from services.common.clock import Clock
from services.common.contracts import CaseEscalated
from services.common.errortext import describe
from services.common.mail import MailServer
from services.common.mongo import TRANSIENT_MONGO_ERRORS
from services.common.runtime import raise_if_cancelling, woken
from services.notify import telemetry
from services.notify.alerts import RESOLUTION, AlertEvent, parse_alert_event
from services.notify.channels import (
    DeliveryError,
    HttpSender,
    SendLimits,
    WebhookSender,
    alert_email,
    send_email,
    webhook_body,
)
from services.notify.leases import AlertLeases, Lease, quarantined, saved
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

__all__ = ["LEASE", "Deliverer", "RetryPolicy", "SendLimits"]

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
ROUNDS = 4  # batches sending at once
LINGER_SECONDS = 0.02


@dataclass
class Deliverer:
    """Leases due alerts in batches and attempts their pending deliveries."""

    leases: AlertLeases
    webhooks: WebhookSender | None
    pagerduty: HttpSender
    smtp: MailServer | None
    retry: RetryPolicy
    case_url: str
    clock: Clock
    case_closed: Callable[[str], Awaitable[bool]]
    poll_seconds: float = 0.5
    batch: int = 200
    limits: SendLimits = field(default_factory=SendLimits)
    lease: timedelta = LEASE

    def __post_init__(self) -> None:
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New alerts were recorded."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled: lease the next batch while earlier ones are still sending
        (at most ROUNDS at once), so alerts falling due behind a round need not wait for it."""
        rounds = asyncio.Semaphore(ROUNDS)
        async with asyncio.TaskGroup() as group:
            while True:
                # Cleared before looking, so a wake while leasing cuts the next wait short.
                self._wake.clear()
                await rounds.acquire()
                leased = await self._lease_or_pause()
                if leased is not None and leased.alerts:
                    group.create_task(self._round(leased, rounds))
                else:
                    rounds.release()
                if leased is None or (len(leased.alerts) < self.batch and self.leases.caught_up):
                    await self._idle()

    async def _lease_or_pause(self) -> Lease | None:
        """A lease on the due alerts; None while the database is away."""
        try:
            return await self.leases.take(self.clock(), self.lease, self.batch)
        except TRANSIENT_MONGO_ERRORS as exc:
            raise_if_cancelling()
            log.warning("alert delivery paused", extra={"error": describe(exc)})
            return None

    async def _idle(self) -> None:
        if await woken(self._wake, seconds=self.poll_seconds):
            # Woken by a recorded alert: let those recorded right behind it join the batch.
            await asyncio.sleep(LINGER_SECONDS)

    async def _round(self, lease: Lease, rounds: asyncio.Semaphore) -> None:
        try:
            await self.complete(lease)
        finally:
            rounds.release()

    async def deliver_due(self) -> int:
        """One round: lease a batch of due alerts, attempt them and record the outcomes;
        return how many were leased."""
        lease = await self.leases.take(self.clock(), self.lease, self.batch)
        await self.complete(lease)
        return len(lease.alerts)

    async def complete(self, lease: Lease) -> None:
        """Attempt the leased alerts together and record what came of each in one write."""
        outcomes = await asyncio.gather(
            *(self._deliver(lease, alert) for alert in lease.alerts), return_exceptions=True
        )
        writes = [
            (alert, write)
            for alert, outcome in zip(lease.alerts, outcomes, strict=True)
            if (write := self._outcome_write(lease, alert, outcome)) is not None
        ]
        try:
            await self.leases.record(writes, self.clock())
        except TRANSIENT_MONGO_ERRORS as exc:  # retried once the lease runs out
            raise_if_cancelling()
            log.warning(
                "alert outcomes not saved; retried after the lease",
                extra={"alerts": len(writes), "error": describe(exc)},
            )

    def _outcome_write(
        self, lease: Lease, alert: dict[str, Any], outcome: list[dict[str, Any]] | BaseException
    ) -> UpdateOne | None:
        """The write recording one alert's round: its deliveries, or its quarantine; None to
        leave it leased (a database outage in the middle: tried again after the lease)."""
        if isinstance(outcome, TRANSIENT_MONGO_ERRORS):
            log.warning(
                "alert outcome not saved; retried after the lease",
                extra={"alert_id": str(alert.get("_id")), "error": repr(outcome)},
            )
            return None
        if isinstance(outcome, Exception):
            return quarantined(alert, outcome, self.clock())
        if isinstance(outcome, BaseException):
            raise outcome
        return saved(lease, alert, outcome)

    async def _deliver(self, lease: Lease, alert: dict[str, Any]) -> list[dict[str, Any]]:
        event = None if alert.get("kind") == RESOLUTION else parse_alert_event(alert["event"])
        # Past half the lease no new send starts: what is left stays due, for the next round.
        last_start = lease.until - self.lease / 2
        with tracing.resumed(tracing.stored_trace(alert.get(tracing.TRACE))):
            return [
                await self._attempt(event, alert, d, last_start) if is_due(d, self.clock()) else d
                for d in alert["deliveries"]
            ]

    async def _attempt(
        self,
        event: AlertEvent | None,
        alert: dict[str, Any],
        delivery: dict[str, Any],
        last_start: datetime,
    ) -> dict[str, Any]:
        started, now = retry_start(delivery, alert["recorded_at"]), self.clock()
        if too_old(started, self.retry, now):
            return self._failed(alert, expired(delivery, started, now))
        if await self._overtaken(event, alert, delivery):
            return skipped(delivery, "not sent: the case closed before the trigger went out")
        try:
            async with self.limits.slot(delivery):
                if self.clock() > last_start:
                    return delivery  # not attempted: still due, in the next round
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
