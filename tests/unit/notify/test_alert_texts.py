"""What people read of each kind of alert: the e-mail (Vietnamese first) and the webhook body
(the event plus kind, clock and summary: fields added, none renamed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.contracts import (
    CaseEscalated,
    CaseStatus,
    CaseWarning,
    Category,
    DeadlineClock,
    PlatformDeadlineMissed,
    Priority,
)
from services.notify.channels import alert_email, webhook_body

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 16:00 in Vietnam
CASE: dict[str, Any] = {
    "event_id": "e1",
    "occurred_at": NOW,
    "case_id": "c1",
    "report_id": "r1",
    "tracking_code": "TC-1",
    "agency": "police",
    "category": Category.HIJACKED_ACCOUNT,
    "priority": Priority.HIGH,
    "status": CaseStatus.IN_PROGRESS,
    "targets": ["police-desk"],
}
ESCALATION = CaseEscalated(
    **CASE,
    level=2,
    due_at=NOW - timedelta(hours=5),
    escalated_at=NOW,
    overdue_by_seconds=5 * 3600,
    clock=DeadlineClock.LEGAL,
)
WARNING = CaseWarning(
    **CASE, alerted_at=NOW, clock=DeadlineClock.INTERNAL, share=0.8, due_at=NOW + timedelta(hours=1)
)
PLATFORM = PlatformDeadlineMissed(
    **CASE,
    alerted_at=NOW,
    request_id="req-1",
    platform="facebook",
    sent_at=NOW - timedelta(hours=25),
    legal_due_at=NOW - timedelta(hours=1),
    overdue_by_seconds=3600,
)


@pytest.mark.parametrize(
    ("event", "subject", "line"),
    [
        (
            ESCALATION,
            "[Cảnh báo cấp 2] Vụ việc TC-1 quá hạn xử lý (hạn theo luật) / Level 2 escalation",
            "đã quá thời hạn theo quy định pháp luật 5.0 giờ (hạn: 11:00 30/11/2026",
        ),
        (
            WARNING,
            "[Nhắc hạn 80%] Vụ việc TC-1 đã dùng 80% thời hạn xử lý nội bộ",
            "hạn: 17:00 30/11/2026 (giờ Việt Nam)",
        ),
        (
            PLATFORM,
            "[Nền tảng quá hạn] facebook chưa trả lời yêu cầu của vụ việc TC-1 đúng hạn",
            "nền tảng facebook chưa trả lời yêu cầu req-1 (gửi lúc 15:00 29/11/2026)",
        ),
    ],
)
def test_each_kind_of_alert_says_what_and_which_clock_in_vietnamese_first(
    event: CaseEscalated | CaseWarning | PlatformDeadlineMissed, subject: str, line: str
) -> None:
    message = alert_email(event, ["a@example.gov.vn"], "canh-bao@example.gov.vn", "https://x/c1")
    assert str(message["Subject"]).startswith(subject)
    text = message.get_content()
    assert text.startswith("Vụ việc TC-1 (") and line in text
    assert "\nEnglish: case TC-1" in text and "https://x/c1" in text
    assert message["X-Incidents-Event-Id"] == "e1"


@pytest.mark.parametrize(
    ("event", "kind", "clock"),
    [
        (ESCALATION, "escalation", "legal"),
        (WARNING, "warning", "internal"),
        (PLATFORM, "platform_overdue", "legal"),
    ],
)
def test_webhook_bodies_add_kind_clock_and_summary_to_the_event(
    event: CaseEscalated | CaseWarning | PlatformDeadlineMissed, kind: str, clock: str
) -> None:
    payload = json.loads(webhook_body(event, "police-desk", "https://x/c1"))
    assert (payload["kind"], payload["clock"], payload["type"]) == (kind, clock, event.type)
    assert payload["target"] == "police-desk" and payload["case_url"] == "https://x/c1"
    assert payload["summary"] == str(alert_email(event, [], "s@x", "u")["Subject"])
    for added in ("kind", "summary", "target", "case_url"):
        payload.pop(added)
    if "clock" not in type(event).model_fields:  # a platform's deadline: always the legal one
        payload.pop("clock")
    assert type(event).model_validate(payload) == event
