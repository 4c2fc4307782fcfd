"""In a real browser: the reporter's status page in Vietnamese, in words and Vietnam local time."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import screenshot
from tests.e2e.conftest import System, auth, case_for, reporter_status, submit_json
from tests.helpers import resolve_body, wait_until

pytestmark = pytest.mark.e2e

SCAM = {
    "category": "scam_fraud",
    "content_urls": ["https://www.facebook.com/trang.trung.thuong.gia"],
    "platform": "facebook",
    "description": "Trang báo trúng thưởng xe máy, đòi chuyển phí nhận thưởng trước.",
    "province": "Hà Nội",
    "reporter_kind": "citizen",
    "anonymous": True,
}
LOCAL_TIME = re.compile(r"\d{2}:\d{2} \d{2}/\d{2}/\d{4} \(Giờ Việt Nam, GMT\+07:00\)")


async def _resolved_report(system: System) -> str:
    """A report whose case the police resolved with the content removed."""
    async with aiohttp.ClientSession() as session:
        code = await submit_json(session, system, SCAM)

        async def assigned_case() -> dict[str, Any] | None:
            return await case_for(system, code)

        case = await wait_until(assigned_case, what="the case")
        actions = {
            "acknowledge": {},
            "resolve": resolve_body("Đã yêu cầu nền tảng gỡ trang."),
        }
        for action, body in actions.items():
            url = f"{system.url('routing')}/api/v1/cases/{case['_id']}/{action}"
            async with session.post(url, json=body, headers=auth("police")) as response:
                assert response.status == 200, await response.text()

        async def resolved() -> bool:
            status = await reporter_status(session, system, code)
            return status["status"] == "resolved" and status.get("outcome") == "removed_by_platform"

        await wait_until(resolved, what="the reporter's status to follow the case")
    return code


async def test_status_page_shows_steps_outcome_and_agency_in_vietnamese_local_time(
    page: Page, system: System
) -> None:
    code = await _resolved_report(system)
    await page.goto(f"{system.url('intake')}/status/{code}")
    await expect(page.locator("html")).to_have_attribute("lang", "vi")
    await expect(page.locator("#status")).to_have_text("Đã xử lý xong")
    await expect(page.locator("#decision-outcome")).to_have_text("Nền tảng đã gỡ bỏ nội dung")
    await expect(page.locator("#agency")).to_have_text("Công an (An ninh mạng)")
    await expect(page.locator("#submitted-at")).to_have_text(LOCAL_TIME)
    steps = page.locator("#history li")
    await expect(steps).to_have_count(4)  # received, assigned, acknowledged, resolved
    await expect(steps.first).to_contain_text("Đã tiếp nhận")
    await expect(steps.last).to_contain_text("Đã xử lý xong")
    await screenshot(page, "status-vi-desktop")
    await page.set_viewport_size({"width": 390, "height": 844})
    await screenshot(page, "status-vi-phone")
    await page.locator("#switch-language").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("#tracking-code")).to_have_text(code)
    await expect(page.locator("#decision-outcome")).to_have_text("The platform removed the content")
    await screenshot(page, "status-en-phone")
