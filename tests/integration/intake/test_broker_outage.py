"""Reports are accepted while the broker is unreachable and published once it is back."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient, TestServer

from services.common.amqp import Topology
from services.common.mongo import MongoDatabase
from services.common.outbox import OUTBOX_SINCE
from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from tests.helpers import QueueProbe, wait_until
from tests.integration.intake.conftest import start_intake, valid_report
from tests.proxy import TcpProxy

pytestmark = pytest.mark.integration


@pytest.fixture
async def proxy(amqp_url: str) -> Any:
    target = urlparse(amqp_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672)
    await proxy.start()
    yield proxy
    await proxy.stop()


async def _submit(client: TestClient[Any, Any], count: int) -> list[str]:
    codes = []
    for _ in range(count):
        response = await client.post("/api/v1/reports", json=valid_report())
        assert response.status == 201
        codes.append((await response.json())["tracking_code"])
    return codes


async def test_reports_taken_during_an_outage_are_published_when_the_broker_returns(
    intake_settings: IntakeSettings,
    proxy: TcpProxy,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "report.submitted")
    client = await start_intake(intake_settings.model_copy(update={"amqp_url": proxy.url()}))
    try:
        await proxy.stop()
        codes = await _submit(client, 5)
        assert await intake_db.reports.count_documents({OUTBOX_SINCE: {"$exists": True}}) >= 1
        await proxy.start()
        events = await probe.wait_for(5, timeout=30)
        assert sorted(e.tracking_code for e in events) == sorted(codes)

        async def drained() -> bool:
            return await intake_db.reports.count_documents({OUTBOX_SINCE: {"$exists": True}}) == 0

        await wait_until(drained, what="the outbox drained")
    finally:
        await client.close()


async def test_intake_takes_reports_even_if_the_broker_is_down_at_start(
    intake_settings: IntakeSettings,
    proxy: TcpProxy,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "report.submitted")
    await proxy.stop()
    client: TestClient[Any, Any] = TestClient(
        TestServer(create_app(intake_settings.model_copy(update={"amqp_url": proxy.url()})))
    )
    await client.start_server()
    try:
        ready = await client.get("/readyz")
        assert ready.status == 503
        assert (await ready.json())["checks"]["broker"] is False
        codes = await _submit(client, 3)
        await proxy.start()
        events = await probe.wait_for(3, timeout=30)
        assert sorted(e.tracking_code for e in events) == sorted(codes)
    finally:
        await client.close()
