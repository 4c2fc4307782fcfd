"""What the alert log API sends: alerts and their deliveries, as pydantic models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.notify.alerts import DELIVERED, FAILED, PENDING, SKIPPED

DELIVERY_STATUSES = (PENDING, DELIVERED, FAILED, SKIPPED)
ALERT_KINDS = ("escalation", "warning", "platform_overdue", "resolution")
# Far above any escalation policy's levels, far below BSON's 64-bit integers.
MAX_LEVEL = 100
# Far above the deliveries one alert can have (channels times targets).
MAX_DELIVERIES = 10000


class Resend(BaseModel):
    """A supervisor's request to send a delivery again."""

    requested_by: str = Field(description="the principal of the bearer token used")
    token_id: str = Field(description="the first 12 hex digits of that token's SHA-256")
    requested_at: datetime


class Delivery(BaseModel):
    """One channel's delivery of an alert to one target."""

    n: int = Field(description="its number in the alert, from 1: the `n` of the re-send path")
    target: str
    channel: str = Field(description="amqp, webhook, email or pagerduty")
    action: str | None = Field(
        default=None, description="PagerDuty deliveries only: trigger or resolve"
    )
    address: str
    status: str
    attempts: int
    last_error: str | None
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    resends: list[Resend] = Field(default_factory=list, description="oldest first")


class Alert(BaseModel):
    """An escalation, a pre-breach warning, a platform past its legal deadline (or the
    resolution of a closed case's PagerDuty alerts) and what became of each of its deliveries."""

    alert_id: str
    kind: Literal["escalation", "warning", "platform_overdue", "resolution"] = Field(
        default="escalation",
        description="`escalation`: a case past a deadline (`level`, `clock`); `warning`: a share"
        " of the internal clock has run (`share`, `due_at`); `platform_overdue`: a platform did"
        " not answer a takedown request by its legal deadline (`request_id`, `platform`,"
        " `sent_at`, `due_at`); `resolution`: sent when a case whose escalations reached"
        " PagerDuty closed (no level, repeat, due_at or escalated_at)",
    )
    clock: Literal["internal", "legal"] | None = Field(
        default=None,
        description="The clock the alert is about: internal (working time on the agency's"
        " calendar) or legal (calendar time); absent on resolutions and older escalations"
        " (which were all internal)",
    )
    case_id: str
    tracking_code: str
    agency: str
    category: str
    priority: str
    level: int | None = None
    repeat: int | None = None
    due_at: datetime | None = None
    scheduled_at: datetime | None = None
    escalated_at: datetime | None = None
    share: float | None = Field(default=None, description="Warnings: the share of the clock run")
    request_id: str | None = Field(default=None, description="Platform alerts: the request")
    platform: str | None = Field(default=None, description="Platform alerts: the platform")
    sent_at: datetime | None = Field(default=None, description="Platform alerts: request sent")
    alerted_at: datetime | None = None
    closed_at: datetime | None = None
    recorded_at: datetime
    targets: list[str]
    deliveries: list[Delivery]

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Alert:
        """The view of a stored alert, its deliveries numbered from 1."""
        deliveries = [{**d, "n": n} for n, d in enumerate(doc["deliveries"], start=1)]
        return cls.model_validate({**doc, "alert_id": doc["_id"], "deliveries": deliveries})


class AlertList(BaseModel):
    """A page of the alert log, newest first."""

    alerts: list[Alert]
    next_cursor: str | None


class ResendAccepted(BaseModel):
    """A re-send request accepted: the delivery, queued again."""

    alert_id: str
    delivery: Delivery
