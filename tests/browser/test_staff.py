"""In a real browser: an officer signs in with password and authenticator code (phone and
desktop widths), and an agency lead assigns a case to one of the agency's officers."""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import Page, expect

from services.routing.people import Role
from tests.browser.conftest import screenshot
from tests.browser.test_console import SCAM, sign_in_person
from tests.e2e.conftest import System, submit_json
from tests.helpers import STAFF_PASSWORD, create_staff_account, staff_person, totp_code

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [390, 1280])
async def test_an_officer_signs_in_with_password_and_authenticator_code(
    page: Page, system: System, width: int
) -> None:
    await page.set_viewport_size({"width": width, "height": 900})
    async with system.database("routing") as db:
        made = await create_staff_account(db, staff_person("officer", "police", name="Phạm Thu Hà"))
    await page.goto(f"{system.url('routing')}/console/cases")  # not signed in: to the form
    await expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    await screenshot(page, f"staff-sign-in-{width}")
    await page.get_by_label("Tên đăng nhập").fill(made.account.login)
    await page.get_by_label("Mật khẩu").fill(STAFF_PASSWORD)
    await page.get_by_label("Mã trên ứng dụng xác thực").fill("000000")
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng."
    )
    await expect(page.get_by_label("Tên đăng nhập")).to_have_value(made.account.login)
    await screenshot(page, f"staff-sign-in-refused-{width}")
    await page.get_by_label("Mật khẩu").fill(STAFF_PASSWORD)
    await page.get_by_label("Mã trên ứng dụng xác thực").fill(totp_code(made.totp_secret))
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page).to_have_url(re.compile(r"/console/cases$"))
    await expect(page.locator("#signed-in-as")).to_contain_text("Phạm Thu Hà (Cán bộ")
    await screenshot(page, f"staff-signed-in-{width}")


async def test_a_lead_assigns_a_case_to_an_officer(page: Page, system: System) -> None:
    async with aiohttp.ClientSession() as session:
        code = await submit_json(
            session, system, {**SCAM, "content_urls": ["https://www.facebook.com/giao.viec"]}
        )
    async with system.database("routing") as db:
        officer = await create_staff_account(
            db, staff_person("officer", "police", name="Lê Thị Bình")
        )
    await sign_in_person(page, system, staff_person(Role.LEAD, "police", name="Trần Văn An"))
    row = page.locator("tr[data-case]", has_text=code)
    await expect(row).to_be_visible(timeout=20_000)
    await row.get_by_role("link", name=code).click()
    await expect(page.locator("#case-assignee")).to_have_text("Chưa giao cho ai")
    await page.get_by_label("Cán bộ", exact=True).select_option(officer.account.account_id)
    await page.get_by_role("button", name="Giao cho cán bộ").click()
    await expect(page.locator("#case-assignee")).to_contain_text("Lê Thị Bình")
    last = page.locator("#audit tbody tr").last
    await expect(last).to_contain_text("Trần Văn An")
    await expect(last).to_contain_text("Lê Thị Bình")
    await screenshot(page, "staff-lead-assigned")
    await page.set_viewport_size({"width": 390, "height": 900})
    await screenshot(page, "staff-lead-assigned-390")
