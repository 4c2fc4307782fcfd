"""Every bad input gets a clear error naming what is wrong, and nothing is stored."""

from __future__ import annotations

import io
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.mongo import MongoDatabase
from services.intake.security import RateLimiter
from services.intake.settings import IntakeSettings
from tests.integration.intake.conftest import start_intake, valid_report

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]


async def _fields(response: Any) -> set[str]:
    body = await response.json()
    return {e["field"] for e in body["error"].get("errors", [])}


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"unexpected": 1}, "unexpected"),
        ({"category": "gossip"}, "category"),
        ({"content_urls": ["not a url"]}, "content_urls.0"),
        ({"content_urls": ["ftp://example.com/file"]}, "content_urls.0"),
        ({"content_urls": []}, "content_urls"),
        ({"content_urls": [f"https://e.com/{i}" for i in range(6)]}, "content_urls"),
        ({"evidence_links": [f"https://e.com/{i}" for i in range(11)]}, "evidence_links"),
        ({"description": "x" * 5001}, "description"),
        ({"description": "short"}, "description"),
        ({"platform": "myspace"}, "platform"),
        ({"province": "p" * 101}, "province"),
        ({"seen_at": "2999-01-01T00:00:00+07:00"}, "seen_at"),
        ({"seen_at": "2026-01-01T00:00:00"}, "seen_at"),
        ({"contact": {"phone": "call me"}}, "contact.phone"),
        ({"contact": {"email": "not-an-email"}}, "contact.email"),
        ({"contact": {"phone": "0912345678", "fax": "1"}}, "contact.fax"),
        ({"anonymous": True}, "contact"),
        ({"anonymous": False, "contact": None}, "contact"),
        ({"anonymous": False, "contact": {"name": "only a name"}}, "contact"),
    ],
)
async def test_invalid_field_is_422_naming_it_and_stores_nothing(
    intake: Client, intake_db: MongoDatabase, override: dict[str, Any], field: str
) -> None:
    response = await intake.post("/api/v1/reports", json=valid_report(**override))
    assert response.status == 422
    assert field in await _fields(response)
    assert await intake_db.reports.count_documents({}) == 0


async def test_missing_required_fields_are_each_named(intake: Client) -> None:
    response = await intake.post("/api/v1/reports", json={})
    assert response.status == 422
    assert await _fields(response) >= {
        "category",
        "content_urls",
        "platform",
        "description",
        "anonymous",
    }


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400),
        ('{"description": "caf\xe9"}'.encode("latin-1"), {"Content-Type": "application/json"}, 400),
        (b"category=scam_fraud", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
        (b"{}", {"Content-Type": "text/plain"}, 415),
        (b"[1, 2]", {"Content-Type": "application/json"}, 422),
        (b"{}", {"Content-Type": "application/json", "Idempotency-Key": "x" * 201}, 400),
    ],
)
async def test_malformed_request_gets_a_json_error_and_stores_nothing(
    intake: Client, intake_db: MongoDatabase, body: bytes, headers: dict[str, str], status: int
) -> None:
    response = await intake.post("/api/v1/reports", data=body, headers=headers)
    assert response.status == status
    error = (await response.json())["error"]
    assert error["status"] == status and error["message"]
    assert await intake_db.reports.count_documents({}) == 0


async def test_body_over_the_limit_is_413(intake: Client, intake_db: MongoDatabase) -> None:
    huge = b'{"description": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = await intake.post(
        "/api/v1/reports", data=io.BytesIO(huge), headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    assert (await response.json())["error"]["status"] == 413
    assert await intake_db.reports.count_documents({}) == 0


async def test_too_many_requests_from_one_client_get_429_with_retry_after(
    intake_settings: IntakeSettings,
) -> None:
    client = await start_intake(intake_settings, rate_limiter=RateLimiter(per_minute=6, burst=3))
    try:
        statuses = [
            (await client.post("/api/v1/reports", json=valid_report())).status for _ in range(3)
        ]
        limited = await client.post("/api/v1/reports", json=valid_report())
        assert statuses == [201, 201, 201]
        assert limited.status == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert (await limited.json())["error"]["status"] == 429
        assert (await client.get("/healthz")).status == 200  # health is never limited
    finally:
        await client.close()
