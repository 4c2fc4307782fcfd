"""Delivery decisions without servers: due, too old, retried with back-off, given up, re-sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notify.retry import (
    DELIVERED,
    FAILED,
    NEXT_ATTEMPT,
    PENDING,
    SKIPPED,
    RetryPolicy,
    after_failure,
    attempted,
    delivered,
    expired,
    is_due,
    resend_refusal,
    resent,
    retry_start,
    skipped,
    too_old,
)

pytestmark = pytest.mark.unit

RECORDED = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
# The upper end of each jitter range, so the schedule is exact.
RETRY = RetryPolicy(2.0, 60.0, timedelta(hours=1), jitter=lambda low, high: high)


def pending(attempts: int = 0, at: datetime = RECORDED) -> dict[str, Any]:
    return {
        "target": "police-sup",
        "channel": "webhook",
        "address": "https://hooks.example.org/p",
        "status": PENDING,
        "attempts": attempts,
        "last_error": None,
        "delivered_at": None,
        NEXT_ATTEMPT: at,
    }


def fail(delivery: dict[str, Any], now: datetime, *, permanent: bool = False) -> dict[str, Any]:
    return after_failure(
        attempted(delivery),
        "503 from receiver",
        permanent=permanent,
        recorded_at=RECORDED,
        retry=RETRY,
        now=now,
    )


def test_a_pending_delivery_is_due_once_its_time_has_come() -> None:
    assert is_due(pending(), RECORDED)
    assert not is_due(pending(), RECORDED - timedelta(seconds=1))
    assert not is_due({**pending(), "status": DELIVERED}, RECORDED)
    assert not is_due({**pending(), NEXT_ATTEMPT: None}, RECORDED)


def test_failures_back_off_exponentially_up_to_the_maximum() -> None:
    first = fail(pending(), RECORDED)
    assert (first["status"], first["attempts"]) == (PENDING, 1)
    assert first[NEXT_ATTEMPT] == RECORDED + timedelta(seconds=2)
    second = fail(first, RECORDED)
    assert second[NEXT_ATTEMPT] == RECORDED + timedelta(seconds=4)
    tenth = fail(pending(attempts=9), RECORDED)
    assert tenth[NEXT_ATTEMPT] == RECORDED + timedelta(seconds=60)
    assert tenth["last_error"] == "503 from receiver"


def test_a_permanent_failure_is_given_up_at_once() -> None:
    outcome = fail(pending(), RECORDED, permanent=True)
    assert (outcome["status"], outcome[NEXT_ATTEMPT]) == (FAILED, None)


def test_a_retry_that_would_fall_past_the_give_up_time_is_not_scheduled() -> None:
    outcome = fail(pending(attempts=5), RECORDED + timedelta(minutes=59, seconds=30))
    assert (outcome["status"], outcome[NEXT_ATTEMPT]) == (FAILED, None)


def test_an_alert_past_the_give_up_time_is_expired_unattempted() -> None:
    now = RECORDED + timedelta(hours=2)
    assert too_old(RECORDED, RETRY, now) and not too_old(RECORDED, RETRY, RECORDED)
    outcome = expired({**pending(attempts=3), "last_error": "timeout"}, RECORDED, now)
    assert (outcome["status"], outcome["attempts"]) == (FAILED, 3)
    assert outcome["last_error"] == "expired: not delivered within 2:00:00 (last error: timeout)"


def test_a_delivered_attempt_is_counted_and_leaves_nothing_pending() -> None:
    at = RECORDED + timedelta(seconds=1)
    outcome = delivered(attempted(pending()), at)
    assert outcome["status"] == DELIVERED and outcome["attempts"] == 1
    assert (outcome["delivered_at"], outcome[NEXT_ATTEMPT]) == (at, None)


def alert_with(*deliveries: dict[str, Any], **fields: Any) -> dict[str, Any]:
    broker = {**pending(), "channel": "amqp", "status": DELIVERED, NEXT_ATTEMPT: None}
    return {"_id": "a-1", "deliveries": [broker, *deliveries], **fields}


NOW = RECORDED + timedelta(hours=3)


@pytest.mark.parametrize("status", [FAILED, DELIVERED, SKIPPED])
def test_a_finished_delivery_may_be_resent(status: str) -> None:
    alert = alert_with({**pending(), "status": status, NEXT_ATTEMPT: None})
    assert resend_refusal(alert, 2, NOW) is None


@pytest.mark.parametrize(
    ("alert", "reason"),
    [
        (alert_with(pending()), "already queued"),
        (alert_with({**pending(), "status": FAILED}, poisoned={"error": "bad"}), "quarantined"),
        (
            alert_with({**pending(), "status": FAILED}, leased_until=NOW + timedelta(seconds=5)),
            "being attempted",
        ),
    ],
)
def test_a_delivery_under_way_or_quarantined_is_not_resent(
    alert: dict[str, Any], reason: str
) -> None:
    refusal = resend_refusal(alert, 2, NOW)
    assert refusal is not None and reason in refusal


def test_the_broker_delivery_is_never_resent() -> None:
    refusal = resend_refusal(alert_with(), 1, NOW)
    assert refusal is not None and "broker" in refusal


def test_an_expired_lease_does_not_block_a_resend() -> None:
    alert = alert_with({**pending(), "status": FAILED}, leased_until=NOW - timedelta(seconds=1))
    assert resend_refusal(alert, 2, NOW) is None


def test_a_resent_delivery_is_due_now_and_keeps_who_asked() -> None:
    given_up = {**pending(attempts=4), "status": FAILED, "last_error": "HTTP 503"}
    asked = {"requested_by": "supervisor", "token_id": "abc", "requested_at": NOW}
    queued = resent(given_up, asked, NOW)
    assert queued["status"] == PENDING and is_due(queued, NOW)
    assert queued["attempts"] == 4 and queued["resends"] == [asked]
    assert resent(queued, asked, NOW)["resends"] == [asked, asked]


def test_a_resent_delivery_gets_a_fresh_give_up_time() -> None:
    queued = resent({**pending(), "status": FAILED}, {}, NOW)
    started = retry_start(queued, RECORDED)
    assert started == NOW and not too_old(started, RETRY, NOW + timedelta(minutes=59))
    assert retry_start(pending(), RECORDED) == RECORDED
    outcome = after_failure(
        attempted(queued), "HTTP 503", permanent=False, recorded_at=started, retry=RETRY, now=NOW
    )
    assert outcome["status"] == PENDING


def test_a_skipped_delivery_keeps_its_reason_and_leaves_nothing_pending() -> None:
    outcome = skipped(pending(), "the case closed")
    assert outcome["status"] == SKIPPED and outcome["last_error"] == "the case closed"
    assert not is_due(outcome, NOW)
