"""A service process answers `/readyz` and `/metrics` on its admin listener only: the public
port says 404 for them and keeps serving the API."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from services.common.amqp import Topology
from services.common.embedded import EmbeddedMongo
from services.common.processes import ServiceProcess

pytestmark = pytest.mark.integration


async def test_readiness_and_metrics_are_on_the_admin_listener_only(
    amqp_url: str, own_database: EmbeddedMongo, topology: Topology, tmp_path: Path
) -> None:
    env = {
        "AMQP_URL": amqp_url,
        "MONGO_URL": own_database.url,
        "TOPOLOGY_PREFIX": topology.prefix,
        "INTAKE_CSRF_SECRET": "admin-listener-test-secret",
    }
    intake = ServiceProcess("intake", env, tmp_path).start()
    try:
        await intake.ready()
        async with aiohttp.ClientSession() as session:
            for path in ("/readyz", "/metrics"):
                async with session.get(f"{intake.url}{path}") as public:
                    assert public.status == 404, path
                async with session.get(f"{intake.admin_url}{path}") as admin:
                    assert admin.status == 200, path
            async with session.get(f"{intake.admin_url}/metrics") as metrics:
                assert "http_requests_total" in await metrics.text()
            async with session.get(f"{intake.url}/healthz") as alive:
                assert alive.status == 200
            async with session.get(f"{intake.url}/api/v1/openapi.json") as api:
                assert api.status == 200
            async with session.get(f"{intake.admin_url}/api/v1/openapi.json") as elsewhere:
                assert elsewhere.status == 404
    finally:
        assert intake.stop() == 0
