"""In a real browser: the agency holding a case opens the reporter's screenshot from the case."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import aiohttp
import pytest
from PIL import Image
from playwright.async_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_console import SCAM, sign_in
from tests.e2e.conftest import System, reporter_status
from tests.evidence_samples import photo_with_gps
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e


async def submit_with_photo(session: aiohttp.ClientSession, system: System) -> str:
    form = aiohttp.FormData()
    form.add_field("report", json.dumps(SCAM), content_type="application/json")
    photo = photo_with_gps(size=(320, 200), orientation=1)
    form.add_field("evidence", io.BytesIO(photo), filename="ảnh chụp.jpg")
    async with session.post(f"{system.url('intake')}/api/v1/reports", data=form) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["tracking_code"])


async def test_holding_agency_opens_the_evidence_from_the_case_page(
    page: Page, system: System
) -> None:
    async with aiohttp.ClientSession() as session:
        code = await submit_with_photo(session, system)

        async def assigned() -> dict[str, Any] | None:
            status = await reporter_status(session, system, code)
            return status if status["status"] == "assigned" else None

        await wait_until(assigned, timeout=30, what="intake knows the case")
    await sign_in(page, system, "police")
    await page.locator("tr[data-case]", has_text=code).get_by_role("link", name=code).click()
    files = page.locator("#evidence-files li")
    await expect(files).to_have_count(1)
    await expect(files.first).to_contain_text("image/jpeg")
    await screenshot(page, "console-case-evidence")

    link = files.first.get_by_role("link", name="ảnh chụp.jpg")
    await expect(link).to_have_attribute("href", re.compile(r"/evidence/[0-9a-f]{32}\?case="))
    async with page.context.expect_page() as opened_info:
        await link.click()
    opened = await opened_info.value
    await opened.wait_for_load_state()
    image = await opened.request.get(opened.url)
    assert image.status == 200
    assert image.headers["content-type"] == "image/jpeg"
    assert not Image.open(io.BytesIO(await image.body())).getexif()  # no GPS, no camera
    await screenshot(opened, "evidence-opened")
