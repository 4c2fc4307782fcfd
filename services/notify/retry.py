"""Delivery decisions as pure functions of (delivery, outcome, retry policy, now).

Whether a delivery is due, whether its alert is too old to send, and what an attempt's
outcome makes of it: delivered, retried later with back-off, or given up. The deliverer
leases alerts, sends, and stores what these return.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

NEXT_ATTEMPT = "next_attempt_at"
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
