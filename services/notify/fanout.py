"""Which deliveries an alert fans out to: one per channel of each target it names, the
broker's, and the PagerDuty resolves a closing case owes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.common.contracts import CaseEscalated
from services.notify.clocks import AlertEvent
from services.notify.escalation import EscalationPolicy, Target
from services.notify.pagerduty import RESOLVE, TRIGGER
from services.notify.retry import DELIVERED, NEXT_ATTEMPT, PENDING, SKIPPED


def deliveries_for(
    event: AlertEvent, policy: EscalationPolicy, now: datetime, *, email_enabled: bool
) -> list[dict[str, Any]]:
    """One delivery per channel of each target the event names, plus the broker's; PagerDuty
    pages for escalations only (its alert is the case's, resolved when the case closes)."""
    wanted = set(event.targets)
    deliveries = [_delivery("broker", "amqp", event.routing_key(), DELIVERED, now)]
    for target in policy.targets:
        if target.id not in wanted:
            continue
        if target.webhook is not None:
            deliveries.append(_delivery(target.id, "webhook", str(target.webhook), PENDING, now))
        if target.pagerduty_routing_key and isinstance(event, CaseEscalated):
            deliveries.append(_pagerduty(target, TRIGGER, now))
        if target.email:
            status = PENDING if email_enabled else SKIPPED
            delivery = _delivery(target.id, "email", ", ".join(target.email), status, now)
            if not email_enabled:
                delivery["last_error"] = "e-mail is off: NOTIFY_SMTP_HOST is not set"
            deliveries.append(delivery)
    return deliveries


def _pagerduty(target: Target, action: str, now: datetime) -> dict[str, Any]:
    """A PagerDuty delivery; its routing key is kept for sending, never shown by the API."""
    delivery = _delivery(target.id, "pagerduty", str(target.pagerduty_events_url), PENDING, now)
    return {**delivery, "action": action, "routing_key": target.pagerduty_routing_key}


def resolutions_for(alerts: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """One PagerDuty resolve per (target, events URL, routing key) the case's alerts triggered."""
    triggered = dict.fromkeys(
        (sent["target"], sent["address"], sent["routing_key"])
        for alert in alerts
        for sent in alert.get("deliveries", [])
        if sent.get("channel") == "pagerduty" and sent.get("action") == TRIGGER
    )
    return [
        {
            **_delivery(target, "pagerduty", address, PENDING, now),
            "action": RESOLVE,
            "routing_key": routing_key,
        }
        for target, address, routing_key in triggered
    ]


def _delivery(
    target: str, channel: str, address: str, status: str, now: datetime
) -> dict[str, Any]:
    return {
        "target": target,
        "channel": channel,
        "address": address,
        "status": status,
        "attempts": 0,
        "last_error": None,
        "delivered_at": now if status == DELIVERED else None,
        NEXT_ATTEMPT: now if status == PENDING else None,
    }
