"""Several parties at once: an official's hijacked-account report reaches the police as owner
and the party committee as informed, each on its own queue, every later update reaching both,
and the reporter's contact only the owner."""

from __future__ import annotations

from typing import Any

import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Topology
from services.common.contracts import (
    CaseAssigned,
    CaseShared,
    CaseUpdated,
    Category,
    ReporterKind,
    parse_event,
)
from services.common.mongo import MongoDatabase
from services.routing.settings import RoutingSettings
from tests.helpers import get_all, wait_until
from tests.integration.routing.conftest import Reporter, auth, case_of, start_routing

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]


class AgencyQueue:
    """An agency's durable case queue, drained as the agency's system would."""

    def __init__(self, connection: AbstractRobustConnection, topology: Topology, agency: str):
        self.connection = connection
        self.name = topology.queue(f"agency.{agency}.cases")
        self.messages: list[AbstractIncomingMessage] = []

    async def wait_for(self, count: int) -> list[AbstractIncomingMessage]:
        """At least `count` messages in all, waiting for them."""

        async def enough() -> bool:
            self.messages.extend(await get_all(self.connection, self.name))
            return len(self.messages) >= count

        await wait_until(enough, what=f"{count} messages on {self.name}")
        return self.messages


async def test_an_officials_hijacked_account_reaches_the_police_and_informs_the_party_committee(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    police = AgencyQueue(amqp_connection, topology, "police")
    party = AgencyQueue(amqp_connection, topology, "party_committee")
    report = await reporter.submit(Category.HIJACKED_ACCOUNT, reporter_kind=ReporterKind.OFFICIAL)
    case_id = str((await case_of(routing_db, report))["_id"])

    [owned] = await police.wait_for(1)
    [shared] = await party.wait_for(1)
    assert owned.routing_key == "case.assigned.police"
    assigned = parse_event(owned.body)
    assert isinstance(assigned, CaseAssigned) and assigned.informed == ["party_committee"]
    assert shared.routing_key == "case.shared.party_committee"
    copy = parse_event(shared.body)
    assert isinstance(copy, CaseShared) and copy.case_id == case_id
    assert (copy.agency, copy.shared_with, copy.action, copy.version) == (
        "police",
        "party_committee",
        "assign",
        1,
    )
    assert b"0905123456" not in shared.body and b"0905123456" not in owned.body

    acknowledged = await routing.post(
        f"/api/v1/cases/{case_id}/acknowledge", json={"note": "đã nhận"}, headers=auth("police")
    )
    assert acknowledged.status == 200
    update = parse_event((await police.wait_for(2))[1].body)
    assert isinstance(update, CaseUpdated) and (update.action, update.version) == ("acknowledge", 2)
    assert update.note == "đã nhận"
    later = (await party.wait_for(2))[1]
    assert later.routing_key == "case.shared.party_committee"
    later_copy = parse_event(later.body)
    assert isinstance(later_copy, CaseShared)
    assert (later_copy.action, later_copy.version, later_copy.status.value) == (
        "acknowledge",
        2,
        "acknowledged",
    )
    assert "đã nhận" not in later_copy.model_dump_json()  # the note stays with the owner

    owner_view = await (
        await routing.get(f"/api/v1/cases/{case_id}", headers=auth("police"))
    ).json()
    assert owner_view["report"]["has_contact"] is True
    assert owner_view["read_only"] is False and owner_view["informed"] == ["party_committee"]

    informed_view = await (
        await routing.get(f"/api/v1/cases/{case_id}", headers=auth("party_committee"))
    ).json()
    assert informed_view["case_id"] == case_id and informed_view["status"] == "acknowledged"
    assert informed_view["report"]["has_contact"] is False
    assert all(r["has_contact"] is False for r in informed_view["reports"])
    refused = await routing.get(f"/api/v1/cases/{case_id}/contact", headers=auth("party_committee"))
    assert refused.status == 403 and refused.headers["Cache-Control"] == "no-store"
    assert informed_view["read_only"] is True and informed_view["allowed_actions"] == []

    listed = await (await routing.get("/api/v1/cases", headers=auth("party_committee"))).json()
    [summary] = [c for c in listed["cases"] if c["case_id"] == case_id]
    assert summary["read_only"] is True and summary["agency"] == "police"
    held_only = await (
        await routing.get(
            "/api/v1/cases", params={"agency": "party_committee"}, headers=auth("party_committee")
        )
    ).json()
    assert case_id not in [c["case_id"] for c in held_only["cases"]]


async def test_an_informed_agency_may_not_act_and_others_do_not_see_the_case(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    report = await reporter.submit(Category.IMPERSONATION, reporter_kind=ReporterKind.OFFICIAL)
    case_id = str((await case_of(routing_db, report))["_id"])
    party = auth("party_committee")
    refused = await routing.post(f"/api/v1/cases/{case_id}/acknowledge", headers=party)
    assert refused.status == 403 and "informed only" in (await refused.json())["error"]["message"]
    takedown = await routing.post(
        f"/api/v1/cases/{case_id}/takedowns",
        json={"channel": "email", "asked": "remove"},
        headers=party,
    )
    assert takedown.status == 403
    listed = await routing.get(f"/api/v1/cases/{case_id}/takedowns", headers=party)
    assert listed.status == 200 and len((await listed.json())["takedowns"]) == 1
    assert (
        await routing.get(f"/api/v1/cases/{case_id}", headers=auth("culture_office"))
    ).status == 404
    stored = await routing_db.cases.find_one({"_id": case_id})
    assert stored is not None and stored["version"] == 1


async def test_cases_stored_before_informing_existed_are_still_listed_after_a_restart(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    routing_settings: RoutingSettings,
) -> None:
    case_id = str((await case_of(routing_db, await reporter.submit()))["_id"])
    await routing_db.cases.update_one({"_id": case_id}, {"$unset": {"readers": ""}})
    assert case_id not in await _listed(routing, "police")  # the list finds cases by readers

    restarted = await start_routing(routing_settings)
    try:
        stored = await routing_db.cases.find_one({"_id": case_id})
        assert stored is not None and stored["readers"] == ["police"]
        assert case_id in await _listed(restarted, "police")
    finally:
        await restarted.close()


async def _listed(client: Client, agency: str) -> list[str]:
    page = await (await client.get("/api/v1/cases", headers=auth(agency))).json()
    return [c["case_id"] for c in page["cases"]]


async def test_the_informed_agency_keeps_following_a_case_reassigned_elsewhere(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    party = AgencyQueue(amqp_connection, topology, "party_committee")
    report = await reporter.submit(Category.IMPERSONATION, reporter_kind=ReporterKind.OFFICIAL)
    case_id = str((await case_of(routing_db, report))["_id"])
    moved = await routing.post(
        f"/api/v1/cases/{case_id}/reassign",
        json={"agency": "culture_office", "reason": "trang giả mạo sở văn hóa"},
        headers=auth("supervisor"),
    )
    assert moved.status == 200 and (await moved.json())["informed"] == ["party_committee"]
    events = [parse_event(m.body) for m in await party.wait_for(3)]
    copies = [e for e in events if isinstance(e, CaseShared)]
    assert len(copies) == len(events)
    assert [(c.agency, c.version) for c in copies] == [
        ("police", 1),
        ("police", 2),
        ("culture_office", 3),
    ]
    assert case_id in await _listed(routing, "party_committee")
