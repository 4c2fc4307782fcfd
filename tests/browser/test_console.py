"""In a real browser: the citizen form, an agency working a case, a supervisor assigning triage."""

from __future__ import annotations

import re

import aiohttp
import pytest
from playwright.async_api import Page, expect

from services.routing.accounts import NewAccount
from services.routing.people import Person, Role
from tests.browser.conftest import screenshot
from tests.e2e.conftest import System, submit_json
from tests.helpers import STAFF_PASSWORD, create_staff_account, staff_person, totp_code

pytestmark = pytest.mark.e2e

SCAM = {
    "category": "scam_fraud",
    "content_urls": ["https://www.facebook.com/gia.mao.ngan.hang"],
    "platform": "facebook",
    "description": "Trang giả danh ngân hàng yêu cầu chuyển tiền phí mở khóa.",
    "province": "Hà Nội",
    "reporter_kind": "citizen",
    "anonymous": False,
    "contact": {"name": "Lê Văn C", "phone": "0912345678"},
    "evidence_links": ["https://example.org/anh-chup-man-hinh.png"],
}
HARMFUL = {
    "category": "harmful_content",  # no rule in the test policy: a triage case
    "content_urls": ["https://www.youtube.com/watch?v=bao-luc"],
    "platform": "youtube",
    "description": "Video có nội dung bạo lực lan truyền trong nhóm học sinh.",
    "reporter_kind": "official",
    "anonymous": True,
}


async def sign_in_person(page: Page, system: System, person: Person) -> NewAccount:
    """A fresh account for `person` in routing's database, signed in through the form."""
    async with system.database("routing") as db:
        made = await create_staff_account(db, person)
    await page.goto(f"{system.url('routing')}/console/login")
    await page.get_by_label("Tên đăng nhập").fill(made.account.login)
    await page.get_by_label("Mật khẩu").fill(STAFF_PASSWORD)
    await page.get_by_label("Mã trên ứng dụng xác thực").fill(totp_code(made.totp_secret))
    await page.get_by_role("button", name="Đăng nhập").click()
    return made


async def sign_in(page: Page, system: System, principal: str) -> None:
    """Sign in as a new officer of `principal` (an agency), or a new supervisor."""
    role = Role.SUPERVISOR if principal == "supervisor" else Role.OFFICER
    agency = None if role is Role.SUPERVISOR else principal
    await sign_in_person(page, system, staff_person(role, agency))


async def test_citizen_fills_the_form_in_the_browser_and_gets_a_tracking_code(
    page: Page, system: System
) -> None:
    await page.goto(f"{system.url('intake')}/")
    await expect(page.locator("html")).to_have_attribute("lang", "vi")
    await page.keyboard.press("Tab")
    await expect(page.locator("a.skip")).to_be_focused()
    await screenshot(page, "intake-form")
    await page.get_by_label("Lừa đảo", exact=True).check()
    await page.locator("#content_urls").fill("https://zalo.me/lua-dao-trung-thuong")
    await page.locator("#platform").select_option("zalo")
    await page.locator("#description").fill(
        "Tài khoản Zalo báo trúng thưởng, đòi nộp phí nhận quà."
    )
    await page.locator("#province").select_option("92")  # Thành phố Cần Thơ
    await page.locator("#anonymous-yes").check()
    await page.locator("button[type=submit]").click()
    code = page.locator("#tracking-code")
    await expect(code).to_have_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$"))
    await screenshot(page, "intake-submitted")


async def test_citizen_form_shows_errors_beside_fields_and_keeps_input(
    page: Page, system: System
) -> None:
    await page.goto(f"{system.url('intake')}/?lang=en")
    await page.locator("#description").fill("too short")
    await page.locator("button[type=submit]").click()
    await expect(page.locator(".invalid").first).to_be_visible()
    await expect(page.locator("#description")).to_have_value("too short")
    await screenshot(page, "intake-errors")


async def test_agency_sees_a_new_case_appear_acknowledges_and_resolves_it(
    page: Page, system: System
) -> None:
    await sign_in(page, system, "police")
    await expect(page.get_by_role("heading", name="Vụ việc")).to_be_visible()
    async with aiohttp.ClientSession() as session:
        code = await submit_json(session, system, SCAM)
    row = page.locator("tr[data-case]", has_text=code)
    await expect(row).to_be_visible(timeout=20_000)  # arrives without a reload
    await expect(page.locator("#live-notice")).to_have_text("Có vụ việc mới.")
    await screenshot(page, "console-cases")

    await row.get_by_role("link", name=code).click()
    await expect(page.get_by_role("heading", name=re.compile(code))).to_be_visible()
    await page.locator("button[data-reveal]").first.click()  # the reveal is audited
    await expect(page.get_by_text("Lê Văn C")).to_be_visible()
    evidence = page.get_by_role("link", name="https://example.org/anh-chup-man-hinh.png")
    await expect(evidence).to_have_attribute("rel", "noopener noreferrer nofollow")
    await screenshot(page, "console-case")

    await page.locator("#acknowledge-note").fill("Đã tiếp nhận, đang xác minh.")
    await page.get_by_role("button", name="Tiếp nhận").click()
    await expect(page.locator("#case-status")).to_have_text("Đã tiếp nhận")
    await page.locator("#resolve-outcome").select_option("removed_by_platform")
    await page.locator("#resolve-legal_basis").select_option("nd147-2024-removal")
    await page.locator("#resolve-explanation").fill("Trang giả mạo đã bị gỡ bỏ.")
    await page.locator("#resolve-note").fill("Đã yêu cầu nền tảng gỡ trang giả mạo.")
    await page.get_by_role("button", name="Giải quyết xong").click()
    await expect(page.locator("#case-status")).to_have_text("Đã giải quyết")
    audit = page.locator("#audit tbody tr")
    await expect(audit).to_have_count(4)  # assigned, contact opened, acknowledged, resolved
    await expect(audit.nth(2)).to_contain_text("Đã tiếp nhận, đang xác minh.")
    await expect(audit.nth(3)).to_contain_text("Đã yêu cầu nền tảng gỡ trang giả mạo.")
    await expect(audit.nth(3).locator(".audit-person")).not_to_be_empty()
    await screenshot(page, "console-case-resolved")

    # Keyboard only: the skip link is the first stop and leads to the content.
    await page.keyboard.press("Tab")
    await expect(page.locator("a.skip")).to_be_focused()


async def test_supervisor_assigns_a_triage_case_from_the_overview(
    page: Page, system: System
) -> None:
    async with aiohttp.ClientSession() as session:
        code = await submit_json(session, system, HARMFUL)
    await sign_in(page, system, "supervisor")
    await expect(page.get_by_role("heading", name="Tổng quan giám sát")).to_be_visible()
    row = page.locator("tr[data-case]", has_text=code)
    for _ in range(40):  # routing takes a moment to turn the report into a case
        if await row.count():
            break
        await page.wait_for_timeout(250)
        await page.reload()
    await expect(row).to_be_visible()
    await expect(page.locator("svg.chart")).to_be_visible()
    await screenshot(page, "console-overview")
    await row.get_by_label("Chuyển đến cơ quan").select_option("culture_office")
    await row.get_by_label("Lý do").fill("Nội dung bạo lực: Sở VHTT xử lý.")
    await row.get_by_role("button", name="Giao").click()
    await expect(page.locator("tr[data-case]", has_text=code)).to_have_count(0)

    await page.goto(f"{system.url('routing')}/console/cases?agency=culture_office&lang=en")
    assigned = page.locator("tr[data-case]", has_text=code)
    await expect(assigned).to_contain_text("Assigned")
    await screenshot(page, "console-cases-en")
