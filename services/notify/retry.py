"""Delivery decisions as pure functions of (delivery, outcome, retry policy, now).

Whether a delivery is due, whether its alert is too old to send, what an attempt's outcome
makes of it (delivered, retried later with back-off, or given up), and whether and how a
supervisor may send it again by hand. The deliverer leases alerts, sends, and stores what
these return.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

NEXT_ATTEMPT = "next_attempt_at"
RESENT_AT = "resent_at"
LEASED_UNTIL = "leased_until"
PENDING, DELIVERED, FAILED, SKIPPED = "pending", "delivered", "failed", "skipped"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with jitter, given up `give_up_after` the alert was recorded."""

    base_seconds: float
    max_seconds: float
    give_up_after: timedelta
    jitter: Callable[[float, float], float] = field(default=random.uniform, compare=False)

    def next_attempt(self, attempts: int, now: datetime) -> datetime:
        """When to try again after `attempts` failed attempts (full jitter on the upper half)."""
        ceiling = min(self.base_seconds * 2 ** (attempts - 1), self.max_seconds)
        return now + timedelta(seconds=self.jitter(ceiling / 2, ceiling))


def is_due(delivery: dict[str, Any], now: datetime) -> bool:
    """True when the delivery is pending and its next attempt time has come."""
    at = delivery.get(NEXT_ATTEMPT)
    return delivery["status"] == PENDING and at is not None and at <= now


def too_old(recorded_at: datetime, retry: RetryPolicy, now: datetime) -> bool:
    """True when the alert is past the give-up time (e.g. the notifier was down): too late."""
    return now - recorded_at > retry.give_up_after


def attempted(delivery: dict[str, Any]) -> dict[str, Any]:
    """The delivery with one more attempt counted."""
    return {**delivery, "attempts": delivery["attempts"] + 1}


def delivered(delivery: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The delivery after a successful attempt."""
    return {**delivery, "status": DELIVERED, "delivered_at": now, NEXT_ATTEMPT: None}


def after_failure(
    delivery: dict[str, Any],
    error: str,
    *,
    permanent: bool,
    recorded_at: datetime,
    retry: RetryPolicy,
    now: datetime,
) -> dict[str, Any]:
    """The delivery after a failed attempt: retried with back-off, or given up when the error
    is permanent or the retry would fall past the give-up time."""
    retry_at = retry.next_attempt(delivery["attempts"], now)
    if permanent or retry_at - recorded_at > retry.give_up_after:
        return {**delivery, "status": FAILED, "last_error": error, NEXT_ATTEMPT: None}
    return {**delivery, "status": PENDING, "last_error": error, NEXT_ATTEMPT: retry_at}


def expired(delivery: dict[str, Any], recorded_at: datetime, now: datetime) -> dict[str, Any]:
    """The delivery given up unattempted because its alert is too old to send."""
    last = f" (last error: {delivery['last_error']})" if delivery.get("last_error") else ""
    error = f"expired: not delivered within {now - recorded_at}{last}"
    return {**delivery, "status": FAILED, "last_error": error, NEXT_ATTEMPT: None}


def retry_start(delivery: dict[str, Any], recorded_at: datetime) -> datetime:
    """Where the give-up time counts from: the last manual re-send, or the alert's recording."""
    resent_at = delivery.get(RESENT_AT)
    return resent_at if isinstance(resent_at, datetime) else recorded_at


def resend_refusal(alert: dict[str, Any], n: int, now: datetime) -> str | None:
    """Why delivery `n` (from 1) of `alert` cannot be re-sent now, or None when it can."""
    delivery = alert["deliveries"][n - 1]
    if alert.get("poisoned"):
        return f"alert {alert['_id']} is quarantined: {alert['poisoned'].get('error')}"
    if delivery["channel"] == "amqp":
        return (
            f"delivery {n} is the broker's: it was published with the escalation; replay a"
            " lost message with `incidents-admin dlq`"
        )
    if delivery["status"] == PENDING:
        return f"delivery {n} is already queued; its next attempt is at {delivery[NEXT_ATTEMPT]}"
    leased_until = alert.get(LEASED_UNTIL)
    if isinstance(leased_until, datetime) and leased_until > now:
        return f"another delivery of alert {alert['_id']} is being attempted; try again shortly"
    return None


def resent(delivery: dict[str, Any], request: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The delivery queued again by hand: due now, with a fresh give-up time and the request
    (who asked, and when) kept in its history."""
    return {
        **delivery,
        "status": PENDING,
        NEXT_ATTEMPT: now,
        RESENT_AT: now,
        "resends": [*delivery.get("resends", []), request],
    }


def skipped(delivery: dict[str, Any], reason: str) -> dict[str, Any]:
    """The delivery not attempted because it no longer makes sense (e.g. its case closed)."""
    return {**delivery, "status": SKIPPED, "last_error": reason, NEXT_ATTEMPT: None}
