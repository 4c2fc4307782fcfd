"""In a real browser: an agency records a request to the platform, its answer, and a decision
with reasons; the reporter-visible text is labelled as such."""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_console import SCAM, sign_in
from tests.e2e.conftest import System, submit_json

pytestmark = pytest.mark.e2e
EXPLANATION = "Trang giả mạo ngân hàng đã được nền tảng gỡ bỏ theo yêu cầu của Công an."


async def both_widths(page: Page, name: str) -> None:
    """Screenshots at desktop (1280 px) and phone (390 px) widths: console-<name>-<width>."""
    for width in (1280, 390):
        await page.set_viewport_size({"width": width, "height": 900})
        # Nothing wider than the screen: the page scrolls down, never sideways.
        scroll_width = await page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{name} is {scroll_width} px wide at {width} px"
        await screenshot(page, f"console-{name}-{width}")
    await page.set_viewport_size({"width": 1280, "height": 900})


async def test_agency_records_a_takedown_request_and_a_decision(page: Page, system: System) -> None:
    report = {**SCAM, "content_urls": ["https://www.facebook.com/gia.mao.ngan.hang.2"]}
    async with aiohttp.ClientSession() as session:
        code = await submit_json(session, system, report)
    await sign_in(page, system, "police")
    row = page.locator("tr[data-case]", has_text=code)
    await expect(row).to_be_visible(timeout=20_000)
    await row.get_by_role("link", name=code).click()
    await expect(page.locator("#clock-internal")).to_be_visible()
    await expect(page.locator("#clock-legal")).to_be_visible()

    await page.get_by_text("Ghi nhận yêu cầu gửi nền tảng").first.click()  # opens the form
    form = page.locator("#form-takedown")
    await form.get_by_label("Nội dung yêu cầu").select_option("remove")
    await form.get_by_label("Kênh gửi").select_option("portal")
    await form.get_by_label("Số tham chiếu của nền tảng").fill("FB-GOV-2026-0042")
    await both_widths(page, "takedown-form")
    await form.get_by_role("button", name="Ghi nhận yêu cầu gửi nền tảng").click()
    await expect(page.locator("#case-status")).to_have_text("Chờ nền tảng xử lý")
    request = page.locator("#takedown-table tr[data-request]")
    await expect(request).to_contain_text("FB-GOV-2026-0042")
    await expect(request.locator(".takedown-status")).to_have_text("Đã gửi, chờ nền tảng")
    await expect(page.locator("#clock-internal")).to_contain_text("Tạm dừng")
    await both_widths(page, "takedown-sent")

    answer = page.locator("form[action$='/answer']")
    await answer.get_by_label("Trả lời", exact=True).select_option("done")
    await answer.get_by_role("button", name="Ghi nhận trả lời của nền tảng").click()
    await expect(page.locator("#case-status")).to_have_text("Đang xử lý")
    await expect(request.locator(".takedown-status")).to_have_text("Đã thực hiện")

    resolve = page.locator("#form-resolve")
    await expect(resolve.locator("fieldset.reporter-sees legend")).to_have_text(
        "Hiển thị cho người phản ánh"
    )
    await resolve.get_by_label("Kết quả", exact=True).select_option("removed_by_platform")
    await resolve.get_by_label("Căn cứ pháp lý").select_option("nd147-2024-removal")
    await resolve.get_by_label("Giải thích cho người phản ánh").fill(EXPLANATION)
    await resolve.get_by_label("Ghi chú nội bộ (không bao giờ hiển thị cho người phản ánh)").fill(
        "Facebook xác nhận đã gỡ lúc 10:05."
    )
    await both_widths(page, "decision-form")
    await resolve.get_by_role("button", name=re.compile("Giải quyết")).click()
    await expect(page.locator("#case-status")).to_have_text("Đã giải quyết")
    decision = page.locator("#latest-decision")
    await expect(decision).to_contain_text(EXPLANATION)
    await expect(decision).to_contain_text("Nền tảng đã gỡ bỏ")
    await expect(decision).to_contain_text("Nghị định 147/2024/NĐ-CP")
    await both_widths(page, "decided")
