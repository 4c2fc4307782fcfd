"""In a real browser: the delivery log names each kind of alert and its clock (a platform past
the legal deadline of a takedown request, an escalation on the legal clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aio_pika.abc import AbstractRobustConnection
from playwright.async_api import Page, expect

from services.common.amqp import Publisher
from services.common.contracts import (
    CaseAssigned,
    CaseStatus,
    Category,
    Priority,
    TakedownClock,
    new_event_id,
)
from tests.browser.conftest import screenshot
from tests.e2e.conftest import TOKENS, System
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e


async def test_the_delivery_log_names_platform_alerts_and_the_legal_clock(
    page: Page, system: System, amqp_connection: AbstractRobustConnection
) -> None:
    # A case as routing would announce it: waiting on TikTok, whose legal deadline (and the
    # case's own legal deadline) run out in a second; the culture office's supervisor has a
    # webhook, so each alert has a delivery to show.
    now = datetime.now(UTC)
    case_id = f"case-browser-{new_event_id()[:8]}"
    request = TakedownClock(
        request_id="req-tiktok-1",
        platform="tiktok",
        sent_at=now - timedelta(hours=24),
        legal_due_at=now + timedelta(seconds=1),
    )
    event = CaseAssigned(
        event_id=new_event_id(),
        occurred_at=now,
        case_id=case_id,
        report_id=f"report-of-{case_id}",
        tracking_code="TC-NENTANG",
        agency="culture_office",
        category=Category.FALSE_INFORMATION,
        priority=Priority.HIGH,
        status=CaseStatus.WAITING_ON_PLATFORM,
        version=1,
        due_at=None,
        legal_due_at=now + timedelta(seconds=1),
        takedowns=[request],
        policy_version="browser",
        rule_id=None,
    )
    publisher = await Publisher.open(amqp_connection, system.topology)
    await publisher.publish(event)

    async def both_alerted() -> bool:
        alerts = [a for a, _ in system.webhooks.alerts if a["case_id"] == case_id]
        return {a.get("kind") for a in alerts} >= {"platform_overdue", "escalation"}

    await wait_until(both_alerted, timeout=30, what="the platform and legal-clock alerts")

    await page.goto(f"{system.url('notify')}/deliveries")
    await page.get_by_label("Mã truy cập của giám sát viên").fill(TOKENS["supervisor"])
    await page.get_by_label("Trạng thái").select_option("")
    await page.get_by_label("Mã vụ việc").fill(case_id)
    await page.get_by_role("button", name="Xem").click()
    rows = page.locator("tr", has_text="TC-NENTANG").filter(has_text="webhook")
    await expect(rows.filter(has_text="Nền tảng quá hạn: tiktok")).to_have_count(1)
    await expect(rows.filter(has_text="Cấp 1 (hạn theo luật)")).to_have_count(1)
    await screenshot(page, "notify-delivery-log-alert-kinds")
