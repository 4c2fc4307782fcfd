"""Shared fixtures: real servers (see tests/servers.py), and per-test isolation by name prefix."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aio_pika
import pytest

from services.admin.queues import declared_queues
from services.common.amqp import Topology, delete_topology
from services.common.embedded import SERVICES, EmbeddedMongo
from services.common.settings import mongo_url_variable
from tests.servers import amqp_server, mongo_server

RUN_ID = uuid.uuid4().hex[:8]
_counter = itertools.count()


@pytest.fixture(scope="session", autouse=True)
def _one_database_server() -> Iterator[None]:
    """Services and tools started by tests use the test's `MONGO_URL`: a `<SERVICE>_MONGO_URL`
    exported in the shell would send them to another server."""
    with pytest.MonkeyPatch.context() as patch:
        for service in SERVICES:
            patch.delenv(mongo_url_variable(service), raising=False)
        yield


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    """A reachable RabbitMQ; the run fails (never skips) when there is none."""
    with amqp_server() as url:
        yield url
        _delete_test_queues(url)


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    """A MongoDB wire server for the whole run."""
    with mongo_server() as url:
        yield url


# Every queue name the project and its tests declare (each also has a `.dead` twin).
QUEUES = [
    *declared_queues(),
    "supervisor.alerts",
    "plumbing.reports",
    "plumbing.failing",
    "plumbing.reconnect",
    "plumbing.batched",
]


@pytest.fixture
async def topology(amqp_url: str) -> AsyncIterator[Topology]:
    """Exchange and queue names no other test (or run) shares; deleted after the test.

    Quorum queues are Raft groups: left behind by hundreds of tests they slow the broker down.
    """
    topology = Topology(prefix=f"test-{RUN_ID}-{next(_counter)}.")
    yield topology
    await _delete_topology(amqp_url, topology)


async def _delete_topology(url: str, topology: Topology) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        await delete_topology(await connection.channel(), topology, QUEUES)


@pytest.fixture(scope="session")
def oplog_mongo_url() -> Iterator[str]:
    """A server keeping an oplog, as `./scripts/run` starts the embedded one: the services'
    relays read change streams there (the shared `mongo_url` server is standalone)."""
    server = EmbeddedMongo(":memory:", standalone=False).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[EmbeddedMongo]:
    """A database server of the test's own (on disk, durable), so the test can stop or kill it."""
    server = EmbeddedMongo(tmp_path / "db").start()
    yield server
    server.stop()


@pytest.fixture
def db_name() -> str:
    """A database name no other test (or run) shares."""
    return f"test_{RUN_ID}_{next(_counter)}"


@pytest.fixture
async def amqp_connection(amqp_url: str) -> AsyncIterator[aio_pika.abc.AbstractRobustConnection]:
    """A connection for the test's own probes."""
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        yield connection
    finally:
        await connection.close()


def _delete_test_queues(url: str) -> None:
    """Remove this run's durable queues and exchanges from the local broker."""
    if shutil.which("rabbitmqctl") is None or "127.0.0.1" not in url:
        return
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "name", "--no-table-headers"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    queues = [q for q in listed.stdout.split() if q.startswith(f"test-{RUN_ID}-")]
    asyncio.run(_delete(url, queues))


async def _delete(url: str, queues: list[str]) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for name in queues:
            await channel.queue_delete(name)
