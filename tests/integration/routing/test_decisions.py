"""Decisions through the agency API: stored whole, announced with their public part only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Topology
from services.common.contracts import CaseUpdated
from services.common.mongo import MongoDatabase
from tests.helpers import QueueProbe, reject_body, resolve_body
from tests.integration.routing.conftest import Reporter, auth, case_of

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
INTERNAL_NOTE = "Đã gọi điện cho đầu mối của nền tảng (nội bộ)."
LEGAL_TEXT = "Khoản 2 (nội bộ: số văn bản yêu cầu 123/CV)."


async def test_a_decision_is_stored_whole_and_announced_without_internal_text(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "case.updated.#")
    case = await case_of(routing_db, await reporter.submit())
    url = f"/api/v1/cases/{case['_id']}"
    assert (await routing.post(f"{url}/start", headers=auth("police"))).status == 200
    body = resolve_body(INTERNAL_NOTE, legal_basis_text=LEGAL_TEXT)
    reply = await routing.post(f"{url}/resolve", json=body, headers=auth("police"))
    assert reply.status == 200, await reply.text()
    detail = await reply.json()
    assert detail["status"] == "resolved" and detail["outcome"] == "removed_by_platform"
    decision = detail["decision"]
    assert (decision["legal_basis"], decision["legal_basis_text"], decision["decided_by"]) == (
        "nd147-2024-removal",
        LEGAL_TEXT,
        "police",
    )
    assert decision["legal_basis_title"].startswith("Nghị định 147/2024/NĐ-CP")
    assert detail["decisions"] == [decision] and decision["appeal_until"] is not None
    [event] = [e for e in await probe.wait_for(2) if isinstance(e, CaseUpdated)][-1:]
    assert event.action == "resolve" and event.decision is not None
    assert event.decision.explanation == body["explanation"]
    assert event.decision.appeal_until == datetime.fromisoformat(decision["appeal_until"])
    raw = probe.messages[-1].body.decode()
    assert LEGAL_TEXT not in raw and "decided_by" not in raw, "the public part only"


async def test_an_unknown_legal_basis_or_a_resolve_outcome_on_reject_is_422_naming_it(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case = await case_of(routing_db, await reporter.submit())
    url = f"/api/v1/cases/{case['_id']}/reject"
    for body, field in (
        (reject_body(legal_basis="nd-0-2099"), "legal_basis"),
        (reject_body(outcome="account_restored"), "outcome"),
        (reject_body(explanation="x" * 2001), "explanation"),
        (reject_body(explanation=" \n\t "), "explanation"),
        # Over the published maxLength as sent, though not once trimmed (a fuzzer finding).
        (reject_body(legal_basis_text="Khoản 2" + "\n" * 2000), "legal_basis_text"),
        (reject_body(explanation="x" * 1990 + " " * 20), "explanation"),
    ):
        reply = await routing.post(url, json=body, headers=auth("police"))
        assert reply.status == 422, await reply.text()
        assert field in {e["field"] for e in (await reply.json())["error"]["errors"]}
    stored = await routing_db.cases.find_one({"_id": case["_id"]})
    assert stored is not None and stored["version"] == 1 and stored.get("decision") is None
