"""Intake as a process: JSON logs, graceful SIGTERM, and a database outage answered with 503."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.common.amqp import Topology
from services.common.embedded import EmbeddedMongo, free_port, wait_for_port
from tests.integration.intake.conftest import valid_report

pytestmark = pytest.mark.integration


def run_intake_process(
    amqp_url: str,
    mongo_url: str,
    topology: Topology,
    port: int,
    log: Path,
    admin_port: int | None = None,
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AMQP_URL": amqp_url,
        "MONGO_URL": mongo_url,
        "TOPOLOGY_PREFIX": topology.prefix,
        "INTAKE_PORT": str(port),
        "INTAKE_ADMIN_PORT": str(admin_port or free_port()),
        "INTAKE_MONGO_TIMEOUT_MS": "1500",
    }
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "services.intake"], env=env, stderr=out)
    wait_for_port("127.0.0.1", port, timeout=30, process=process)
    return process


async def test_sigterm_stops_intake_cleanly_with_json_logs(
    amqp_url: str, own_database: EmbeddedMongo, topology: Topology, tmp_path: Path
) -> None:
    port = free_port()
    process = run_intake_process(
        amqp_url, own_database.url, topology, port, tmp_path / "intake.log"
    )
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{port}/api/v1/reports", json=valid_report()
            ) as response,
        ):
            assert response.status == 201
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
        process.wait()
    log = (tmp_path / "intake.log").read_text().splitlines()
    lines = [json.loads(line) for line in log if line.startswith("{")]
    stored = [line for line in lines if line["message"] == "report stored"]
    assert stored and stored[0]["service"] == "intake" and stored[0]["report_id"]


async def test_database_outage_is_a_503_within_the_time_limit_not_a_hang(
    amqp_url: str, own_database: EmbeddedMongo, topology: Topology, tmp_path: Path
) -> None:
    port, admin_port = free_port(), free_port()
    process = run_intake_process(
        amqp_url, own_database.url, topology, port, tmp_path / "intake.log", admin_port
    )
    base = f"http://127.0.0.1:{port}"
    try:
        own_database.stop()
        async with aiohttp.ClientSession() as session:
            started = time.monotonic()
            async with session.post(f"{base}/api/v1/reports", json=valid_report()) as response:
                body: dict[str, Any] = await response.json()
                assert response.status == 503, body
                assert response.headers["Retry-After"]
            assert time.monotonic() - started < 10
            async with session.get(f"http://127.0.0.1:{admin_port}/readyz") as ready:
                assert ready.status == 503
                assert (await ready.json())["checks"]["database"] is False
    finally:
        process.terminate()
        process.wait(timeout=20)
