"""HTTP request metrics: counted by method, route pattern (never the raw path) and status,
and timed by route."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import REGISTRY

from services.common.http import json_errors
from services.common.metrics import UNMATCHED, http_metrics

pytestmark = pytest.mark.integration

ROUTE = "/api/v1/things/{thing_id}"


def _count(method: str, route: str, status: int) -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("http_requests_total", labels) or 0.0


def _timed(route: str) -> float:
    return REGISTRY.get_sample_value("http_request_duration_seconds_count", {"route": route}) or 0.0


async def _thing(request: web.Request) -> web.Response:
    if request.match_info["thing_id"] == "taken":
        raise web.HTTPConflict()
    if request.match_info["thing_id"] == "broken":
        raise RuntimeError("a bug")
    return web.json_response({"id": request.match_info["thing_id"]})


@pytest.fixture
async def client() -> Any:
    app = web.Application(middlewares=[http_metrics, json_errors])
    app.router.add_get(ROUTE, _thing)
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_requests_are_counted_by_route_pattern_method_and_status(client: Any) -> None:
    before = {status: _count("GET", ROUTE, status) for status in (200, 409, 500)} | {
        "timed": _timed(ROUTE),
        "missing": _count("GET", UNMATCHED, 404),
    }
    for path in ("/api/v1/things/a", "/api/v1/things/b", "/api/v1/things/taken"):
        await client.get(path)
    assert (await client.get("/api/v1/things/broken")).status == 500
    assert (await client.get("/no/such/page")).status == 404
    assert _count("GET", ROUTE, 200) == before[200] + 2
    assert _count("GET", ROUTE, 409) == before[409] + 1
    assert _count("GET", ROUTE, 500) == before[500] + 1
    assert _count("GET", UNMATCHED, 404) == before["missing"] + 1
    assert _timed(ROUTE) == before["timed"] + 4


async def test_an_unknown_method_is_counted_as_other(client: Any) -> None:
    before = _count("_OTHER", UNMATCHED, 405)
    assert (await client.request("PROPFIND", "/api/v1/things/a")).status == 405
    assert _count("_OTHER", UNMATCHED, 405) == before + 1
