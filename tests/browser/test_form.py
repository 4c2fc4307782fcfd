"""In a real browser: a citizen chooses a province and a commune, attaches screenshots, sends
the form once however often they tap or reload, copies the code and follows the report."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import screenshot
from tests.e2e.conftest import System
from tests.helpers import opened_contact

pytestmark = pytest.mark.e2e

CODE = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$")
HOAN_KIEM = "00070"  # Phường Hoàn Kiếm, Thành phố Hà Nội ("01")


def _screenshot_png(path: Path, colour: str) -> Path:
    """A small PNG standing in for a phone screenshot."""
    buffer = io.BytesIO()
    Image.new("RGB", (360, 640), colour).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


async def _reports(system: System) -> list[dict[str, object]]:
    async with system.database("intake") as db:
        return [r async for r in db.reports.find({}, {"tracking_code": 1, "report": 1})]


async def _fill(page: Page) -> None:
    """Everything but the place and the contact."""
    await page.get_by_label("Mạo danh", exact=True).check()
    await page.locator("#content_urls").fill("facebook.com/congan.gia.mao")
    await page.locator("#platform").select_option("facebook")
    await page.locator("#description").fill("Trang giả danh công an phường, yêu cầu chuyển tiền.")


async def test_citizen_chooses_a_commune_attaches_screenshots_and_one_report_is_made(
    page: Page, system: System, tmp_path: Path
) -> None:
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.goto(f"{system.url('intake')}/")
    await expect(page.locator("#platform")).to_have_value("")  # no platform preselected
    await expect(page.locator("#contact-fields")).to_be_hidden()  # until contact is chosen
    await expect(page.locator("#show-communes")).to_have_count(0)  # JS fills the communes
    await _fill(page)
    await page.locator("#province").select_option("01")
    await expect(page.locator(f"#commune option[value='{HOAN_KIEM}']")).to_have_count(1)
    await page.locator("#commune").select_option(HOAN_KIEM)
    await page.locator("#anonymous-no").check()
    await expect(page.locator("#contact-fields")).to_be_visible()
    await page.get_by_label("Số điện thoại").fill("0912 345 678")
    await page.locator("#evidence").set_input_files(
        [
            _screenshot_png(tmp_path / "tin-nhan.png", "white"),
            _screenshot_png(tmp_path / "trang.png", "navy"),
        ]
    )
    await screenshot(page, "form-filled-desktop")
    await page.locator("#send-report").dblclick()  # a double tap

    await expect(page).to_have_url(re.compile(r"/receipt/[A-Z0-9-]+\?lang=vi$"))
    code = page.locator("#tracking-code")
    await expect(code).to_have_text(CODE)
    tracking_code = (await code.text_content() or "").strip()
    await expect(page.locator("#usual-acknowledge")).to_contain_text("trong vòng 1 ngày")
    await screenshot(page, "receipt")
    await page.reload()  # refreshing the receipt shows it again and submits nothing
    await expect(page.locator("#tracking-code")).to_have_text(tracking_code)
    (report,) = await _reports(system)
    assert report["tracking_code"] == tracking_code
    stored = report["report"]
    assert isinstance(stored, dict)
    assert (stored["province_code"], stored["commune_code"]) == ("01", HOAN_KIEM)
    contact = opened_contact(stored, str(report["_id"]))
    assert contact is not None and contact.phone == "+84912345678"
    assert stored["content_urls"] == ["https://www.facebook.com/congan.gia.mao"]
    assert len(stored["evidence"]) == 2

    await page.locator("#copy-code").click()
    await expect(page.locator("#copy-status")).to_have_text("Đã sao chép mã.")
    assert await page.evaluate("navigator.clipboard.readText()") == tracking_code

    await page.locator("#switch-language").click()  # the English receipt keeps the code
    await expect(page.locator("#tracking-code")).to_have_text(tracking_code)
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.locator("#switch-language").click()

    await page.locator("#status-link").click()
    await expect(page.locator("html")).to_have_attribute("lang", "vi")
    await expect(page.locator("#history")).to_contain_text("Đã tiếp nhận")  # in words
    await expect(page.locator("#submitted-at")).to_contain_text("Giờ Việt Nam")
    await screenshot(page, "status-vi")
    # Typed as people do: small letters, spaces instead of dashes.
    await page.locator("#code").fill(tracking_code.lower().replace("-", " "))
    await page.get_by_role("button", name="Tra cứu").click()
    await expect(page.locator("#tracking-code")).to_have_text(tracking_code)


async def test_without_javascript_the_commune_button_fills_the_list_and_the_form_still_sends(
    browser: Browser, system: System
) -> None:
    context = await browser.new_context(
        locale="vi-VN", java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = await context.new_page()
    try:
        await page.goto(f"{system.url('intake')}/")
        await expect(page.locator("#contact-fields")).to_be_visible()  # nothing hidden
        await _fill(page)
        await page.locator("#province").select_option("01")
        await page.get_by_role("button", name="Chọn xã/phường").click()
        await expect(page.locator("#description")).to_have_value(re.compile("giả danh công an"))
        await page.locator("#commune").select_option(HOAN_KIEM)
        await page.locator("#anonymous-yes").check()
        await page.get_by_role("button", name="Gửi phản ánh").click()
        await expect(page.locator("#tracking-code")).to_have_text(CODE)
        await expect(page.locator("#copy-code")).to_be_hidden()  # the code is plain text
        (report,) = await _reports(system)
        stored = report["report"]
        assert isinstance(stored, dict) and stored["commune_code"] == HOAN_KIEM
    finally:
        await context.close()


async def test_the_form_and_receipt_fit_a_phone_and_errors_show_beside_the_fields(
    browser: Browser, system: System
) -> None:
    context = await browser.new_context(
        locale="vi-VN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    try:
        await page.goto(f"{system.url('intake')}/")
        await screenshot(page, "form-phone")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"
        await page.locator("#anonymous-no").check()
        await page.get_by_label("Số điện thoại").fill("123456")
        await page.locator("#send-report").click()
        await expect(page.locator("#contact_phone-error")).to_contain_text(
            "Số điện thoại không hợp lệ"
        )
        await expect(page.locator("#contact-fields")).to_be_visible()
        await expect(page.locator("#send-report")).to_be_enabled()
        await screenshot(page, "form-phone-errors")
        assert await _reports(system) == []
        await _fill(page)
        await page.get_by_label("Số điện thoại").fill("+84 24 3825 1234")
        await page.locator("#send-report").click()
        await expect(page.locator("#tracking-code")).to_have_text(CODE)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the receipt scrolls sideways on a phone ({width} px)"
        await screenshot(page, "receipt-phone")
        (report,) = await _reports(system)
        stored = report["report"]
        assert isinstance(stored, dict)
        contact = opened_contact(stored, str(report["_id"]))
        assert contact is not None and contact.phone == "+842438251234"
    finally:
        await context.close()
