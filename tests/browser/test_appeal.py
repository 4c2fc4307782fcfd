"""In a real browser: the reporter reads the decision on the status page, appeals it, and reads
the result of the review a supervisor made."""

from __future__ import annotations

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
    "content_urls": ["https://www.facebook.com/quyen.gop.gia.mao"],
    "platform": "facebook",
    "description": "Trang kêu gọi quyên góp từ thiện giả, yêu cầu chuyển tiền vào tài khoản lạ.",
    "province": "Hà Nội",
    "reporter_kind": "citizen",
    "anonymous": False,
    "contact": {"name": "Trần Văn C", "email": "tran.van.c@example.com"},
}
EXPLANATION = "Facebook đã gỡ trang lừa đảo theo yêu cầu của Công an thành phố."
REASON = "Trang lừa đảo đã mở lại dưới tên khác, tôi gửi kèm đường dẫn mới trong phản ánh."


async def _decided_report(session: aiohttp.ClientSession, system: System) -> tuple[str, str]:
    """A report whose case the police resolved with a decision; its code and case id."""
    code = await submit_json(session, system, SCAM)

    async def assigned_case() -> dict[str, Any] | None:
        return await case_for(system, code)

    case = await wait_until(assigned_case, what="the case")
    for action, body in {
        "acknowledge": {},
        "resolve": resolve_body(explanation=EXPLANATION),
    }.items():
        url = f"{system.url('routing')}/api/v1/cases/{case['_id']}/{action}"
        async with session.post(url, json=body, headers=auth(case["agency"])) as response:
            assert response.status == 200, await response.text()

    async def decided() -> bool:
        status = await reporter_status(session, system, code)
        return status.get("decision") is not None

    await wait_until(decided, what="the decision to reach the reporter")
    return code, str(case["_id"])


async def _shot(page: Page, name: str) -> None:
    await screenshot(page, name)  # kept under var/screenshots/


async def test_reporter_reads_the_decision_appeals_and_sees_the_review(
    page: Page, system: System
) -> None:
    async with aiohttp.ClientSession() as session:
        code, case_id = await _decided_report(session, system)
        await page.goto(f"{system.url('intake')}/status/{code}")
        decision = page.locator("#decision")
        await expect(page.locator("#decision-outcome")).to_have_text("Nền tảng đã gỡ bỏ nội dung")
        await expect(page.locator("#decision-explanation")).to_have_text(EXPLANATION)
        await expect(page.locator("#decision-automated")).to_contain_text("không được đưa ra")
        await expect(page.locator("#appeal-state")).to_contain_text("khiếu nại một lần đến hết")
        await _shot(page, "intake-decision-vi-1280")
        await page.set_viewport_size({"width": 390, "height": 844})
        await _shot(page, "intake-decision-vi-390")

        await page.locator("#reason").fill(REASON)
        await page.get_by_role("button", name="Gửi khiếu nại").click()
        await expect(page.locator("#appeal-received")).to_be_visible()
        await expect(page.locator("#appeal-state")).to_contain_text("Bạn đã khiếu nại")
        await expect(page.locator("#appeal-form")).to_have_count(0)
        await _shot(page, "intake-appealed-vi-390")

        async def under_review() -> bool:
            case = await case_for(system, code)
            return case is not None and case["status"] == "appealed"

        await wait_until(under_review, what="routing to reopen the case for review")
        review = {"result": "upheld", "explanation": "Quyết định gỡ trang được giữ nguyên."}
        url = f"{system.url('routing')}/api/v1/cases/{case_id}/review"
        async with session.post(url, json=review, headers=auth("supervisor")) as response:
            assert response.status == 200, await response.text()

        async def reviewed() -> bool:
            status = await reporter_status(session, system, code)
            return (status.get("decision") or {}).get("review") == "upheld"

        await wait_until(reviewed, what="the review to reach the reporter")
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.goto(f"{system.url('intake')}/status/{code}?lang=en")
        await expect(page.locator("#review-result")).to_have_text(
            "The review upheld the earlier decision"
        )
        await expect(decision.locator("h3")).to_have_text("Decision after review")
        await expect(page.locator("#status")).to_have_text("Resolved")
        await _shot(page, "intake-review-en-1280")
