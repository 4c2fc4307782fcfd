"""Intake's public edge: every method on a lookup counts against the rate limit (HEAD is no
oracle), and every answer carries the security headers, errors included."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.intake.headers import CONTENT_SECURITY_POLICY
from services.intake.security import RateLimiter
from services.intake.settings import IntakeSettings
from tests.integration.intake.conftest import start_intake, valid_report

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
UNKNOWN_CODE = "AAAA-BBBB-CCCC"


@pytest.mark.parametrize(
    "path", [f"/api/v1/reports/{UNKNOWN_CODE}", f"/status/{UNKNOWN_CODE}", "/receipt/AAAA"]
)
async def test_head_lookups_count_against_the_rate_limit_like_get(
    intake_settings: IntakeSettings, path: str
) -> None:
    client = await start_intake(intake_settings, rate_limiter=RateLimiter(per_minute=1, burst=3))
    try:
        answers = [(await client.head(path)).status for _ in range(3)]
        limited = await client.head(path)
        after = await client.get(path)
        assert answers == [404, 404, 404]
        assert (limited.status, after.status) == (429, 429)
        assert int(limited.headers["Retry-After"]) >= 1
    finally:
        await client.close()


async def test_the_form_page_itself_is_not_limited(intake_settings: IntakeSettings) -> None:
    client = await start_intake(intake_settings, rate_limiter=RateLimiter(per_minute=1, burst=1))
    try:
        assert [(await client.get("/")).status for _ in range(3)] == [200, 200, 200]
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", f"/status/{UNKNOWN_CODE}", 404),
        ("GET", f"/api/v1/reports/{UNKNOWN_CODE}", 404),
        ("POST", "/api/v1/reports", 422),
        ("GET", "/no/such/page", 404),
    ],
)
async def test_every_answer_carries_the_security_headers_and_is_not_stored(
    intake: Client, method: str, path: str, status: int
) -> None:
    body = {**valid_report(), "category": "nope"} if method == "POST" else None
    response = await intake.request(method, path, json=body)
    assert response.status == status
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"


async def test_answers_that_set_their_own_caching_keep_it(intake: Client) -> None:
    places = await intake.get("/api/v1/places/provinces")
    style = await intake.get("/static/base.css")
    assert places.status == 200 and places.headers["Cache-Control"].startswith("public")
    assert style.status == 200 and "Cache-Control" not in style.headers
    assert style.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_forged_x_forwarded_for_does_not_escape_the_rate_limit(
    intake_settings: IntakeSettings,
) -> None:
    """Behind a trusted proxy (the test client's 127.0.0.1), a client that writes a new address
    on every request is still counted by the address the proxy appended."""
    settings = intake_settings.model_copy(update={"trusted_proxies": [ip_network("127.0.0.0/8")]})
    client = await start_intake(settings, rate_limiter=RateLimiter(per_minute=1, burst=3))
    try:
        answers = [
            (
                await client.get(
                    f"/status/{UNKNOWN_CODE}",
                    headers={"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.7"},
                )
            ).status
            for n in range(4)
        ]
        other = await client.get(
            f"/status/{UNKNOWN_CODE}", headers={"X-Forwarded-For": "203.0.113.8"}
        )
        assert answers == [404, 404, 404, 429]
        assert other.status == 404  # another client behind the same proxy has its own budget
    finally:
        await client.close()


async def test_a_flood_of_submissions_is_shed_while_lookups_keep_working(
    intake_settings: IntakeSettings,
) -> None:
    """The global budget counts every client's submissions together; lookups do not use it."""
    settings = intake_settings.model_copy(update={"trusted_proxies": [ip_network("127.0.0.0/8")]})
    client = await start_intake(
        settings,
        rate_limiter=RateLimiter(per_minute=600, burst=10),
        submission_budget=RateLimiter(per_minute=1, burst=2),
    )
    try:
        answers = [
            (
                await client.post(
                    "/api/v1/reports",
                    json=valid_report(),
                    headers={"X-Forwarded-For": f"203.0.113.{n}"},
                )
            ).status
            for n in range(3)
        ]
        shed = await client.post(
            "/api/v1/reports", json=valid_report(), headers={"X-Forwarded-For": "203.0.113.9"}
        )
        lookup = await client.get(f"/api/v1/reports/{UNKNOWN_CODE}")
        assert answers == [201, 201, 429]
        assert shed.status == 429 and int(shed.headers["Retry-After"]) >= 1
        assert "too many reports" in (await shed.json())["error"]["message"]
        assert lookup.status == 404  # looked up, not refused
    finally:
        await client.close()
