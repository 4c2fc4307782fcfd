"""Fixtures of the operator tool's tests: queues of their own, deleted with their policies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aio_pika
import pytest

from services.common.amqp import Topology, delete_topology

# The consumer queues these tests declare (each with its `.dead` twin and its policy).
ADMIN_QUEUES = ["admin.cases", "admin.reports", "admin.legacy"]


@pytest.fixture
async def admin_topology(amqp_url: str, topology: Topology) -> AsyncIterator[Topology]:
    """The test's topology; its admin queues and their policies are deleted afterwards."""
    yield topology
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        await delete_topology(await connection.channel(), topology, ADMIN_QUEUES)
