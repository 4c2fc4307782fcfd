"""Reports become exactly one case each, on the right agency's queue; poison is dead-lettered."""

from __future__ import annotations

from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Publisher, Topology
from services.common.contracts import CaseAssigned, Category
from services.common.mongo import MongoDatabase
from services.routing.app import create_app
from services.routing.policy import PolicyError
from services.routing.settings import RoutingSettings
from tests.helpers import get_all, publish_raw, wait_until
from tests.integration.routing.conftest import Reporter, auth, case_of, report_event

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
EXPECTED = {
    Category.HIJACKED_ACCOUNT: "police",
    Category.IMPERSONATION: "police",
    Category.SCAM_FRAUD: "police",
    Category.FALSE_INFORMATION: "culture_office",
    Category.HARMFUL_CONTENT: "culture_office",
    Category.CONFIDENTIAL_LEAK: "police",
    Category.MEMBER_MISCONDUCT: "party_committee",
}


async def _queued(
    connection: AbstractRobustConnection, topology: Topology, agency: str, count: int
) -> list[Any]:
    """Drain the agency queue until it has given `count` messages."""
    seen: list[Any] = []

    async def enough() -> bool:
        seen.extend(await get_all(connection, topology.queue(f"agency.{agency}.cases")))
        return len(seen) >= count

    await wait_until(enough, what=f"{count} messages on agency.{agency}.cases")
    return seen


async def test_every_category_reaches_its_agencys_queue_as_case_assigned(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    reports = {category: await reporter.submit(category) for category in EXPECTED}
    for category, agency in EXPECTED.items():
        case = await case_of(routing_db, reports[category])
        assert case["agency"] == agency and case["status"] == "assigned"
        assert case["policy_version"] == "2026-11-29.1" and case["rule_id"]
    for agency in set(EXPECTED.values()):
        messages = await _queued(
            amqp_connection, topology, agency, list(EXPECTED.values()).count(agency)
        )
        for message in messages:
            event = CaseAssigned.model_validate_json(message.body)
            assert message.routing_key == f"case.assigned.{agency}"
            assert message.message_id == event.event_id
            assert event.agency == agency and event.version == 1 and event.due_at is not None


async def test_redelivered_report_makes_no_second_case_or_message(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    report = report_event(1, Category.SCAM_FRAUD)
    for _ in range(3):
        await reporter.publisher.publish(report)
    copy = report.model_copy(update={"event_id": "another-event-same-report"})
    await reporter.publisher.publish(copy)
    marker = await reporter.submit(Category.SCAM_FRAUD)
    await case_of(routing_db, marker)
    assert await routing_db.cases.count_documents({"report_id": report.report_id}) == 1
    messages = await _queued(amqp_connection, topology, "police", 2)

    async def nothing_more() -> bool:
        messages.extend(await get_all(amqp_connection, topology.queue("agency.police.cases")))
        return await routing_db.cases.count_documents({"outbox_since": {"$exists": True}}) == 0

    await wait_until(nothing_more, what="the outbox drained")
    assert sorted(CaseAssigned.model_validate_json(m.body).report_id for m in messages) == sorted(
        [report.report_id, marker.report_id]
    )


async def test_poison_message_is_dead_lettered_and_the_next_report_still_routed(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    await reporter.publisher.exchange.publish(
        publish_raw(b"\xff\xfe not json"), routing_key="report.submitted"
    )
    await reporter.publisher.exchange.publish(
        publish_raw(b'{"type": "report.submitted", "report_id": "x"}'),
        routing_key="report.submitted",
    )
    good = await reporter.submit()
    await case_of(routing_db, good)

    dead_lettered: list[Any] = []

    async def dead() -> bool:
        dead_lettered.extend(await get_all(amqp_connection, topology.queue("routing.reports.dead")))
        return len(dead_lettered) >= 2

    await wait_until(dead, what="both poison messages dead-lettered")
    assert len(dead_lettered) == 2
    metrics = await (await routing.get("/metrics")).text()
    assert 'outcome="dead_lettered"' in metrics


async def test_unmatched_report_becomes_a_triage_case(
    routing_settings: RoutingSettings,
    tmp_path: Any,
    routing_db: MongoDatabase,
    reporter: Reporter,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        'version = "only-scams"\n[[agencies]]\nid = "police"\nname_vi = "CA"\nname_en = "P"\n'
        'default_deadline = "1h"\n[[rules]]\nid = "scam"\ncategory = "scam_fraud"\nagency = "police"\n'
        'deadline = "1h"\n'
    )
    settings = routing_settings.model_copy(update={"policy_path": policy, "tokens": {}})
    from tests.integration.routing.conftest import start_routing

    client = await start_routing(settings)
    try:
        report = await reporter.submit(Category.MEMBER_MISCONDUCT)
        case = await case_of(routing_db, report)
        assert case["agency"] == "triage" and case["status"] == "triage" and case["rule_id"] is None
        (message,) = await _queued(amqp_connection, topology, "triage", 1)
        assert message.routing_key == "case.assigned.triage"
    finally:
        await client.close()


async def test_bad_policy_file_stops_start_up_with_a_clear_message(
    routing_settings: RoutingSettings, tmp_path: Any
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        'version = "x"\n[[agencies]]\nid = "police"\nname_vi = "a"\nname_en = "b"\ndefault_deadline = "tomorrow"\n'
    )
    with pytest.raises(
        PolicyError, match=r"agency 'police' \(line 3\), field default_deadline: .*bad duration"
    ):
        create_app(routing_settings.model_copy(update={"policy_path": policy}))


async def test_tokens_for_unknown_principals_stop_start_up(
    routing_settings: RoutingSettings,
) -> None:
    with pytest.raises(ValueError, match="unknown principals \\['army'\\]"):
        create_app(routing_settings.model_copy(update={"tokens": {"abc": "army"}}))


async def test_openapi_health_and_readiness(routing: Client) -> None:
    document = await (await routing.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/cases/{case_id}/reassign" in document["paths"]
    assert "ReassignBody" in document["components"]["schemas"]
    ready = await (await routing.get("/readyz")).json()
    assert ready["checks"] == {
        "database": True,
        "broker": True,
        "broker-policies": True,
        "loop:outbox-relay": True,
        "loop:outbox-relay-backlog": True,
        "loop:api-key-usage": True,
    }


async def test_escalations_are_recorded_once_in_the_audit_log(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    topology: Topology,
    amqp_connection: AbstractRobustConnection,
) -> None:
    from datetime import UTC, datetime

    from services.common.contracts import CaseEscalated, new_event_id

    case = await case_of(routing_db, await reporter.submit())
    escalation = CaseEscalated(
        event_id=new_event_id(),
        occurred_at=datetime.now(UTC),
        case_id=case["_id"],
        report_id=case["report_id"],
        tracking_code=case["tracking_code"],
        agency="police",
        category=Category.SCAM_FRAUD,
        priority="high",
        status="assigned",
        level=1,
        due_at=case["due_at"],
        escalated_at=datetime.now(UTC),
        overdue_by_seconds=1.0,
        targets=["supervisor:police"],
    )
    publisher = await Publisher.open(amqp_connection, topology)
    await publisher.publish(escalation)
    await publisher.publish(escalation)

    # The next level, published after both copies: once it is stored, so are they.
    later = escalation.model_copy(
        update={"event_id": new_event_id(), "level": 2, "escalated_at": datetime.now(UTC)}
    )
    await publisher.publish(later)

    async def recorded() -> bool:
        return await routing_db.escalations.count_documents({"_id": later.event_id}) == 1

    await wait_until(recorded, what="the escalations recorded")
    stored = [d["_id"] async for d in routing_db.escalations.find({"case_id": case["_id"]})]
    assert sorted(stored) == sorted([escalation.event_id, later.event_id])
    # The case itself is not rewritten; its history shows the escalations in time order.
    case_doc = await routing_db.cases.find_one({"_id": case["_id"]})
    assert case_doc is not None and [e["action"] for e in case_doc["audit"]] == ["assign"]
    response = await routing.get(f"/api/v1/cases/{case['_id']}", headers=auth("police"))
    audit = [(e["action"], e.get("note")) for e in (await response.json())["audit"]]
    assert audit[1:] == [
        ("escalated", "level 1: supervisor:police"),
        ("escalated", "level 2: supervisor:police"),
    ]
