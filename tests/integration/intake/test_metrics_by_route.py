"""Every service counts its HTTP requests (the runtime adds the middleware), by route pattern."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration


async def test_a_service_exports_its_requests_by_route_never_by_path(intake: Any) -> None:
    await intake.get("/api/v1/reports/ZZZZ-ZZZZ-ZZZZ")
    text = await (await intake.get("/metrics")).text()
    samples = [
        sample
        for family in text_string_to_metric_families(text)
        if family.name == "http_requests"
        for sample in family.samples
    ]
    routes = {sample.labels["route"] for sample in samples}
    assert "/api/v1/reports/{tracking_code}" in routes
    assert not any("ZZZZ" in route for route in routes)
