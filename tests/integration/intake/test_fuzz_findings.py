"""Inputs the fuzz run (scripts/fuzz) found answering 500 or accepted against the contract."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.mongo import MongoDatabase
from tests.integration.intake.conftest import valid_report
from tests.integration.intake.test_form import _form, _token

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]


async def test_a_form_in_an_unknown_charset_is_a_400_not_a_500(
    intake: Client, intake_db: MongoDatabase
) -> None:
    token = await _token(intake)
    body = urllib.parse.urlencode(_form(token))
    content_type = "application/x-www-form-urlencoded; charset=no-such-charset"
    reply = await intake.post("/", data=body, headers={"Content-Type": content_type})
    assert reply.status == 400
    assert await intake_db.reports.count_documents({}) == 0


async def test_a_url_of_2000_characters_as_documented_is_accepted(intake: Client) -> None:
    url = "https://example.com/" + "a" * (2000 - len("https://example.com/"))
    reply = await intake.post("/api/v1/reports", json=valid_report(evidence_links=[url]))
    assert reply.status == 201


async def test_a_url_longer_than_documented_is_a_422_naming_it(intake: Client) -> None:
    url = "https://example.com/" + "a" * 2000
    reply = await intake.post("/api/v1/reports", json=valid_report(evidence_links=[url]))
    assert reply.status == 422
    fields = [e["field"] for e in (await reply.json())["error"]["errors"]]
    assert fields == ["evidence_links.0"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("description", "Trang giả mạo cơ quan nhà nước." + " " * 5000),
        ("description", " " * 12),
        ("province", "01" + "\n" * 100),
    ],
    ids=["over-maxLength-as-sent", "blank", "place-over-maxLength-as-sent"],
)
async def test_text_is_bounded_as_sent_and_trimmed_after(
    intake: Client, intake_db: MongoDatabase, field: str, value: str
) -> None:
    reply = await intake.post("/api/v1/reports", json=valid_report(**{field: value}))
    assert reply.status == 422, await reply.text()
    assert field in [e["field"] for e in (await reply.json())["error"]["errors"]]
    assert await intake_db.reports.count_documents({}) == 0


async def test_surrounding_whitespace_is_trimmed_from_a_description(
    intake: Client, intake_db: MongoDatabase
) -> None:
    reply = await intake.post(
        "/api/v1/reports", json=valid_report(description="  Trang giả mạo cơ quan nhà nước.\n")
    )
    assert reply.status == 201, await reply.text()
    stored = await intake_db.reports.find_one({})
    assert stored is not None
    assert stored["report"]["description"] == "Trang giả mạo cơ quan nhà nước."


async def test_only_unicode_white_space_is_trimmed_as_the_schema_says(intake: Client) -> None:
    # U+001C-U+001F are not White_Space: `str.strip()` would remove them, the schema does not.
    reply = await intake.post("/api/v1/reports", json=valid_report(description="\x1cabcdefgh\x1f"))
    assert reply.status == 201, await reply.text()
