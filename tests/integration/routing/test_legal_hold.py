"""Legal holds through the agency API: a supervisor sets and lifts one, each change audited on
the case; agencies may see it but not change it; an unknown case is 404, a bad body a 422
naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.auth import hash_token
from services.common.mongo import MongoDatabase
from services.routing.case import Case
from services.routing.legalhold import end_of, today
from services.routing.planning import plan_new_case
from tests.integration.routing.conftest import TOKENS, auth
from tests.unit.routing.factory import POLICY, report

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
PATH = "/api/v1/cases/{}/legal-hold"
REASON = "Công an tỉnh yêu cầu giữ hồ sơ cho vụ án số 12/2026"


async def stored_case(routing_db: MongoDatabase, case_id: str = "held-1") -> Case:
    """A case of the police's, stored as routing stores it."""
    case, _ = plan_new_case(report(), POLICY, datetime.now(UTC), case_id=case_id)
    await routing_db.cases.insert_one(case.to_document())
    return case


async def reread(routing_db: MongoDatabase, case_id: str) -> dict[str, Any]:
    document = await routing_db.cases.find_one({"_id": case_id})
    assert document is not None
    return document


async def test_a_supervisor_sets_and_lifts_a_hold_each_change_audited(
    routing: Client, routing_db: MongoDatabase
) -> None:
    case = await stored_case(routing_db)
    path = PATH.format(case.case_id)
    until = today(datetime.now(UTC)) + timedelta(days=30)

    put = await routing.put(
        path,
        json={"reason": f"  {REASON} ", "until": until.isoformat()},
        headers=auth("supervisor"),
    )
    assert put.status == 200, await put.text()
    body = await put.json()
    assert body["case_id"] == case.case_id and body["in_force"] is True
    assert body["legal_hold"]["reason"] == REASON and body["legal_hold"]["until"] == str(until)
    assert body["legal_hold"]["set_by"] == "supervisor"
    supervisor_token = f"token:{hash_token(TOKENS['supervisor'])[:12]}"
    assert body["legal_hold"]["person"] == supervisor_token  # the credential that set it
    stored = await reread(routing_db, case.case_id)
    assert stored["legal_hold"]["until"] == until.isoformat()
    assert stored["legal_hold"]["ends_at"] == end_of(until)
    assert stored["version"] == case.version  # nothing the agency acts on changed
    line = stored["audit"][-1]
    assert (line["action"], line["actor"], line["from"], line["to"]) == (
        "legal_hold_set",
        "supervisor",
        case.status.value,
        case.status.value,
    )
    assert REASON in line["note"] and str(until) in line["note"]
    assert line["person"] == supervisor_token
    assert Case.from_document(stored).audit[-1].action == "legal_hold_set"

    seen = await routing.get(path, headers=auth("police"))  # the agency holding it sees it
    assert seen.status == 200 and (await seen.json())["legal_hold"]["reason"] == REASON

    lifted = await routing.delete(path, headers=auth("supervisor"))
    assert lifted.status == 204
    stored = await reread(routing_db, case.case_id)
    assert "legal_hold" not in stored
    assert stored["audit"][-1]["action"] == "legal_hold_lifted"
    assert REASON in stored["audit"][-1]["note"]
    assert stored["audit"][-1]["person"] == supervisor_token

    again = await routing.delete(path, headers=auth("supervisor"))  # nothing left to lift
    assert again.status == 404
    assert (await again.json())["error"]["message"] == "the case has no legal hold"
    assert len((await reread(routing_db, case.case_id))["audit"]) == len(stored["audit"])
    assert (await routing.get(path, headers=auth("supervisor"))).status == 404


async def test_a_hold_without_a_last_day_lasts_until_lifted(
    routing: Client, routing_db: MongoDatabase
) -> None:
    case = await stored_case(routing_db)
    put = await routing.put(
        PATH.format(case.case_id), json={"reason": REASON}, headers=auth("supervisor")
    )
    assert put.status == 200
    body = await put.json()
    assert body["in_force"] is True and body["legal_hold"]["until"] is None
    assert (await reread(routing_db, case.case_id))["legal_hold"]["ends_at"] is None


async def test_agencies_may_not_set_or_lift_a_hold(
    routing: Client, routing_db: MongoDatabase
) -> None:
    case = await stored_case(routing_db)
    path = PATH.format(case.case_id)
    for principal in ("police", "culture_office"):
        put = await routing.put(path, json={"reason": REASON}, headers=auth(principal))
        assert put.status == 403, principal
        assert "supervisor" in (await put.json())["error"]["message"]
        assert (await routing.delete(path, headers=auth(principal))).status == 403
    assert "legal_hold" not in await reread(routing_db, case.case_id)
    assert (await routing.put(path, json={"reason": REASON})).status == 401
    assert (await routing.get(path, headers=auth("police"))).status == 404  # none set


async def test_an_unknown_case_is_404(routing: Client, routing_db: MongoDatabase) -> None:
    path = PATH.format("no-such-case")
    put = await routing.put(path, json={"reason": REASON}, headers=auth("supervisor"))
    assert put.status == 404
    assert (await routing.delete(path, headers=auth("supervisor"))).status == 404
    assert (await routing.get(path, headers=auth("supervisor"))).status == 404
    assert await routing_db.cases.count_documents({}) == 0


async def test_a_malformed_stored_hold_is_a_409_and_a_new_hold_mends_it(
    routing: Client, routing_db: MongoDatabase
) -> None:
    case = await stored_case(routing_db)
    path = PATH.format(case.case_id)
    broken = {"reason": REASON, "set_at": "yesterday"}  # no set_by, a text for a time
    await routing_db.cases.update_one({"_id": case.case_id}, {"$set": {"legal_hold": broken}})
    for answer in (
        await routing.get(path, headers=auth("supervisor")),
        await routing.delete(path, headers=auth("supervisor")),
    ):
        assert answer.status == 409
        assert REASON not in await answer.text()
    put = await routing.put(path, json={"reason": REASON}, headers=auth("supervisor"))
    assert put.status == 200, await put.text()
    assert (await routing.get(path, headers=auth("supervisor"))).status == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 2001}, "reason"),
        ({"reason": REASON, "until": "2026-13-01"}, "until"),
        ({"reason": REASON, "until": 1767225600}, "until"),
        ({"reason": REASON, "until": "3000-01-01"}, "until"),
        ({"reason": REASON, "until": "yesterday"}, "until"),
        ({"reason": REASON, "unexpected": 1}, "unexpected"),
    ],
)
async def test_a_bad_body_is_a_422_naming_the_field(
    routing: Client, routing_db: MongoDatabase, body: dict[str, Any], field: str
) -> None:
    case = await stored_case(routing_db)
    if body.get("until") == "yesterday":
        body = {**body, "until": str(today(datetime.now(UTC)) - timedelta(days=1))}
    put = await routing.put(PATH.format(case.case_id), json=body, headers=auth("supervisor"))
    assert put.status == 422, await put.text()
    assert [e["field"] for e in (await put.json())["error"]["errors"]] == [field]
    assert "legal_hold" not in await reread(routing_db, case.case_id)


async def test_the_openapi_document_describes_the_hold_routes(routing: Client) -> None:
    document = await (await routing.get("/api/v1/openapi.json")).json()
    operations = document["paths"]["/api/v1/cases/{case_id}/legal-hold"]
    assert set(operations) == {"get", "put", "delete"}
    assert {"403", "404", "422"} <= set(operations["put"]["responses"])
    assert "204" in operations["delete"]["responses"]
    body = document["components"]["schemas"]["LegalHoldBody"]
    assert body["required"] == ["reason"] and "pattern" in body["properties"]["reason"]
