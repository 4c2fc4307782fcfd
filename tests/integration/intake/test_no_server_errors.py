"""Inputs that once answered 500 now answer a 4xx naming what is wrong, and store nothing."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.mongo import MongoDatabase
from tests.integration.intake.conftest import valid_report
from tests.integration.intake.test_form import _form, _token

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]


async def _error(response: Any) -> dict[str, Any]:
    assert response.content_type == "application/json"
    body: dict[str, Any] = await response.json()
    return body["error"]


async def test_a_body_nested_ten_thousand_deep_is_a_400(intake: Client) -> None:
    body = "[" * 10_000 + "]" * 10_000
    reply = await intake.post(
        "/api/v1/reports", data=body, headers={"Content-Type": "application/json"}
    )
    assert reply.status == 400
    assert "nested" in (await _error(reply))["message"]


async def test_a_five_thousand_digit_number_is_a_400_in_our_words(intake: Client) -> None:
    body = '{"category": ' + "9" * 5000 + "}"
    reply = await intake.post(
        "/api/v1/reports", data=body, headers={"Content-Type": "application/json"}
    )
    assert reply.status == 400
    assert "set_int_max_str_digits" not in (await _error(reply))["message"]


@pytest.mark.parametrize(
    "seen_at",
    ["0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z", "1989-12-31T23:59:59+07:00"],
)
async def test_a_seen_at_before_1990_is_a_422_naming_it(
    intake: Client, intake_db: MongoDatabase, seen_at: str
) -> None:
    reply = await intake.post("/api/v1/reports", json=valid_report(seen_at=seen_at))
    assert reply.status == 422
    assert [e["field"] for e in (await _error(reply))["errors"]] == ["seen_at"]
    assert await intake_db.reports.count_documents({}) == 0


async def test_the_form_with_seen_at_in_year_one_before_seven_is_a_422(
    intake: Client, intake_db: MongoDatabase
) -> None:
    token = await _token(intake)
    reply = await intake.post("/", data=_form(token, seen_at="0001-01-01T03:00"))
    assert reply.status == 422
    assert "1990" in await reply.text()
    assert await intake_db.reports.count_documents({}) == 0


async def test_a_form_with_two_categories_is_a_422_not_a_guess(
    intake: Client, intake_db: MongoDatabase
) -> None:
    token = await _token(intake)
    fields = [*_form(token).items(), ("category", "scam_fraud")]
    reply = await intake.post("/", data=fields)
    assert reply.status == 422
    assert "một giá trị" in await reply.text()
    assert await intake_db.reports.count_documents({}) == 0


async def test_a_non_ascii_csrf_token_is_refused_not_a_500(intake: Client) -> None:
    await _token(intake)
    reply = await intake.post("/", data=_form("mã-bảo-vệ-giả"))
    assert reply.status == 403


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=zz"],
)
async def test_a_multipart_body_without_a_usable_boundary_is_a_400(
    intake: Client, content_type: str
) -> None:
    reply = await intake.post("/", data=b"--x\r\n", headers={"Content-Type": content_type})
    assert reply.status == 400
