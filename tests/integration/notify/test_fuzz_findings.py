"""Alert log inputs the fuzz run (scripts/fuzz) found accepted against the contract."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.notify.test_alert_api import AUTH

pytestmark = pytest.mark.integration


async def test_an_empty_status_filter_is_a_422_not_ignored(notify: Any) -> None:
    reply = await notify.get("/api/v1/alerts", headers=AUTH, params={"status": ""})
    assert reply.status == 422
    assert [e["field"] for e in (await reply.json())["error"]["errors"]] == ["status"]


async def test_the_alert_log_publishes_its_openapi_document(notify: Any) -> None:
    document = await (await notify.get("/api/v1/openapi.json")).json()
    operation = document["paths"]["/api/v1/alerts"]["get"]
    assert operation["operationId"] == "listAlerts"
    assert "AlertList" in document["components"]["schemas"]
