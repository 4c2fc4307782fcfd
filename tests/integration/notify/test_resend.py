"""Manual re-send: a delivery given up is queued again through the API or the admin CLI,
arrives once its receiver is back, and the log keeps who asked and when."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from standardwebhooks import Webhook

from services.admin import cli
from services.common.auth import hash_token
from services.common.embedded import free_port
from services.common.mongo import MongoDatabase
from services.notify.settings import NotifySettings
from tests.helpers import wait_until
from tests.integration.notify.conftest import (
    SUPERVISOR_TOKEN,
    WEBHOOK_SECRET,
    Cases,
    short_policy,
    start_notify,
)

pytestmark = pytest.mark.integration
AUTH = {"Authorization": f"Bearer {SUPERVISOR_TOKEN}"}
WEBHOOK = 2  # the webhook's number among the alert's deliveries (1 is the broker's)


@dataclass
class Receiver:
    """A webhook endpoint that comes up late, on the port alerts were sent to."""

    port: int
    bodies: list[dict[str, Any]] = field(default_factory=list)

    async def receive(self, request: web.Request) -> web.Response:
        self.bodies.append(
            Webhook(WEBHOOK_SECRET).verify(await request.read(), dict(request.headers))
        )
        return web.Response(status=204)

    async def start(self) -> TestServer:
        app = web.Application()
        app.router.add_post("/hook", self.receive)
        server = TestServer(app, host="127.0.0.1", port=self.port)
        await server.start_server()
        return server


@pytest.fixture
async def given_up(
    notify_settings: NotifySettings, cases: Cases, notify_db: MongoDatabase
) -> AsyncIterator[tuple[TestClient[Any, Any], Receiver, dict[str, Any]]]:
    """Notify, the receiver that was down, and a level-1 alert whose webhook was given up."""
    receiver = Receiver(free_port())
    url = f"http://127.0.0.1:{receiver.port}/hook"
    settings = notify_settings.model_copy(update={"delivery_give_up_seconds": 1.0})
    client = await start_notify(settings, short_policy(f'webhook = "{url}"'))
    case = await cases.assign(due_in=0.1)

    async def failed() -> dict[str, Any] | None:
        alert = await notify_db.alerts.find_one({"case_id": case.case_id, "level": 1})
        return alert if alert and alert["deliveries"][WEBHOOK - 1]["status"] == "failed" else None

    alert = await wait_until(failed, timeout=20, what="the webhook given up")
    yield client, receiver, alert
    await client.close()


async def arrived(notify_db: MongoDatabase, alert_id: str, resends: int) -> dict[str, Any]:
    """Wait until the re-sent delivery is delivered; the stored webhook delivery."""

    async def delivered() -> dict[str, Any] | None:
        alert = await notify_db.alerts.find_one({"_id": alert_id})
        assert alert is not None
        webhook = alert["deliveries"][WEBHOOK - 1]
        done = webhook["status"] == "delivered" and len(webhook.get("resends", [])) == resends
        return webhook if done else None

    return await wait_until(delivered, timeout=20, what="the re-sent webhook delivered")


async def test_a_failed_webhook_resent_through_the_api_arrives_and_is_logged(
    given_up: tuple[TestClient[Any, Any], Receiver, dict[str, Any]], notify_db: MongoDatabase
) -> None:
    client, receiver, alert = given_up
    server = await receiver.start()
    try:
        path = f"/api/v1/alerts/{alert['_id']}/deliveries/{WEBHOOK}/resend"
        reply = await client.post(path, headers=AUTH)
        assert reply.status == 202, await reply.text()
        accepted = await reply.json()
        assert accepted["alert_id"] == alert["_id"]
        assert accepted["delivery"]["n"] == WEBHOOK
        assert accepted["delivery"]["status"] == "pending"
        webhook = await arrived(notify_db, alert["_id"], resends=1)
    finally:
        await server.close()
    [request] = webhook["resends"]
    assert request["requested_by"] == "supervisor"
    assert request["token_id"] == hash_token(SUPERVISOR_TOKEN)[:12]
    assert webhook["attempts"] == alert["deliveries"][WEBHOOK - 1]["attempts"] + 1
    # Once (a level-2 alert, still retrying when the receiver came up, may arrive too).
    assert [b["case_id"] for b in receiver.bodies if b["level"] == 1] == [alert["case_id"]]
    listed = await (
        await client.get("/api/v1/alerts", headers=AUTH, params={"case_id": alert["case_id"]})
    ).json()
    [level_one] = [a for a in listed["alerts"] if a["alert_id"] == alert["_id"]]
    shown = level_one["deliveries"][WEBHOOK - 1]
    assert shown["status"] == "delivered" and shown["resends"][0]["requested_by"] == "supervisor"


@pytest.mark.parametrize(
    ("alert_id", "n", "status", "says"),
    [
        ("no-such-alert", "2", 404, "no alert 'no-such-alert'"),
        (None, "9", 404, "has no delivery 9"),
        (None, "1", 409, "the broker's"),
        (None, "x", 422, "n"),
        (None, "0", 422, "n"),
    ],
)
async def test_a_resend_that_cannot_be_done_says_why(
    given_up: tuple[TestClient[Any, Any], Receiver, dict[str, Any]],
    alert_id: str | None,
    n: str,
    status: int,
    says: str,
) -> None:
    client, _, alert = given_up
    path = f"/api/v1/alerts/{alert_id or alert['_id']}/deliveries/{n}/resend"
    reply = await client.post(path, headers=AUTH)
    assert reply.status == status
    error = (await reply.json())["error"]
    if status == 422:
        assert error["errors"][0]["field"] == says
    else:
        assert says in error["message"]


async def test_a_resend_needs_a_supervisor_token_and_is_refused_while_queued(
    given_up: tuple[TestClient[Any, Any], Receiver, dict[str, Any]], notify_db: MongoDatabase
) -> None:
    client, _, alert = given_up
    path = f"/api/v1/alerts/{alert['_id']}/deliveries/{WEBHOOK}/resend"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        assert (await client.post(path, headers=headers)).status == 401
    # Queued by hand in the database, as a re-send does, while the receiver is still down.
    await notify_db.alerts.update_one(
        {"_id": alert["_id"]}, {"$set": {f"deliveries.{WEBHOOK - 1}.status": "pending"}}
    )
    reply = await client.post(path, headers=AUTH)
    assert reply.status == 409
    assert "already queued" in (await reply.json())["error"]["message"]


async def test_the_admin_cli_lists_failed_deliveries_and_resends_one(
    given_up: tuple[TestClient[Any, Any], Receiver, dict[str, Any]],
    notify_db: MongoDatabase,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, receiver, alert = given_up
    base = str(client.make_url("")).rstrip("/")
    monkeypatch.setenv("INCIDENTS_ADMIN_TOKEN", SUPERVISOR_TOKEN)
    # The CLI runs its own event loop, so it runs in a thread beside the server's.
    listing = ["deliveries", "list", "--notify-url", base, "--case", alert["case_id"]]
    code = await asyncio.to_thread(cli.main, [*listing, "--status", "failed"])
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    assert any(line.startswith(f"{alert['_id']}   {WEBHOOK}  ") for line in printed), printed
    assert all("failed" in line for line in printed)
    server = await receiver.start()
    try:
        resend = ["deliveries", "resend", alert["_id"], str(WEBHOOK), "--notify-url", base]
        assert await asyncio.to_thread(cli.main, resend) == 0
        assert f"delivery {WEBHOOK} of alert {alert['_id']}" in capsys.readouterr().out
        await arrived(notify_db, alert["_id"], resends=1)
    finally:
        await server.close()
    assert await asyncio.to_thread(cli.main, resend) == 0  # delivered: it may be sent again
    capsys.readouterr()
    refused = ["deliveries", "resend", alert["_id"], "1", "--notify-url", base]
    assert await asyncio.to_thread(cli.main, refused) == 1
    assert "notify answered 409" in capsys.readouterr().err


async def test_the_delivery_log_page_is_served_with_a_strict_policy_and_calls_the_api(
    notify: Any,
) -> None:
    page = await notify.get("/deliveries")
    assert page.status == 200 and page.content_type == "text/html"
    html = await page.text()
    assert "Nhật ký gửi cảnh báo" in html and '<script src="/deliveries.js">' in html
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    script = await (await notify.get("/deliveries.js")).text()
    document = await (await notify.get("/api/v1/openapi.json")).json()
    # The paths the script calls are the API's own.
    assert '"/api/v1/alerts?"' in script and "/api/v1/alerts" in document["paths"]
    assert '"/deliveries/" + n + "/resend"' in script
    assert "/api/v1/alerts/{alert_id}/deliveries/{n}/resend" in document["paths"]
    assert "innerHTML" not in script  # data goes in as text only
