"""Evidence from a reporter's upload to the agency holding the case: intake stores the files,
routing signs links for the holder only, intake serves them while the case is still theirs."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from services.common.mongo import MongoDatabase
from services.routing.settings import RoutingSettings
from tests.evidence_samples import pdf, photo_with_gps
from tests.helpers import wait_until
from tests.integration.intake.conftest import valid_report
from tests.integration.routing.conftest import auth, start_routing

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]


@pytest.fixture
async def linked_routing(
    routing_settings: RoutingSettings, intake: Client
) -> AsyncIterator[Client]:
    """Routing whose links point at the intake under test."""
    base = str(intake.make_url("/")).rstrip("/")
    client = await start_routing(routing_settings.model_copy(update={"intake_public_url": base}))
    yield client
    await client.close()


async def submit_with_files(intake: Client, files: list[tuple[str, bytes]]) -> str:
    form = aiohttp.FormData()
    form.add_field("report", json.dumps(valid_report()), content_type="application/json")
    for name, data in files:
        form.add_field("evidence", io.BytesIO(data), filename=name)
    response = await intake.post("/api/v1/reports", data=form)
    assert response.status == 201, await response.text()
    return str((await response.json())["tracking_code"])


async def case_with_evidence(routing: Client, routing_db: MongoDatabase, code: str) -> str:
    async def stored() -> str | None:
        case = await routing_db.cases.find_one({"tracking_code": code})
        return str(case["_id"]) if case and case["report"].get("evidence") else None

    return await wait_until(stored, what=f"the case of {code} with its evidence")


async def evidence(routing: Client, case_id: str, principal: str) -> list[dict[str, Any]]:
    response = await routing.get(f"/api/v1/cases/{case_id}", headers=auth(principal))
    assert response.status == 200
    files: list[dict[str, Any]] = (await response.json())["evidence"]
    return files


async def fetch(intake: Client, url: str) -> aiohttp.ClientResponse:
    """Open an absolute link routing made (it names the intake under test)."""
    parts = urlsplit(url)
    return await intake.get(f"{parts.path}?{parts.query}")


async def opens(intake: Client, url: str) -> bool:
    return (await fetch(intake, url)).status == 200


async def test_holding_agency_opens_its_files_and_loses_them_when_the_case_moves(
    intake: Client, linked_routing: Client, routing_db: MongoDatabase
) -> None:
    photo, document = photo_with_gps(), pdf()
    code = await submit_with_files(intake, [("scam.jpg", photo), ("receipt.pdf", document)])
    case_id = await case_with_evidence(linked_routing, routing_db, code)

    police = await evidence(linked_routing, case_id, "police")
    assert [f["filename"] for f in police] == ["scam.jpg", "receipt.pdf"]
    assert all(f["url"] and f["expires_at"] for f in police)
    assert urlsplit(police[0]["url"]).query.count("agency=police") == 1
    # Intake learns the case from routing's events; until then even a good link is refused.
    await wait_until(lambda: opens(intake, police[0]["url"]), what="the police link works")
    opened = await fetch(intake, police[1]["url"])
    assert await opened.read() == document
    assert police[1]["sha256_received"] == police[1]["sha256_stored"]

    supervisor = await evidence(linked_routing, case_id, "supervisor")
    assert [f["url"] for f in supervisor] == [None, None]
    assert [f["sha256_stored"] for f in supervisor] == [f["sha256_stored"] for f in police]

    moved = await linked_routing.post(
        f"/api/v1/cases/{case_id}/reassign",
        json={"agency": "culture_office", "reason": "nội dung độc hại, không phải lừa đảo"},
        headers=auth("police"),
    )
    assert moved.status == 200
    culture = await evidence(linked_routing, case_id, "culture_office")
    await wait_until(lambda: opens(intake, culture[0]["url"]), what="the new agency's link works")
    assert (await fetch(intake, police[0]["url"])).status == 403  # the old holder's link
    assert (
        await linked_routing.get(f"/api/v1/cases/{case_id}", headers=auth("police"))
    ).status == 404


async def test_cases_without_files_list_no_evidence(
    intake: Client, linked_routing: Client, routing_db: MongoDatabase
) -> None:
    response = await intake.post("/api/v1/reports", json=valid_report())
    code = (await response.json())["tracking_code"]

    async def stored() -> str | None:
        case = await routing_db.cases.find_one({"tracking_code": code})
        return str(case["_id"]) if case else None

    case_id = await wait_until(stored, what="the case")
    assert await evidence(linked_routing, case_id, "police") == []
