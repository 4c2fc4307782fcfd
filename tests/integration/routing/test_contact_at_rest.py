"""A reporter's contact is in clear nowhere outside the services holding it: not on the wire
(`report.submitted`), not in intake's database, not in routing's; it opens with the key ring
and with no other key."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Topology
from services.common.contracts import ReportSubmitted
from services.common.mongo import MongoDatabase, mongo_database
from services.common.sealing import UnknownKey, new_key_line, parse_key_ring
from tests.helpers import QueueProbe, opened_contact, wait_until
from tests.integration.intake.conftest import valid_report

pytestmark = pytest.mark.integration
Client = TestClient[Any, Any]
CONTACT = {"name": "Võ Thị Hạnh", "phone": "0912 777 888", "email": "vo.hanh@example.org"}
CLEAR = ("Võ Thị", "Hạnh", "777888", "777 888", "vo.hanh", "example.org")


async def _everything(db: MongoDatabase) -> str:
    """Every document of every collection of `db`, as text."""
    dumped = []
    for name in await db.list_collection_names():
        dumped += [json.dumps(doc, default=str) async for doc in db[name].find({})]
    return "\n".join(dumped)


def _in_clear(text: str) -> list[str]:
    return [piece for piece in CLEAR if piece in text]


async def test_the_contact_is_sealed_on_the_wire_and_in_both_databases(
    intake: Client,
    routing: Client,
    routing_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
    mongo_url: str,
    db_name: str,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "report.submitted")
    reply = await intake.post("/api/v1/reports", json=valid_report(contact=CONTACT))
    assert reply.status == 201, await reply.text()
    code = (await reply.json())["tracking_code"]

    (event,) = await probe.wait_for(1)
    assert isinstance(event, ReportSubmitted)
    wire = probe.messages[0].body.decode()
    assert _in_clear(wire) == [] and '"contact"' not in wire

    async def case() -> dict[str, Any] | None:
        return await routing_db.cases.find_one({"tracking_code": code})

    stored_case = await wait_until(case, what="the report's case")
    async with mongo_database(mongo_url, f"{db_name}_intake", timeout_ms=5000) as intake_db:
        assert _in_clear(await _everything(intake_db)) == []
        report = await intake_db.reports.find_one({"tracking_code": code})
    assert _in_clear(await _everything(routing_db)) == []

    assert report is not None and report["report"]["contact_sealed"] == event.contact_sealed
    opened = opened_contact(stored_case["report"], report["_id"])
    assert (
        opened is not None and opened.email == CONTACT["email"] and opened.name == CONTACT["name"]
    )
    assert event.contact_sealed is not None
    with pytest.raises(UnknownKey):
        parse_key_ring(new_key_line("other")).open_contact(event.contact_sealed, report["_id"])
