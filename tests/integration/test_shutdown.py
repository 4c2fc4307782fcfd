"""SIGTERM ends every service within 5 s, whether the broker and the database are up or down."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from services.common.amqp import Topology
from services.common.embedded import EmbeddedMongo, free_port
from services.common.mongo import mongo_database
from services.common.processes import ServiceProcess
from tests.helpers import wait_until
from tests.integration.intake.conftest import valid_report

pytestmark = pytest.mark.integration

SERVICES = ["intake", "routing", "notify"]
EXIT_WITHIN_SECONDS = 5.0


def service(
    name: str, amqp_url: str, mongo_url: str, topology: Topology, logs: Path
) -> ServiceProcess:
    env = {
        "AMQP_URL": amqp_url,
        "MONGO_URL": mongo_url,
        "TOPOLOGY_PREFIX": topology.prefix,
        "NOTIFY_WEBHOOK_SECRET": "shutdown-test",
        f"{name.upper()}_MONGO_TIMEOUT_MS": "1500",
    }
    return ServiceProcess(name, env, logs)


def seconds_to_exit(process: ServiceProcess) -> float:
    """Send SIGTERM and time the exit (SIGKILL after 20 s, which then fails the test); the log
    says when the shutdown began and that it ended, or that the deadline ended it."""
    started = time.monotonic()
    code = process.stop(timeout=20)
    took = time.monotonic() - started
    assert code == 0, f"{process.name} did not exit cleanly ({code}):\n{process.log_tail()}"
    messages = process.log_messages()
    assert "shutting down" in messages, process.log_tail()
    assert messages[-1] in ("stopped", "shutdown still waiting on library tasks; exiting")
    return took


@pytest.mark.parametrize("name", SERVICES)
async def test_sigterm_with_the_broker_unreachable_exits_within_5s(
    name: str, own_database: EmbeddedMongo, topology: Topology, tmp_path: Path
) -> None:
    nobody = f"amqp://guest:guest@127.0.0.1:{free_port()}/"  # nothing listens: broker down
    process = service(name, nobody, own_database.url, topology, tmp_path).start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{process.admin_url}/readyz") as ready,
        ):
            assert ready.status == 503
            assert (await ready.json())["checks"]["broker"] is False
        assert seconds_to_exit(process) < EXIT_WITHIN_SECONDS
    finally:
        process.kill()


@pytest.mark.parametrize("name", SERVICES)
async def test_sigterm_with_the_database_killed_exits_within_5s(
    name: str, amqp_url: str, own_database: EmbeddedMongo, topology: Topology, tmp_path: Path
) -> None:
    process = service(name, amqp_url, own_database.url, topology, tmp_path).start()
    try:
        await process.ready()
        assert own_database.process is not None
        own_database.process.kill()
        own_database.process.wait()
        assert seconds_to_exit(process) < EXIT_WITHIN_SECONDS
    finally:
        process.kill()


async def test_sigterm_under_load_exits_within_5s_and_keeps_every_accepted_report(
    amqp_url: str, own_database: EmbeddedMongo, topology: Topology, tmp_path: Path
) -> None:
    process = service("intake", amqp_url, own_database.url, topology, tmp_path)
    process.env["INTAKE_RATE_LIMIT_PER_MINUTE"] = "100000"
    process.env["INTAKE_RATE_LIMIT_BURST"] = "100000"
    process.start()
    accepted: list[str] = []

    async def submit(session: aiohttp.ClientSession) -> None:
        while True:
            try:
                async with session.post(f"{process.url}/api/v1/reports", json=valid_report()) as r:
                    if r.status == 201:
                        accepted.append((await r.json())["tracking_code"])
            except aiohttp.ClientError:
                return

    try:
        await process.ready()
        async with aiohttp.ClientSession() as session:
            clients = [asyncio.create_task(submit(session)) for _ in range(8)]

            async def flowing() -> bool:
                return len(accepted) >= 50

            await wait_until(flowing, what="reports flowing")
            exit_seconds = await asyncio.to_thread(seconds_to_exit, process)
            async with asyncio.timeout(10):
                await asyncio.gather(*clients)
    finally:
        process.kill()
    assert exit_seconds < EXIT_WITHIN_SECONDS
    stored = await _tracking_codes(own_database.url)
    assert set(accepted) <= stored, "a report answered 201 was not stored"


async def _tracking_codes(url: str) -> set[str]:
    async with mongo_database(url, "intake", timeout_ms=5000) as db:
        docs = await db.reports.find({}, {"tracking_code": 1}).to_list()
    return {doc["tracking_code"] for doc in docs}
