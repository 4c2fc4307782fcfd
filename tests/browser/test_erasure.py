"""In a real browser, on a phone's width: the reporter erases their contact from the status page,
and the agency's case loses it too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import System, case_for, submit_json
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots")
NAMED = {
    "category": "scam_fraud",
    "content_urls": ["https://www.facebook.com/trang.xoa.lien.he"],
    "platform": "facebook",
    "description": "Trang mạo danh ngân hàng đòi mã OTP để nhận quà tri ân.",
    "province": "Hà Nội",
    "reporter_kind": "citizen",
    "anonymous": False,
    "contact": {"name": "Hoàng Văn E", "email": "hoang.van.e@example.com"},
}


@pytest.fixture
def shots() -> Path:
    """Where the screenshots asked for go."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


async def test_the_reporter_erases_their_contact_from_the_status_page(
    page: Page, system: System, shots: Path
) -> None:
    async with aiohttp.ClientSession() as session:
        code = await submit_json(session, system, NAMED)

    async def case_with_contact() -> dict[str, Any] | None:
        case = await case_for(system, code)
        return case if case and case["report"].get("contact_sealed") else None

    await wait_until(case_with_contact, what="the case holding the contact")
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(f"{system.url('intake')}/status/{code}")
    await expect(page.locator("#erase-final")).to_have_text("Việc xóa không thể hoàn tác.")
    await page.locator("#erase-form").scroll_into_view_if_needed()
    await page.screenshot(path=str(shots / "intake-erasure-form-390.png"), full_page=True)

    # Sent without the box ticked, the browser itself asks for it (the field is required).
    await page.locator("#erase-button").click()
    await expect(page).to_have_url(f"{system.url('intake')}/status/{code}")
    await page.locator("#confirm").check()
    await page.locator("#erase-button").click()
    await expect(page).to_have_url(f"{system.url('intake')}/status/{code}?lang=vi&erased=1")
    erased = page.locator("#contact-erased")
    await expect(erased).to_contain_text("Thông tin liên hệ của bạn đã được xóa lúc")
    await expect(page.locator("#erase-form")).to_have_count(0)
    await page.screenshot(path=str(shots / "intake-erasure-390.png"), full_page=True)

    async def case_forgot() -> dict[str, Any] | None:
        case = await case_for(system, code)
        return case if case and case["report"].get("contact_sealed") is None else None

    case = await wait_until(case_forgot, what="routing's case without the contact")
    assert [line["actor"] for line in case["audit"] if line["action"] == "contact_erased"] == [
        "reporter"
    ]
