"""In a real browser: a supervisor opens notify's delivery log and re-sends a webhook alert."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import screenshot
from tests.e2e.conftest import TOKENS, System, submit_json
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e

FALSE_INFORMATION = {
    "category": "false_information",  # the culture office: its supervisor has a webhook
    "content_urls": ["https://www.tiktok.com/@tin.gia/video/7301"],
    "platform": "tiktok",
    "description": "Video bịa đặt về việc đóng cửa trường học.",
    "reporter_kind": "citizen",
    "anonymous": True,
}


def level_one_alerts(system: System, code: str) -> list[dict[str, Any]]:
    """The level-1 webhook alerts the receiver got for the report `code`, all signed."""
    alerts = [a for a, _ in system.webhooks.alerts if a["tracking_code"] == code]
    assert all(valid for a, valid in system.webhooks.alerts if a["tracking_code"] == code)
    return [a for a in alerts if a["level"] == 1]


async def test_supervisor_resends_a_delivered_webhook_from_the_delivery_log(
    page: Page, system: System
) -> None:
    async with aiohttp.ClientSession() as session:
        code = await submit_json(session, system, FALSE_INFORMATION)

    async def first_alert() -> bool:
        return len(level_one_alerts(system, code)) == 1

    await wait_until(first_alert, timeout=30, what="the level-1 webhook alert")

    await page.goto(f"{system.url('notify')}/deliveries")
    await expect(page.get_by_role("heading", name="Nhật ký gửi cảnh báo")).to_be_visible()
    await page.get_by_label("Mã truy cập của giám sát viên").fill(TOKENS["supervisor"])
    await page.get_by_label("Trạng thái").select_option("delivered")
    await page.get_by_role("button", name="Xem").click()
    row = page.locator("tr", has_text=code).filter(has_text="webhook").filter(has_text="Cấp 1")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Đã gửi")
    await screenshot(page, "notify-delivery-log")

    await row.get_by_role("button", name="Gửi lại").click()
    await expect(page.get_by_role("status")).to_contain_text("vào hàng đợi gửi lại")

    async def resent() -> bool:
        return len(level_one_alerts(system, code)) == 2

    await wait_until(resent, timeout=30, what="the re-sent webhook alert")
    first, again = level_one_alerts(system, code)
    assert again == first  # the same alert, the same body: receivers drop it by webhook-id
    await page.get_by_role("button", name="Xem").click()
    await expect(row).to_contain_text("gửi lại 1")
    await screenshot(page, "notify-delivery-log-resent")
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(page.get_by_role("button", name="Xem")).to_be_in_viewport()
    await screenshot(page, "notify-delivery-log-phone")


async def test_a_wrong_token_is_said_on_the_page(page: Page, system: System) -> None:
    await page.goto(f"{system.url('notify')}/deliveries")
    await page.get_by_label("Mã truy cập của giám sát viên").fill("not-a-token")
    await page.get_by_role("button", name="Xem").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Mã truy cập không hợp lệ (invalid token)."
    )
