"""API keys made by `incidents-admin keys` authenticate the agency API: scopes, rotation,
revocation across replicas (the cache bound), last use; bootstrap tokens keep working."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.admin.cli import main as admin
from services.common.clock import utcnow
from services.common.mongo import MongoDatabase
from services.routing.api import ROUTING
from services.routing.app import create_app
from services.routing.settings import RoutingSettings
from tests.helpers import start_client, wait_until
from tests.integration.routing.conftest import Reporter, auth, case_of

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
CACHE_SECONDS = 0.3


class Clock:
    """A clock the test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def api(routing_settings: RoutingSettings, clock: Clock) -> AsyncIterator[Client]:
    settings = routing_settings.model_copy(update={"api_key_cache_seconds": CACHE_SECONDS})
    client = await start_client(create_app(settings, clock=clock), what="routing")
    yield client
    await client.close()


@pytest.fixture
def keys(
    routing_settings: RoutingSettings, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Any]:
    """Run `incidents-admin keys ...` against the test's database; (exit code, JSON output)."""

    async def run(*argv: str) -> tuple[int, Any]:
        capsys.readouterr()
        database = ["--mongo-url", routing_settings.mongo_url]
        database += ["--database", routing_settings.mongo_db, "--by", "ops", "--json"]
        code = await asyncio.to_thread(admin, ["keys", *argv, *database])
        out = capsys.readouterr().out
        return code, json.loads(out) if code == 0 and out.strip() else None

    return run


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _case(routing_db: MongoDatabase, reporter: Reporter) -> str:
    return str((await case_of(routing_db, await reporter.submit()))["_id"])


async def status_with(api: Client, key: str, path: str = "/api/v1/cases") -> int:
    return (await api.get(path, headers=bearer(key))).status


async def test_a_key_made_by_the_cli_reads_its_agencys_cases(
    api: Client, routing_db: MongoDatabase, reporter: Reporter, keys: Any
) -> None:
    case_id = await _case(routing_db, reporter)
    code, made = await keys("create", "police", "--scope", "cases:read", "--note", "case system")
    assert code == 0
    assert made["key"].startswith(f"inc_{made['key_id']}_")
    listed = await (await api.get("/api/v1/cases", headers=bearer(made["key"]))).json()
    assert [c["case_id"] for c in listed["cases"]] == [case_id]
    detail = await api.get(f"/api/v1/cases/{case_id}", headers=bearer(made["key"]))
    assert (await detail.json())["report"]["has_contact"] is True
    revealed = await api.get(f"/api/v1/cases/{case_id}/contact", headers=bearer(made["key"]))
    assert (await revealed.json())["contacts"][0]["phone"] == "0905123456"
    case = await routing_db.cases.find_one({"_id": case_id})
    assert case is not None
    (line,) = [a for a in case["audit"] if a["action"] == "contact_revealed"]
    assert line["actor"] == "police" and line["person"] == f"key:{made['key_id']}"
    stored = await routing_db.api_keys.find_one({"_id": made["key_id"]})
    assert stored is not None and made["key"].split("_", 2)[2] not in json.dumps(
        stored, default=str
    )
    code, every = await keys("list", "--agency", "police")
    assert [k["key_id"] for k in every] == [made["key_id"]]
    assert every[0]["note"] == "case system" and every[0]["created_by"] == "ops"
    assert "key" not in every[0] and "secret_sha256" not in every[0]


async def test_a_key_without_the_scope_is_403_naming_it(
    api: Client, routing_db: MongoDatabase, reporter: Reporter, keys: Any
) -> None:
    case_id = await _case(routing_db, reporter)
    _, reader = await keys("create", "police", "--scope", "cases:read")
    _, writer = await keys("create", "police", "--scope", "cases:write")
    refused = await api.post(f"/api/v1/cases/{case_id}/acknowledge", headers=bearer(reader["key"]))
    assert refused.status == 403
    body = await refused.json()
    assert body["error"]["missing_scope"] == "cases:write"
    assert "cases:write" in body["error"]["message"]
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert (await routing_db.cases.find_one({"_id": case_id}) or {})["status"] == "assigned"
    assert await status_with(api, writer["key"], f"/api/v1/cases/{case_id}") == 403
    reassign = await api.post(
        f"/api/v1/cases/{case_id}/reassign",
        json={"agency": "culture_office", "reason": "not ours"},
        headers=bearer(writer["key"]),
    )
    assert (await reassign.json())["error"]["missing_scope"] == "cases:reassign"
    done = await api.post(f"/api/v1/cases/{case_id}/acknowledge", headers=bearer(writer["key"]))
    assert done.status == 200
    assert (await done.json())["audit"][-1]["actor"] == "police"


async def test_a_rotated_key_works_until_its_grace_ends(
    api: Client, clock: Clock, keys: Any
) -> None:
    _, old = await keys("create", "culture_office", "--scope", "cases:read")
    assert await status_with(api, old["key"]) == 200  # cached by the API from here on
    code, new = await keys("rotate", old["key_id"], "--grace-hours", "2")
    assert code == 0 and new["rotated_from"] == old["key_id"]
    assert new["agency"] == "culture_office" and new["scopes"] == ["cases:read"]
    assert await status_with(api, new["key"]) == 200
    clock.offset = timedelta(hours=1, minutes=59)
    assert await status_with(api, old["key"]) == 200

    async def old_refused() -> bool:
        return await status_with(api, old["key"]) == 401

    clock.offset = timedelta(hours=2, minutes=1)
    await wait_until(old_refused, timeout=CACHE_SECONDS * 10, what="the old key refused")
    assert await status_with(api, new["key"]) == 200
    _, listed = await keys("list", "--agency", "culture_office")
    assert {k["key_id"]: k["replaced_by"] for k in listed} == {
        old["key_id"]: new["key_id"],
        new["key_id"]: None,
    }
    assert (await keys("rotate", old["key_id"]))[0] == 1  # a rotated key is not rotated again


async def test_revoking_a_key_in_its_grace_ends_it_within_the_cache_bound(
    api: Client, keys: Any
) -> None:
    _, old = await keys("create", "police", "--scope", "cases:read")
    _, new = await keys("rotate", old["key_id"])
    assert await status_with(api, old["key"]) == 200
    code, revoked = await keys("revoke", old["key_id"])
    assert code == 0 and revoked["state"] == "revoked" and revoked["revoked_by"] == "ops"
    started = asyncio.get_running_loop().time()

    async def refused() -> bool:
        return await status_with(api, old["key"]) == 401

    await wait_until(refused, timeout=CACHE_SECONDS * 10, what="the revoked key refused")
    assert asyncio.get_running_loop().time() - started < CACHE_SECONDS * 10
    response = await api.get("/api/v1/cases", headers=bearer(old["key"]))
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert await status_with(api, new["key"]) == 200
    assert (await keys("revoke", old["key_id"]))[0] == 1  # already revoked


async def test_unknown_or_forged_keys_are_401(api: Client, keys: Any) -> None:
    _, made = await keys("create", "police", "--scope", "cases:read")
    forged = made["key"][:-4] + ("AAAA" if not made["key"].endswith("AAAA") else "BBBB")
    unknown = "inc_000000000000_" + made["key"].split("_", 2)[2]
    for key in (forged, unknown, "inc_nonsense"):
        assert await status_with(api, key) == 401, key


async def test_last_use_is_recorded_without_a_write_per_request(
    api: Client, routing_db: MongoDatabase, keys: Any
) -> None:
    _, made = await keys("create", "police", "--scope", "cases:read")
    _, listed = await keys("list")
    assert listed[0]["last_used_at"] is None
    for _ in range(5):
        assert await status_with(api, made["key"]) == 200

    async def recorded() -> Any:
        stored = await routing_db.api_keys.find_one({"_id": made["key_id"]})
        return stored and stored.get("last_used_at")

    used_at = await wait_until(recorded, what="last_used_at written")
    for _ in range(5):
        assert await status_with(api, made["key"]) == 200
    store = api.app[ROUTING].keys
    assert store.usage.pending == {}  # used again within the minute: nothing to write
    await store.flush_usage()
    stored = await routing_db.api_keys.find_one({"_id": made["key_id"]})
    assert stored is not None and stored["last_used_at"] == used_at
    _, listed = await keys("list")
    assert listed[0]["last_used_at"] is not None


async def test_bootstrap_tokens_still_have_every_scope(
    api: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case_id = await _case(routing_db, reporter)
    assert (await api.get("/api/v1/cases", headers=auth("police"))).status == 200
    done = await api.post(f"/api/v1/cases/{case_id}/acknowledge", headers=auth("police"))
    assert done.status == 200


async def test_the_cli_refuses_a_key_for_an_unknown_agency(keys: Any) -> None:
    assert (await keys("create", "nobody", "--scope", "cases:read"))[0] == 1
    assert (await keys("list"))[1] == []
    assert (await keys("rotate", "000000000000"))[0] == 1
    assert (await keys("revoke", "000000000000"))[0] == 1
