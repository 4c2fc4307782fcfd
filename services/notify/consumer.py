"""Event handlers: case events feed the deadline store; alerts (escalations, pre-breach
warnings, platforms past their deadline) feed the alert log."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.common.clock import Clock
from services.common.contracts import CLOSED_STATUSES, CaseAssigned, CaseEscalated, CaseUpdated
from services.notify import telemetry
from services.notify.alerts import AlertEvent, AlertLog, alert_clock, alert_kind, deliveries_for
from services.notify.deadlines import DeadlineStore
from services.notify.escalation import EscalationPolicy

log = logging.getLogger(__name__)


@dataclass
class NotifyHandlers:
    """What the notifier does with each event it consumes (idempotent, order-tolerant)."""

    store: DeadlineStore
    alerts: AlertLog
    policy: EscalationPolicy
    clock: Clock
    email_enabled: bool
    deadline_changed: Callable[[], None]
    alert_recorded: Callable[[], None]

    async def on_case_event(self, event: CaseAssigned | CaseUpdated) -> None:
        """Keep the case's deadline current (older or repeated events change nothing), and
        resolve the PagerDuty alerts of a case that closes."""
        if await self.store.apply(event):
            self.deadline_changed()
            log.info(
                "deadline updated",
                extra={"case_id": event.case_id, "version": event.version, "status": event.status},
            )
        # After the store: a trigger is only sent while the stored case is open, so one sent
        # was recorded before this looks for it.
        if isinstance(event, CaseUpdated) and event.status in CLOSED_STATUSES:
            await self.on_case_closed(event)

    async def on_case_closed(self, event: CaseUpdated) -> None:
        """Record the resolve of each PagerDuty alert the case's escalations triggered (once
        per closing event, even when redelivered: a closed case never reopens)."""
        if await self.alerts.record_resolution(event, self.clock()):
            self.alert_recorded()
            log.info("pagerduty resolution recorded", extra={"case_id": event.case_id})

    async def on_alert(self, event: AlertEvent) -> None:
        """Record the alert (once per event) so its webhooks and e-mails get delivered."""
        now = self.clock()
        deliveries = deliveries_for(event, self.policy, now, email_enabled=self.email_enabled)
        if not await self.alerts.record(event, deliveries, now):
            return
        kind, clock = alert_kind(event), alert_clock(event).value
        telemetry.ALERTS.labels(kind, clock).inc()
        if isinstance(event, CaseEscalated):
            telemetry.ESCALATIONS.labels(str(event.level)).inc()
            if event.scheduled_at is not None:
                telemetry.LATENESS.observe(max((now - event.scheduled_at).total_seconds(), 0.0))
        self.alert_recorded()
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

    # The name the escalation queue's table used before alerts had kinds.
    on_escalation = on_alert

    def alert_handlers(self) -> dict[str, Callable[[AlertEvent], Awaitable[None]]]:
        """The alert queue's table: event type -> handler."""
        return {
            "case.escalated": self.on_alert,
            "case.warning": self.on_alert,
            "case.platform_overdue": self.on_alert,
        }
