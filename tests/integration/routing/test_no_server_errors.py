"""Inputs that once answered 500 on the agency API and the console now answer a 4xx."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.mongo import MongoDatabase
from tests.helpers import csrf_of, sign_in
from tests.integration.routing.conftest import Reporter, auth, case_of

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]


def cursor(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=²", "limit"),
        ("limit=" + "9" * 5000, "limit"),
        ("limit=٣", "limit"),
        ("limit=３", "limit"),
        ("created_from=9999-12-31T23:59:59-14:00", "created_from"),
        ("created_to=0001-01-01T00:00:00%2B14:00", "created_to"),
        (f"cursor={cursor(0, '0001-01-01T00:00:00+14:00', 'x')}", "cursor"),
        (f"cursor={cursor(7, '2026-01-01T00:00:00+00:00', 'x')}", "cursor"),
        ("agency=nobody", "agency"),
    ],
)
async def test_bad_list_parameters_are_422_naming_them(
    routing: Client, query: str, field: str
) -> None:
    reply = await routing.get(f"/api/v1/cases?{query}", headers=auth("supervisor"))
    assert reply.status == 422, await reply.text()
    body = await reply.json()
    assert [e["field"] for e in body["error"]["errors"]] == [field]


async def test_a_non_ascii_bearer_token_is_a_401(routing: Client) -> None:
    reply = await routing.get(
        "/api/v1/cases", headers={"Authorization": "Bearer mã-thông-báo".encode().decode("latin-1")}
    )
    assert reply.status == 401


async def test_console_action_on_another_agencys_or_an_unknown_case_is_a_404(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case = await case_of(routing_db, await reporter.submit())
    token = await sign_in(routing, "culture_office")
    for case_id in (case["_id"], "no-such-case"):
        reply = await routing.post(
            f"/console/cases/{case_id}/acknowledge", data={"csrf_token": token}
        )
        assert reply.status == 404


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/console/overview?to=9999-12-31", "to"),
        ("/console/overview?from=0001-01-01", "from"),
        ("/console/overview?to=31.12.2026", "to"),
        (f"/console/cases?cursor={cursor(0, '0001-01-01T00:00:00+14:00', 'x')}", "cursor"),
        (f"/console/cases?cursor={cursor(0, '9999-12-31T23:59:59-14:00', 'x')}", "cursor"),
        ("/console/cases?agency=nobody", "agency"),
        ("/console/cases?status=lost", "status"),
    ],
)
async def test_console_parameters_that_cannot_be_used_are_400_naming_them(
    routing: Client, path: str, field: str
) -> None:
    await sign_in(routing, "supervisor")
    reply = await routing.get(path, allow_redirects=False)
    assert reply.status == 400
    assert f"{field}: " in await reply.text()


async def test_console_shows_an_unreadable_case_as_an_error_and_lists_the_others(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    broken = await case_of(routing_db, await reporter.submit())
    fine = await case_of(routing_db, await reporter.submit())
    await routing_db.cases.update_one({"_id": broken["_id"]}, {"$unset": {"report": ""}})
    token = await sign_in(routing, "police")
    listing = await routing.get("/console/cases")
    assert listing.status == 200 and fine["tracking_code"] in await listing.text()
    assert (await routing.get(f"/console/cases/{broken['_id']}")).status == 409
    action = f"/console/cases/{broken['_id']}/acknowledge"
    assert (await routing.post(action, data={"csrf_token": token})).status == 409


async def test_console_forms_without_a_usable_boundary_or_with_odd_tokens_are_4xx(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case = await case_of(routing_db, await reporter.submit())
    page = await (await routing.get("/console/login")).text()
    multipart = {"Content-Type": "multipart/form-data"}
    assert (await routing.post("/console/login", data=b"--x", headers=multipart)).status == 400
    odd = {"csrf_token": "mã-giả", "login": "police", "password": "mật khẩu", "code": "12"}
    assert 400 <= (await routing.post("/console/login", data=odd)).status < 500
    await sign_in(routing, "police")
    action = f"/console/cases/{case['_id']}/acknowledge"
    assert (await routing.post(action, data=b"--x", headers=multipart)).status == 400
    assert (await routing.post(action, data={"csrf_token": "mã-giả"})).status == 403
    assert csrf_of(page)
