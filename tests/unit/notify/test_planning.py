"""Notify's decisions without servers: what a case event stores, what a claim sends, and ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from services.common.clock import to_millis
from services.common.contracts import CaseAssigned, CaseStatus, CaseUpdated, Category, Priority
from services.notify.escalation import EscalationPolicy, parse_escalation_policy
from services.notify.planning import (
    CaseEvent,
    Deadline,
    Revision,
    deadline_key,
    plan_case_event,
    plan_claim,
)

pytestmark = pytest.mark.unit

POLICY: EscalationPolicy = parse_escalation_policy(
    """
version = "t"

[[levels]]
level = 1
after = "0s"
roles = ["sup"]

[[levels]]
level = 2
after = "1h"
roles = ["sup"]

[[levels]]
level = 3
after = "2h"
roles = ["national"]

[[targets]]
id = "police-sup"
role = "sup"
agency = "police"

[[targets]]
id = "national"
role = "national"
"""
)
# A deadline with microseconds, as routing computes it before it is stored.
DUE = datetime(2026, 11, 25, 8, 0, 0, 123456, tzinfo=UTC)
ICT = timezone(timedelta(hours=7))


def event(
    version: int,
    due_at: datetime | None = DUE,
    *,
    status: CaseStatus = CaseStatus.ASSIGNED,
    agency: str = "police",
    action: str | None = None,
) -> CaseEvent:
    fields: dict[str, Any] = {
        "event_id": f"e{version}",
        "occurred_at": DUE,
        "case_id": "case-1",
        "report_id": "report-1",
        "tracking_code": "TC-1",
        "agency": agency,
        "category": Category.SCAM_FRAUD,
        "priority": Priority.HIGH,
        "status": status,
        "version": version,
        "due_at": due_at,
    }
    if action is None:
        return CaseAssigned(**fields, policy_version="p", rule_id=None)
    return CaseUpdated(**fields, action=action, from_status=CaseStatus.ASSIGNED, actor=agency)


class Store:
    """One deadline document as the database would hold it (times to the millisecond)."""

    def __init__(self) -> None:
        self.doc: dict[str, Any] | None = None
        self.sent_ids: list[str] = []
        self.levels: list[int] = []

    def apply(self, case_event: CaseEvent, now: datetime) -> bool:
        stored = Revision.model_validate(self.doc) if self.doc is not None else None
        fields = plan_case_event(stored, case_event, POLICY, now)
        if fields is None:
            return False
        self.doc = {**(self.doc or {}), "_id": case_event.case_id, **_as_stored(fields)}
        return True

    def scan(self, now: datetime) -> None:
        """Claim every alert due at `now`, as the scanner would."""
        while self.doc and self.doc["next_due_at"] and self.doc["next_due_at"] <= now:
            claim = plan_claim(Deadline.model_validate(self.doc), POLICY, now)
            assert claim.escalation is not None
            self.sent_ids.append(claim.escalation.event_id)
            self.levels.append(claim.escalation.level)
            self.doc.update(sent=claim.sent, next_due_at=claim.next_due_at, rev=self.doc["rev"] + 1)


def _as_stored(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: to_millis(v) if isinstance(v, datetime) else v for k, v in fields.items()}


def escalated_through_level_3() -> Store:
    store = Store()
    store.apply(event(1), DUE - timedelta(minutes=1))
    store.scan(DUE + timedelta(hours=3))
    assert store.levels == [1, 2, 3]
    return store


def stored_due() -> datetime:
    return to_millis(DUE)


def test_the_key_names_the_deadline_to_the_millisecond_in_utc() -> None:
    assert deadline_key(event(1)) == deadline_key(event(2, to_millis(DUE)))
    assert deadline_key(event(1)) == deadline_key(event(2, DUE.astimezone(ICT)))
    assert deadline_key(event(1)) != deadline_key(event(2, DUE + timedelta(milliseconds=1)))
    assert deadline_key(event(1, None)) is None


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("note", CaseStatus.ASSIGNED),
        ("acknowledge", CaseStatus.ACKNOWLEDGED),
        ("start", CaseStatus.IN_PROGRESS),
    ],
)
def test_an_action_carrying_the_stored_deadline_never_resends_a_level(
    action: str, status: CaseStatus
) -> None:
    store = escalated_through_level_3()
    now = DUE + timedelta(hours=4)
    assert store.apply(event(2, stored_due(), status=status, action=action), now)
    store.scan(now)
    assert store.levels == [1, 2, 3]
    assert store.doc is not None and store.doc["sent"] == 3 and store.doc["next_due_at"] is None


def test_start_after_an_acknowledgement_that_set_a_resolution_deadline_keeps_its_levels() -> None:
    store = Store()
    store.apply(event(1, DUE + timedelta(days=1)), DUE - timedelta(hours=1))
    resolve_by = DUE  # the acknowledgement's new deadline, with microseconds
    store.apply(event(2, resolve_by, status=CaseStatus.ACKNOWLEDGED, action="acknowledge"), DUE)
    store.scan(DUE + timedelta(minutes=90))
    assert store.levels == [1, 2]
    store.apply(event(3, stored_due(), status=CaseStatus.IN_PROGRESS, action="start"), DUE)
    store.scan(DUE + timedelta(hours=3))
    assert store.levels == [1, 2, 3]
    assert len(set(store.sent_ids)) == 3


def test_a_real_deadline_change_rearms_escalation_with_new_ids() -> None:
    store = escalated_through_level_3()
    later = DUE + timedelta(hours=5)
    store.apply(event(2, later, action="extend"), DUE + timedelta(hours=4))
    store.scan(later + timedelta(hours=3))
    assert store.levels == [1, 2, 3, 1, 2, 3]
    assert len(set(store.sent_ids)) == 6


def test_a_deadline_that_returns_to_an_earlier_time_gets_ids_of_its_own() -> None:
    store = escalated_through_level_3()
    store.apply(event(2, None, action="pause"), DUE + timedelta(hours=4))
    store.apply(event(3, DUE, action="resume"), DUE + timedelta(hours=4))
    store.scan(DUE + timedelta(hours=5))
    assert store.levels == [1, 2, 3, 1, 2, 3]
    assert len(set(store.sent_ids)) == 6


def test_a_repeated_claim_of_the_same_state_yields_the_same_event_id() -> None:
    store = Store()
    store.apply(event(1), DUE - timedelta(minutes=1))
    assert store.doc is not None
    deadline = Deadline.model_validate(store.doc)
    first = plan_claim(deadline, POLICY, DUE + timedelta(seconds=1)).escalation
    again = plan_claim(deadline, POLICY, DUE + timedelta(seconds=9)).escalation
    assert first is not None and again is not None and first.event_id == again.event_id


def test_an_older_or_repeated_event_changes_nothing() -> None:
    store = Store()
    assert store.apply(event(2, status=CaseStatus.ACKNOWLEDGED, action="acknowledge"), DUE)
    assert not store.apply(event(1), DUE)
    assert not store.apply(event(2, status=CaseStatus.ACKNOWLEDGED, action="acknowledge"), DUE)
    assert store.doc is not None and store.doc["status"] == "acknowledged"


def test_closing_the_case_stops_further_levels() -> None:
    store = Store()
    store.apply(event(1), DUE - timedelta(minutes=1))
    store.scan(DUE)
    store.apply(event(2, None, status=CaseStatus.RESOLVED, action="resolve"), DUE)
    store.scan(DUE + timedelta(days=1))
    assert store.levels == [1]
    assert store.doc is not None and store.doc["next_due_at"] is None


def test_a_claim_before_the_step_is_due_only_reschedules() -> None:
    store = Store()
    store.apply(event(1), DUE - timedelta(minutes=1))
    assert store.doc is not None
    claim = plan_claim(Deadline.model_validate(store.doc), POLICY, DUE - timedelta(seconds=1))
    assert claim.escalation is None and claim.sent == 0 and claim.next_due_at == to_millis(DUE)


def test_the_escalation_names_its_level_targets_and_lateness() -> None:
    store = Store()
    store.apply(event(1), DUE - timedelta(minutes=1))
    assert store.doc is not None
    store.doc["sent"] = 2
    now = DUE + timedelta(hours=2, seconds=30)
    escalation = plan_claim(Deadline.model_validate(store.doc), POLICY, now).escalation
    assert escalation is not None
    assert (escalation.level, escalation.targets) == (3, ["national"])
    assert escalation.scheduled_at == to_millis(DUE) + timedelta(hours=2)
    assert escalation.overdue_by_seconds == pytest.approx((now - to_millis(DUE)).total_seconds())


@pytest.mark.parametrize(
    "damage",
    [{"priority": "galactic"}, {"sent": "many"}, {"agency": None}, {"due_at": "tomorrow"}],
)
def test_a_document_that_does_not_fit_is_refused_as_poison(damage: dict[str, Any]) -> None:
    store = Store()
    store.apply(event(1), DUE - timedelta(minutes=1))
    assert store.doc is not None
    with pytest.raises(ValidationError):
        Deadline.model_validate({**store.doc, **damage})
