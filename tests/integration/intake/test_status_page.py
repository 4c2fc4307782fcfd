"""The reporter's status page: statuses and outcome in words, Vietnam local times, language."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.mongo import MongoDatabase
from tests.integration.intake.conftest import valid_report

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
SUBMITTED = datetime(2026, 11, 29, 16, 50, tzinfo=UTC)  # 23:50 in Hà Nội
ASSIGNED = datetime(2026, 11, 29, 17, 5, tzinfo=UTC)  # 00:05 the next day in Hà Nội
RESOLVED = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)  # 09:30 in Hà Nội


async def _closed_report(intake: Client, db: MongoDatabase) -> str:
    """A report whose case was assigned to the police and resolved with the content removed."""
    created = await (await intake.post("/api/v1/reports", json=valid_report())).json()
    code: str = created["tracking_code"]
    history = [
        {"status": "received", "at": SUBMITTED},
        {"status": "assigned", "at": ASSIGNED},
        {"status": "resolved", "at": RESOLVED},
    ]
    case = {"case_id": "c-1", "agency": "police", "status": "resolved", "version": 3}
    await db.reports.update_one(
        {"tracking_code": code},
        {
            "$set": {
                "history": history,
                "status": "resolved",
                "submitted_at": SUBMITTED,
                "updated_at": RESOLVED,
                "case": {**case, "event_type": "case.updated", "outcome": "removed"},
            }
        },
    )
    return code


def _visible_text(page: str) -> str:
    body = page.split("<main", 1)[1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


async def test_status_page_shows_words_and_vietnam_local_times(
    intake: Client, intake_db: MongoDatabase
) -> None:
    code = await _closed_report(intake, intake_db)
    response = await intake.get(f"/status/{code}")
    assert response.status == 200
    assert response.headers["Content-Language"] == "vi"
    assert "Cookie" in response.headers.getall("Vary")
    text = _visible_text(await response.text())
    for words in ("Đã tiếp nhận", "Đã chuyển cơ quan xử lý", "Đã xử lý xong"):
        assert words in text
    assert "Công an (An ninh mạng)" in text
    assert "Nội dung đã bị gỡ bỏ" in text  # the outcome
    assert "Lừa đảo" in text  # the category
    assert "23:50 29/11/2026 (Giờ Việt Nam, GMT+07:00)" in text
    assert "00:05 30/11/2026" in text  # the assignment, past midnight in Hà Nội
    assert "09:30 01/12/2026 (Giờ Việt Nam, GMT+07:00)" in text
    assert "UTC" not in text
    for code_word in ("received", "assigned", "resolved", "removed", "police"):
        assert code_word not in text


async def test_english_link_keeps_the_tracking_code_and_the_choice_is_remembered(
    intake: Client, intake_db: MongoDatabase
) -> None:
    code = await _closed_report(intake, intake_db)
    page = await (await intake.get(f"/status?code={code}")).text()
    link = re.search(r'id="switch-language" href="([^"]+)"', page)
    assert link is not None
    assert link.group(1) == f"/status?code={code}&amp;lang=en"
    english = await intake.get(f"/status?code={code}&lang=en")
    assert english.headers["Content-Language"] == "en"
    assert english.cookies["lang"].value == "en"
    text = _visible_text(await english.text())
    assert code in text
    assert "Resolved" in text and "The content was removed" in text
    assert "Police (cyber security unit)" in text
    assert "Dec 1, 2026, 09:30 (Vietnam Time, GMT+07:00)" in text
    later = await intake.get(f"/status/{code}")  # the client sends the cookie back
    assert later.headers["Content-Language"] == "en"
    assert '<html lang="en">' in await later.text()


async def test_browser_preferring_english_gets_the_vietnamese_status_page(
    intake: Client, intake_db: MongoDatabase
) -> None:
    code = await _closed_report(intake, intake_db)
    response = await intake.get(f"/status/{code}", headers={"Accept-Language": "en-US,en"})
    assert response.headers["Content-Language"] == "vi"
    assert "Đã xử lý xong" in await response.text()


async def test_status_api_keeps_its_fields_and_adds_words(
    intake: Client, intake_db: MongoDatabase
) -> None:
    code = await _closed_report(intake, intake_db)
    body = await (await intake.get(f"/api/v1/reports/{code}")).json()
    assert body["status"] == "resolved" and body["status_label"] == "Đã xử lý xong"
    assert body["agency"] == "police" and body["category"] == "scam_fraud"
    assert body["outcome"] == "removed" and body["outcome_label"] == "Nội dung đã bị gỡ bỏ"
    assert [step["status"] for step in body["history"]] == ["received", "assigned", "resolved"]
    assert body["history"][1]["status_label"] == "Đã chuyển cơ quan xử lý"
    english = await (await intake.get(f"/api/v1/reports/{code}?lang=en")).json()
    assert english["language"] == "en" and english["status_label"] == "Resolved"
