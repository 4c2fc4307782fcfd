"""The event contracts and topology names: pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.common.amqp import Topology, agency_queue
from services.common.auth import hash_token, new_token, principal_for
from services.common.contracts import (
    CaseAssigned,
    CaseEscalated,
    CaseStatus,
    CaseUpdated,
    Category,
    Priority,
    parse_event,
)

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CASE = {
    "event_id": "e1",
    "occurred_at": NOW,
    "case_id": "c1",
    "report_id": "r1",
    "tracking_code": "AAAA-BBBB-CCCC",
    "agency": "culture_office",
    "category": Category.FALSE_INFORMATION,
    "priority": Priority.NORMAL,
    "status": CaseStatus.ASSIGNED,
    "version": 1,
    "due_at": NOW + timedelta(hours=24),
}


def test_routing_keys_name_the_event_then_the_agency_and_level() -> None:
    assigned = CaseAssigned(**CASE, policy_version="1", rule_id="r")
    updated = CaseUpdated(
        **{**CASE, "version": 2}, action="acknowledge", from_status=CaseStatus.ASSIGNED, actor="x"
    )
    escalated = CaseEscalated(
        **{k: v for k, v in CASE.items() if k not in ("version", "province", "district")},
        level=2,
        escalated_at=NOW,
        overdue_by_seconds=5,
        targets=["supervisor"],
    )
    assert assigned.routing_key() == "case.assigned.culture_office"
    assert updated.routing_key() == "case.updated.culture_office"
    assert escalated.routing_key() == "case.escalated.culture_office.2"


def test_events_round_trip_through_json_by_their_type() -> None:
    assigned = CaseAssigned(**CASE, policy_version="1", rule_id="r")
    assert parse_event(assigned.model_dump_json()) == assigned


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"type": "case.deleted"}',
        b'{"type": "case.assigned", "event_id": "e"}',
        CaseAssigned(**CASE, policy_version="1", rule_id="r")
        .model_dump_json()
        .replace('"version":1', '"version":1,"extra":true')
        .encode(),
    ],
)
def test_malformed_or_unknown_events_do_not_parse(body: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_event(body)


def test_agency_ids_are_safe_routing_key_words() -> None:
    with pytest.raises(ValidationError):
        CaseAssigned(**{**CASE, "agency": "police.#"}, policy_version="1", rule_id="r")


def test_topology_prefix_applies_to_every_name() -> None:
    topology = Topology("t1.")
    assert topology.exchange == "t1.incidents"
    assert topology.queue("routing.reports") == "t1.routing.reports"
    assert topology.unroutable_queue == "t1.unroutable"
    assert agency_queue("police").bindings == ("case.*.police",)


def test_tokens_are_checked_against_stored_hashes_only() -> None:
    token = new_token()
    hashes = {hash_token(token): "police"}
    assert principal_for(token, hashes) == "police"
    assert principal_for(new_token(), hashes) is None
    assert principal_for(None, hashes) is None
    assert token not in str(hashes)
