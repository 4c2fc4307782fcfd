"""Inputs that once answered 500 on the alert log now answer a 4xx naming the parameter."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.integration.notify.test_alert_api import AUTH

pytestmark = pytest.mark.integration


def cursor(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"level": "²"}, "level"),
        ({"level": "9" * 30}, "level"),
        ({"level": "9" * 5000}, "level"),
        ({"limit": "²"}, "limit"),
        ({"cursor": cursor("0001-01-01T00:00:00+14:00", "x")}, "cursor"),
    ],
)
async def test_bad_alert_log_parameters_are_422_naming_them(
    notify: Any, params: dict[str, str], field: str
) -> None:
    reply = await notify.get("/api/v1/alerts", headers=AUTH, params=params)
    assert reply.status == 422
    assert [e["field"] for e in (await reply.json())["error"]["errors"]] == [field]


async def test_a_non_ascii_bearer_token_is_a_401(notify: Any) -> None:
    token = "Bearer mã-thông-báo".encode().decode("latin-1")
    reply = await notify.get("/api/v1/alerts", headers={"Authorization": token})
    assert reply.status == 401
