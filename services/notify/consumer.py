"""Event handlers: case events feed the deadline store; alerts (escalations, pre-breach
warnings, platforms past their deadline) feed the alert log."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.common import tracing
from services.common.amqp import Batched
from services.common.clock import Clock
from services.common.contracts import CLOSED_STATUSES, CaseAssigned, CaseEscalated, CaseUpdated
from services.notify import telemetry
from services.notify.alerts import (
    AlertEvent,
    AlertLog,
    alert_clock,
    alert_document,
    alert_kind,
    deliveries_for,
)
from services.notify.deadlines import DeadlineStore
from services.notify.escalation import EscalationPolicy
from services.notify.retry import NEXT_ATTEMPT

log = logging.getLogger(__name__)


@dataclass
class NotifyHandlers:
    """What the notifier does with each event it consumes (idempotent, order-tolerant)."""

    store: DeadlineStore
    alerts: AlertLog
    policy: EscalationPolicy
    clock: Clock
    email_enabled: bool
    alert_recorded: Callable[[], None]

    async def on_case_events(
        self, events: Sequence[CaseAssigned | CaseUpdated]
    ) -> list[BaseException | None]:
        """Keep each case's deadline current (older or repeated events change nothing), and
        resolve the PagerDuty alerts of a case that closes; per event, None (its errors fail
        the batch, which is then handled one event at a time)."""
        stored = await self.store.apply_many(events)
        for event, changed in zip(events, stored, strict=True):
            if changed:
                log.info(
                    "deadline updated",
                    extra={
                        "case_id": event.case_id,
                        "version": event.version,
                        "status": event.status,
                    },
                )
        # After the store: a trigger is only sent while the stored case is open, so one sent
        # was recorded before this looks for it.
        for event in events:
            if isinstance(event, CaseUpdated) and event.status in CLOSED_STATUSES:
                await self.on_case_closed(event)
        return [None] * len(events)

    async def on_case_closed(self, event: CaseUpdated) -> None:
        """Record the resolve of each PagerDuty alert the case's escalations triggered (once
        per closing event, even when redelivered: a closed case never reopens)."""
        if await self.alerts.record_resolution(event, self.clock()):
            self.alert_recorded()
            log.info("pagerduty resolution recorded", extra={"case_id": event.case_id})

    async def on_alerts(self, events: Sequence[AlertEvent]) -> list[BaseException | None]:
        """Record the alerts (once per event) in one write, so their webhooks and e-mails get
        delivered; per event, None or the error the database gave it alone."""
        now, email = self.clock(), self.email_enabled
        docs = []
        for event in events:
            # Each alert keeps the trace of the message that brought it, for its deliveries.
            with tracing.message_context(event):
                deliveries = deliveries_for(event, self.policy, now, email_enabled=email)
                docs.append(alert_document(event, deliveries, now))
        stored = await self.alerts.record_many(docs)
        for event, outcome in zip(events, stored, strict=True):
            if outcome is True:
                self._recorded(event, now)
        # Only an alert with a delivery to make needs the deliverer; one whose targets have no
        # webhook or e-mail (kept for the log and the queues) would wake it for nothing.
        due = [NEXT_ATTEMPT in doc for doc, done in zip(docs, stored, strict=True) if done is True]
        if any(due):
            self.alert_recorded()
        return [outcome if isinstance(outcome, Exception) else None for outcome in stored]

    async def on_alert(self, event: AlertEvent) -> None:
        """One alert (the batch of one)."""
        (outcome,) = await self.on_alerts([event])
        if outcome is not None:
            raise outcome

    def _recorded(self, event: AlertEvent, now: datetime) -> None:
        kind, clock = alert_kind(event), alert_clock(event).value
        telemetry.ALERTS.labels(kind, clock).inc()
        if isinstance(event, CaseEscalated):
            telemetry.ESCALATIONS.labels(str(event.level)).inc()
            if event.scheduled_at is not None:
                telemetry.LATENESS.observe(max((now - event.scheduled_at).total_seconds(), 0.0))
        log.info(
            "alert recorded",
            extra={
                "case_id": event.case_id,
                "alert_kind": kind,
                "clock": clock,
                "escalation_level": getattr(event, "level", None),
                "targets": event.targets,
            },
        )

    def case_handlers(self) -> dict[str, Batched]:
        """The case queue's table: both case event types share one batch."""
        batched = Batched(self.on_case_events)
        return {"case.assigned": batched, "case.updated": batched}

    def alert_handlers(self) -> dict[str, Batched]:
        """The alert queue's table: event type -> handler (one batch for every kind)."""
        batched = Batched(self.on_alerts)
        return {
            "case.escalated": batched,
            "case.warning": batched,
            "case.platform_overdue": batched,
        }
