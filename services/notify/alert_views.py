"""What the alert log API sends: alerts and their deliveries, as pydantic models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from services.notify.alerts import DELIVERED, FAILED, PENDING, SKIPPED

DELIVERY_STATUSES = (PENDING, DELIVERED, FAILED, SKIPPED)
# Far above any escalation policy's levels, far below BSON's 64-bit integers.
MAX_LEVEL = 100


class Delivery(BaseModel):
    """One channel's delivery of an alert to one target."""

    target: str
    channel: str
    address: str
    status: str
    attempts: int
    last_error: str | None
    delivered_at: datetime | None
    next_attempt_at: datetime | None


class Alert(BaseModel):
    """One escalation and what became of each of its deliveries."""

    alert_id: str
    case_id: str
    tracking_code: str
    agency: str
    category: str
    priority: str
    level: int
    repeat: int
    due_at: datetime
    scheduled_at: datetime | None
    escalated_at: datetime
    recorded_at: datetime
    targets: list[str]
    deliveries: list[Delivery]


class AlertList(BaseModel):
    """A page of the alert log, newest first."""

    alerts: list[Alert]
    next_cursor: str | None
