"""The agency API: authentication, isolation, every action, illegal transitions, concurrency."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Topology
from services.common.auth import hash_token
from services.common.contracts import CaseAssigned, CaseUpdated, Category
from services.common.mongo import MongoDatabase
from tests.helpers import QueueProbe, reject_body, resolve_body
from tests.integration.routing.conftest import TOKENS, Reporter, auth, case_of, set_due

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]


async def _case(
    routing_db: MongoDatabase, reporter: Reporter, category: Category = Category.SCAM_FRAUD
) -> str:
    case = await case_of(routing_db, await reporter.submit(category))
    return str(case["_id"])


async def _act(
    client: Client, case_id: str, action: str, principal: str = "police", **body: Any
) -> Any:
    return await client.post(
        f"/api/v1/cases/{case_id}/{action}", json=body, headers=auth(principal)
    )


async def test_no_or_unknown_token_is_401(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case_id = await _case(routing_db, reporter)
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = await routing.get(f"/api/v1/cases/{case_id}", headers=headers)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await routing.post(f"/api/v1/cases/{case_id}/acknowledge")).status == 401


async def test_an_agency_never_sees_another_agencys_case(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    police_case = await _case(routing_db, reporter, Category.SCAM_FRAUD)
    culture_case = await _case(routing_db, reporter, Category.HARMFUL_CONTENT)
    assert (
        await routing.get(f"/api/v1/cases/{police_case}", headers=auth("culture_office"))
    ).status == 404
    assert (await _act(routing, police_case, "acknowledge", "culture_office")).status == 404
    assert (await routing.get("/api/v1/cases/does-not-exist", headers=auth("police"))).status == 404
    listed = await (await routing.get("/api/v1/cases", headers=auth("culture_office"))).json()
    assert [c["case_id"] for c in listed["cases"]] == [culture_case]


async def test_the_case_says_a_contact_exists_only_to_the_holding_agency_and_never_holds_it(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case_id = await _case(routing_db, reporter)
    mine = await (await routing.get(f"/api/v1/cases/{case_id}", headers=auth("police"))).json()
    assert mine["report"]["has_contact"] is True and mine["reports"][0]["has_contact"] is True
    assert "0905123456" not in json.dumps(mine) and "contact" not in mine["report"]
    supervised = await (
        await routing.get(f"/api/v1/cases/{case_id}", headers=auth("supervisor"))
    ).json()
    assert supervised["report"]["has_contact"] is False
    assert supervised["case_id"] == case_id


async def test_full_lifecycle_is_audited_and_announced(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "case.updated.#")
    case_id = await _case(routing_db, reporter)
    acknowledged = await (await _act(routing, case_id, "acknowledge", note="đã nhận")).json()
    assert acknowledged["status"] == "acknowledged" and acknowledged["version"] == 2
    assert acknowledged["due_at"] is not None  # now the resolution deadline (7 days)
    assert (await _act(routing, case_id, "start")).status == 200
    assert (await _act(routing, case_id, "notes", note="liên hệ Facebook")).status == 200
    resolved = await (await _act(routing, case_id, "resolve", **resolve_body("đã gỡ trang"))).json()
    assert (
        resolved["status"] == "resolved"
        and resolved["outcome"] == "removed_by_platform"
        and resolved["due_at"] is None
    )
    assert [(e["action"], e["from_status"], e["to_status"]) for e in resolved["audit"]] == [
        ("assign", None, "assigned"),
        ("acknowledge", "assigned", "acknowledged"),
        ("start", "acknowledged", "in_progress"),
        ("note", "in_progress", "in_progress"),
        ("resolve", "in_progress", "resolved"),
    ]
    assert all(e["actor"] in ("routing", "police") for e in resolved["audit"])
    # Each line an agency's system wrote names the credential it called with.
    token = f"token:{hash_token(TOKENS['police'])[:12]}"
    assert [e["person"] for e in resolved["audit"]] == [None, token, token, token, token]
    events = await probe.wait_for(4)
    assert [(e.action, e.version) for e in events if isinstance(e, CaseUpdated)] == [
        ("acknowledge", 2),
        ("start", 3),
        ("note", 4),
        ("resolve", 5),
    ]
    assert probe.messages[-1].routing_key == "case.updated.police"


async def test_illegal_transition_is_409_listing_the_allowed_actions(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case_id = await _case(routing_db, reporter)
    response = await _act(routing, case_id, "resolve", **resolve_body("x"))
    assert response.status == 409
    body = await response.json()
    assert body["error"]["allowed_actions"] == [
        "acknowledge",
        "start",
        "reject",
        "reassign",
        "note",
    ]
    stored = await routing_db.cases.find_one({"_id": case_id})
    assert stored is not None and stored["version"] == 1 and stored["status"] == "assigned"


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("resolve", {"note": "x"}, "outcome"),
        ("resolve", {"outcome": "vanished", "note": "x"}, "outcome"),
        ("resolve", resolve_body(legal_basis="nd-999-2030"), "legal_basis"),
        ("resolve", resolve_body(explanation=" "), "explanation"),
        ("resolve", resolve_body(explanation="x" * 2001), "explanation"),
        ("reject", reject_body(outcome="removed_by_platform"), "outcome"),
        ("reject", {}, "reason"),
        ("reject", {"reason": "   "}, "reason"),
        ("reassign", {"agency": "culture_office"}, "reason"),
        ("notes", {"note": "x", "extra": 1}, "extra"),
        ("acknowledge", {"note": "x" * 5001}, "note"),
    ],
)
async def test_bad_action_bodies_are_422_naming_the_field(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    action: str,
    body: dict[str, Any],
    field: str,
) -> None:
    case_id = await _case(routing_db, reporter)
    if action == "resolve":
        await _act(routing, case_id, "acknowledge")
    response = await _act(routing, case_id, action, **body)
    assert response.status == 422
    assert field in {e["field"] for e in (await response.json())["error"]["errors"]}


async def test_reassignment_moves_the_case_with_a_new_deadline_and_both_events(
    routing: Client,
    routing_db: MongoDatabase,
    reporter: Reporter,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "case.#")
    case_id = await _case(routing_db, reporter, Category.FALSE_INFORMATION)
    await _act(routing, case_id, "acknowledge", "culture_office")
    response = await _act(
        routing,
        case_id,
        "reassign",
        "culture_office",
        agency="police",
        reason="lừa đảo, không phải tin giả",
    )
    moved = await response.json()
    assert response.status == 200
    assert moved["agency"] == "police" and moved["status"] == "assigned" and moved["version"] == 4
    assert moved["report"]["has_contact"] is False  # the caller no longer holds it
    assert (await routing.get(f"/api/v1/cases/{case_id}", headers=auth("police"))).status == 200
    assert (
        await routing.get(f"/api/v1/cases/{case_id}", headers=auth("culture_office"))
    ).status == 404
    events = {e.version: e for e in await probe.wait_for(4) if hasattr(e, "version")}
    left, assigned = events[3], events[4]
    assert (
        isinstance(left, CaseUpdated)
        and left.agency == "culture_office"
        and left.reassigned_to == "police"
    )
    assert (
        isinstance(assigned, CaseAssigned)
        and assigned.agency == "police"
        and assigned.previous_agency == "culture_office"
    )
    assert (left.version, assigned.version) == (3, 4)
    assert assigned.due_at is not None


async def test_reassigning_to_an_unknown_agency_is_422_and_to_the_same_one_409(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case_id = await _case(routing_db, reporter)
    response = await _act(routing, case_id, "reassign", agency="army", reason="x")
    assert response.status == 422
    same = await _act(routing, case_id, "reassign", agency="police", reason="x")
    assert same.status == 409, "a valid body in conflict with the case's state"


async def test_an_agency_asking_for_another_agencys_list_is_422(routing: Client) -> None:
    for agency in ("culture_office", "null"):
        reply = await routing.get(f"/api/v1/cases?agency={agency}", headers=auth("police"))
        assert reply.status == 422
        assert [e["field"] for e in (await reply.json())["error"]["errors"]] == ["agency"]
    own = await routing.get("/api/v1/cases?agency=police", headers=auth("police"))
    assert own.status == 200


async def test_supervisor_assigns_a_triage_case(
    routing_settings: Any, tmp_path: Any, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    from tests.integration.routing.conftest import start_routing

    policy = tmp_path / "policy.toml"
    policy.write_text(
        'version = "p"\n[[agencies]]\nid = "police"\nname_vi = "CA"\nname_en = "P"\ndefault_deadline = "2h"\n'
    )
    settings = routing_settings.model_copy(
        update={
            "policy_path": policy,
            "tokens": {
                k: v for k, v in routing_settings.tokens.items() if v in ("police", "supervisor")
            },
        }
    )
    client = await start_routing(settings)
    try:
        case_id = await _case(routing_db, reporter)
        assert (await _act(client, case_id, "acknowledge", "police")).status == 404
        triage = await (
            await client.get("/api/v1/cases?status=triage", headers=auth("supervisor"))
        ).json()
        assert [c["case_id"] for c in triage["cases"]] == [case_id]
        assigned = await (
            await _act(client, case_id, "reassign", "supervisor", agency="police", reason="lừa đảo")
        ).json()
        assert assigned["agency"] == "police" and assigned["status"] == "assigned"
        assert (await _act(client, case_id, "acknowledge", "police")).status == 200
    finally:
        await client.close()


async def test_concurrent_actions_never_lose_an_update(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case_id = await _case(routing_db, reporter)
    notes = [f"ghi chú {n}" for n in range(8)]
    responses = await asyncio.gather(*(_act(routing, case_id, "notes", note=n) for n in notes))
    assert sorted(r.status for r in responses) == [200] * 8
    stored = await routing_db.cases.find_one({"_id": case_id})
    assert stored is not None
    assert sorted(n["text"] for n in stored["notes"]) == sorted(notes)
    assert stored["version"] == 9 and len(stored["audit"]) == 9


def most_urgent_first(cases: list[dict[str, Any]]) -> list[str]:
    """Open cases with a deadline by their nearer deadline, then open ones without, newest first, then
    closed ones, newest first; ties by id."""

    def key(case: dict[str, Any]) -> tuple[int, float, str]:
        is_open = case["status"] not in ("resolved", "rejected")
        deadlines = [at for at in (case.get("due_at"), case.get("legal_due_at")) if at]
        if is_open and deadlines:  # the nearer of the internal and the legal clock
            return 0, min(deadlines).timestamp(), case["_id"]
        return 1 if is_open else 2, -case["created_at"].timestamp(), case["_id"]

    return [c["_id"] for c in sorted(cases, key=key)]


async def test_list_filters_and_paginates_most_urgent_first(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    ids = [await _case(routing_db, reporter) for _ in range(5)]
    await _act(routing, ids[0], "acknowledge")
    page1 = await (await routing.get("/api/v1/cases?limit=2", headers=auth("police"))).json()
    page2 = await (
        await routing.get(
            f"/api/v1/cases?limit=2&cursor={page1['next_cursor']}", headers=auth("police")
        )
    ).json()
    page3 = await (
        await routing.get(
            f"/api/v1/cases?limit=2&cursor={page2['next_cursor']}", headers=auth("police")
        )
    ).json()
    listed = [c["case_id"] for page in (page1, page2, page3) for c in page["cases"]]
    stored = await routing_db.cases.find({"_id": {"$in": ids}}).to_list()
    assert listed == most_urgent_first(stored) and page3["next_cursor"] is None
    acknowledged = await (
        await routing.get("/api/v1/cases?status=acknowledged", headers=auth("police"))
    ).json()
    assert [c["case_id"] for c in acknowledged["cases"]] == [ids[0]]
    assert (await (await routing.get("/api/v1/cases?overdue=true", headers=auth("police"))).json())[
        "cases"
    ] == []
    bad = await routing.get("/api/v1/cases?status=lost&limit=0", headers=auth("police"))
    assert bad.status == 422
    assert {e["field"] for e in (await bad.json())["error"]["errors"]} == {"status", "limit"}
    assert (await routing.get("/api/v1/cases?cursor=%%%", headers=auth("police"))).status == 422


async def test_the_most_overdue_case_leads_page_one_however_many_newer_cases_exist(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    ids = [await _case(routing_db, reporter) for _ in range(60)]
    long_overdue = datetime.now(UTC) - timedelta(days=3)
    await set_due(routing_db, ids[0], long_overdue)
    closed = await _act(routing, ids[1], "reject", **reject_body("không đủ thông tin để xử lý"))
    assert closed.status == 200, await closed.text()
    first = await (await routing.get("/api/v1/cases?limit=50", headers=auth("police"))).json()
    assert first["cases"][0]["case_id"] == ids[0]
    listed, cursor = [], ""
    while True:
        page = await (
            await routing.get(f"/api/v1/cases?limit=7{cursor}", headers=auth("police"))
        ).json()
        listed += [c["case_id"] for c in page["cases"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    stored = await routing_db.cases.find({"_id": {"$in": ids}}).to_list()
    assert listed == most_urgent_first(stored)
    assert listed[-1] == ids[1], "closed cases come last"


async def test_the_overdue_filter_is_exactly_the_open_cases_past_their_deadline(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    ids = [await _case(routing_db, reporter) for _ in range(4)]
    now = datetime.now(UTC)
    await set_due(routing_db, ids[0], now - timedelta(hours=2))
    await set_due(routing_db, ids[1], now - timedelta(hours=1))
    await set_due(routing_db, ids[2], now - timedelta(hours=3))
    closed = await _act(routing, ids[2], "reject", **reject_body("trùng lặp"))
    assert closed.status == 200

    async def listed(query: str) -> list[str]:
        reply = await routing.get(f"/api/v1/cases?{query}", headers=auth("police"))
        assert reply.status == 200, await reply.text()
        return [c["case_id"] for c in (await reply.json())["cases"]]

    assert await listed("overdue=true") == [ids[0], ids[1]]
    assert await listed("overdue=false") == [ids[3], ids[2]]
    assert [c for c in await listed("overdue=true&limit=1")] == [ids[0]]


async def test_an_action_reply_is_the_case_as_stored(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case_id = await _case(routing_db, reporter)
    before = await routing_db.cases.find_one({"_id": case_id})
    assert before is not None
    reply = await _act(routing, case_id, "acknowledge", note="Đã nhận")
    assert reply.status == 200
    body = await reply.json()
    stored = await routing_db.cases.find_one({"_id": case_id})
    assert stored is not None and stored["updated_at"] != before["updated_at"]
    assert datetime.fromisoformat(body["updated_at"]) == stored["updated_at"]
    assert body["version"] == stored["version"] == 2
    assert [e["action"] for e in body["audit"]] == ["assign", "acknowledge"]


async def test_an_unreadable_case_never_answers_500(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter, caplog: pytest.LogCaptureFixture
) -> None:
    broken, fine = [await _case(routing_db, reporter) for _ in range(2)]
    await routing_db.cases.update_one({"_id": broken}, {"$unset": {"tracking_code": ""}})
    for _ in range(2):
        page = await routing.get("/api/v1/cases", headers=auth("police"))
        assert page.status == 200
        assert [c["case_id"] for c in (await page.json())["cases"]] == [fine]
    logged = [r for r in caplog.records if r.getMessage().startswith("stored case is unreadable")]
    assert len(logged) == 1, "logged once, however often it is met"
    one = await routing.get(f"/api/v1/cases/{broken}", headers=auth("police"))
    assert one.status == 409 and "malformed" in (await one.json())["error"]["message"]
    assert (await _act(routing, broken, "acknowledge")).status == 409
    assert (await _act(routing, broken, "acknowledge", "culture_office")).status == 404
    hidden = await routing.get(f"/api/v1/cases/{broken}", headers=auth("culture_office"))
    assert hidden.status == 404, "another agency does not learn the case exists"
