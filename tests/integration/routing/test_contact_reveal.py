"""Reporters' contacts in routing: sealed in the cases, revealed only to the agency holding the
case by GET /api/v1/cases/{id}/contact, each reveal in the audit log; a report sent before
sealing is sealed on receipt, and clear contacts left in the database are sealed at start."""

from __future__ import annotations

import json
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient, make_mocked_request

from services.common.amqp import Topology, declare_exchanges
from services.common.auth import hash_token
from services.common.contracts import ErasureReason, ReportContactErased, event_occurred
from services.common.migrations import MIGRATIONS
from services.common.mongo import MongoDatabase
from services.routing.api import ROUTING
from services.routing.contact_api import RevealFailed, reveal
from services.routing.settings import RoutingSettings
from tests.helpers import REPORTER_CONTACT, opened_contact, report_event, wait_until
from tests.integration.routing.conftest import TOKENS, Reporter, auth, case_of, start_routing

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]


def _reveals(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [line for line in case["audit"] if line["action"] == "contact_revealed"]


async def _stored(db: MongoDatabase, case_id: str) -> dict[str, Any]:
    case = await db.cases.find_one({"_id": case_id})
    assert case is not None
    return case


async def test_the_holding_agency_reveals_the_contact_and_the_audit_log_names_the_caller(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    report = await reporter.submit()
    case_id = str((await case_of(routing_db, report))["_id"])
    path = f"/api/v1/cases/{case_id}/contact"

    revealed = await routing.get(path, headers=auth("police"))
    assert revealed.status == 200 and revealed.headers["Cache-Control"] == "no-store"
    (contact,) = (await revealed.json())["contacts"]
    assert contact["report_id"] == report.report_id
    assert (contact["name"], contact["phone"]) == ("Trần Thị B", "0905123456")
    (line,) = _reveals(await _stored(routing_db, case_id))
    assert line["actor"] == "police" and line["agency"] == "police"
    assert line["person"] == f"token:{hash_token(TOKENS['police'])[:12]}"
    assert report.tracking_code in line["note"]

    one = await routing.get(path, params={"report_id": report.report_id}, headers=auth("police"))
    assert one.status == 200 and len(_reveals(await _stored(routing_db, case_id))) == 2
    unknown = await routing.get(path, params={"report_id": "nope"}, headers=auth("police"))
    assert unknown.status == 404
    assert (await unknown.json())["error"]["errors"][0]["field"] == "report_id"

    for principal, status in (("supervisor", 403), ("culture_office", 404)):
        refused = await routing.get(path, headers=auth(principal))
        assert refused.status == status, principal
        assert "Trần" not in await refused.text()
    assert (await routing.get(path)).status == 401
    assert len(_reveals(await _stored(routing_db, case_id))) == 2  # refusals reveal nothing


async def test_an_erased_contact_is_gone_and_an_anonymous_report_has_none(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    report = await reporter.submit()
    case_id = str((await case_of(routing_db, report))["_id"])
    erasure = ReportContactErased(
        **event_occurred(report.occurred_at),
        report_id=report.report_id,
        tracking_code=report.tracking_code,
        erased_at=report.occurred_at,
        reason=ErasureReason.REPORTER_REQUEST,
    )
    await reporter.publisher.publish(erasure)

    async def erased() -> bool:
        return (await _stored(routing_db, case_id))["report"]["contact_sealed"] is None

    await wait_until(erased, what="the contact erased")
    gone = await routing.get(f"/api/v1/cases/{case_id}/contact", headers=auth("police"))
    assert gone.status == 410

    anonymous = await reporter.submit(anonymous=True, contact=None)
    other = str((await case_of(routing_db, anonymous))["_id"])
    none = await routing.get(f"/api/v1/cases/{other}/contact", headers=auth("police"))
    assert none.status == 404


async def test_a_contact_erased_while_it_is_being_revealed_is_not_handed_out(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    report = await reporter.submit()
    case_id = str((await case_of(routing_db, report))["_id"])
    app = routing.app
    assert app is not None
    read = await app[ROUTING].repository.get(case_id)  # the case as the reveal loaded it
    assert read is not None
    await routing_db.cases.update_one(  # an erasure lands before the audit write
        {"_id": case_id},
        {"$set": {"report.contact_sealed": None, "reports.0.contact_sealed": None}},
    )
    request = make_mocked_request("GET", f"/api/v1/cases/{case_id}/contact", app=app)
    with pytest.raises(RevealFailed) as refused:
        await reveal(request, read, "police", None, None, None)
    assert refused.value.status == 410
    assert _reveals(await _stored(routing_db, case_id)) == []  # nothing was revealed


async def _publish_raw(
    connection: AbstractRobustConnection, topology: Topology, body: dict[str, Any]
) -> None:
    channel = await connection.channel()
    exchange = await declare_exchanges(channel, topology)
    message = aio_pika.Message(
        json.dumps(body).encode(),
        message_id=body["event_id"],
        type=body["type"],
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
    await exchange.publish(message, routing_key=body["type"])
    await channel.close()


async def test_a_report_sent_before_sealing_has_its_contact_sealed_on_receipt(
    routing: Client,
    routing_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    event = report_event(900, contact=None)
    legacy = {**json.loads(event.model_dump_json()), "contact": REPORTER_CONTACT}
    legacy.pop("contact_sealed")
    await _publish_raw(amqp_connection, topology, legacy)

    case = await case_of(routing_db, event)
    assert "Trần" not in json.dumps(case, default=str)
    contact = opened_contact(case["report"], event.report_id)
    assert contact is not None and contact.phone == REPORTER_CONTACT["phone"]
    assert opened_contact(case["reports"][0], event.report_id) == contact


async def test_clear_contacts_left_in_the_database_are_sealed_at_start(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    routing_settings: RoutingSettings,
) -> None:
    report = await reporter.submit()
    case = await case_of(routing_db, report)
    await routing.close()
    await routing_db.cases.update_one(
        {"_id": case["_id"]},
        {
            "$set": {"report.contact": REPORTER_CONTACT, "reports.0.contact": REPORTER_CONTACT},
            "$unset": {"report.contact_sealed": "", "reports.0.contact_sealed": ""},
        },
    )
    await routing_db[MIGRATIONS].delete_many({})

    restarted = await start_routing(routing_settings)
    try:
        stored = await _stored(routing_db, str(case["_id"]))
        assert "Trần" not in json.dumps(stored, default=str)
        for part in (stored["report"], stored["reports"][0]):
            contact = opened_contact(part, report.report_id)
            assert contact is not None and contact.name == REPORTER_CONTACT["name"]
        # nothing else changed; the version goes up, so a write planned on the version read
        # before (a split, a merge) cannot put the clear contact back
        assert stored["version"] == case["version"] + 1
    finally:
        await restarted.close()
