"""The reporter's HTML form: CSRF, errors beside fields with input kept, the tracking code."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.mongo import MongoDatabase

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


async def _token(client: Client, path: str = "/") -> str:
    page = await (await client.get(path)).text()
    match = TOKEN.search(page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def _form(token: str, **overrides: str) -> dict[str, str]:
    data = {
        "csrf_token": token,
        "category": "false_information",
        "content_urls": "https://tiktok.com/@fake/video/1\nhttps://tiktok.com/@fake/video/2",
        "platform": "tiktok",
        "description": "Video tung tin sai sự thật về dịch bệnh.",
        "seen_at": "2026-11-20T08:30",
        "province": "Đà Nẵng",
        "district": "Hải Châu",
        "reporter_kind": "official",
        "anonymous": "yes",
    }
    data.update(overrides)
    return data


async def test_form_is_vietnamese_first_and_english_on_request(intake: Client) -> None:
    vietnamese = await (await intake.get("/")).text()
    assert '<html lang="vi">' in vietnamese and "Gửi phản ánh" in vietnamese
    english = await (await intake.get("/?lang=en")).text()
    assert '<html lang="en">' in english and "Send report" in english
    by_header = await (await intake.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})).text()
    assert '<html lang="en">' in by_header


async def test_form_submission_stores_the_report_and_shows_its_tracking_code(
    intake: Client, intake_db: MongoDatabase
) -> None:
    response = await intake.post("/", data=_form(await _token(intake)))
    assert response.status == 201
    page = await response.text()
    code = re.search(r'id="tracking-code">([A-Z0-9-]+)<', page)
    assert code
    stored = await intake_db.reports.find_one({"tracking_code": code.group(1)})
    assert stored is not None
    assert stored["report"]["content_urls"] == [
        "https://tiktok.com/@fake/video/1",
        "https://tiktok.com/@fake/video/2",
    ]
    assert stored["report"]["seen_at"].isoformat().startswith("2026-11-20T01:30")
    assert stored["report"]["contact"] is None
    status = await intake.get(f"/status/{code.group(1)}")
    assert status.status == 200
    assert "Đã tiếp nhận" in await status.text()


async def test_form_without_a_valid_csrf_token_is_refused_and_stores_nothing(
    intake: Client, intake_db: MongoDatabase
) -> None:
    await _token(intake)
    response = await intake.post("/", data=_form("0" * 64))
    assert response.status == 403
    assert await intake_db.reports.count_documents({}) == 0


async def test_form_errors_are_shown_beside_their_fields_with_the_input_kept(
    intake: Client, intake_db: MongoDatabase
) -> None:
    data = _form(
        await _token(intake),
        content_urls="not a link",
        description="ngắn",
        anonymous="no",
        contact_name="<script>alert(1)</script>",
    )
    response = await intake.post("/", data=data)
    assert response.status == 422
    page = await response.text()
    assert 'id="content_urls-error"' in page and "Đường dẫn không hợp lệ" in page
    assert 'id="description-error"' in page and "Quá ngắn" in page
    assert 'id="contact-error"' in page and "vui lòng để lại số điện thoại" in page
    assert "not a link</textarea>" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert await intake_db.reports.count_documents({}) == 0


async def test_status_page_for_an_unknown_code_says_so(intake: Client) -> None:
    response = await intake.get("/status?code=AAAA-BBBB-CCCC&lang=en")
    assert response.status == 404
    assert "No report has this tracking code." in await response.text()
