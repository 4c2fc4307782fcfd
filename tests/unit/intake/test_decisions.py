"""The decision as the reporter reads it (page, API, e-mail) and the rules of an appeal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.common.contracts import (
    AppealResult,
    CaseStatus,
    CaseUpdated,
    Category,
    Contact,
    DecisionOutcome,
    Priority,
    PublicDecision,
    new_event_id,
)
from services.intake.api import status_view
from services.intake.appeals import AppealRefusal, appeal_refusal, decision_view, plan_appeal
from services.intake.decision_mail import decision_mail
from services.intake.mail_outbox import mail_id, planned_mails, retry_delay
from services.intake.models import AppealIn
from services.intake.status import REPORTER_STATUS, case_state
from tests.helpers import TEST_KEY_RING

pytestmark = pytest.mark.unit

DECIDED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # 16:30 in Hà Nội
WINDOW = timedelta(days=14)


def decision(**overrides: Any) -> PublicDecision:
    fields: dict[str, Any] = {
        "outcome": DecisionOutcome.REMOVED_BY_PLATFORM,
        "legal_basis": "nd147_art8",
        "legal_basis_title": "Nghị định 147/2024/NĐ-CP, Điều 8",
        "explanation": "Trang giả mạo đã bị Facebook gỡ theo yêu cầu của cơ quan.",
        "decided_at": DECIDED,
        "appeal_until": DECIDED + WINDOW,
    }
    return PublicDecision(**(fields | overrides))


def report(status: str = "resolved", **overrides: Any) -> dict[str, Any]:
    stored = decision(**overrides.pop("decision", {})).model_dump(mode="python")
    report_id = overrides.pop("_id", "report-1")
    document: dict[str, Any] = {
        "_id": report_id,
        "tracking_code": "K7QX-3MPA-WZ9D",
        "report": {"category": "impersonation", "language": "vi", **sealed(report_id, "a@b.vn")},
        "submitted_at": DECIDED - timedelta(days=2),
        "updated_at": DECIDED,
        "status": status,
        "history": [{"status": "received", "at": DECIDED - timedelta(days=2)}],
        "case": {"case_id": "case-1", "agency": "police", "status": status, "decision": stored},
    }
    return document | overrides


def sealed(report_id: str, email: str | None, phone: str | None = None) -> dict[str, Any]:
    """A report's contact as intake stores it (sealed for the report)."""
    contact = Contact(email=email, phone=phone)
    return {"contact_sealed": TEST_KEY_RING.seal_contact(contact, report_id)}


def closed(version: int, with_decision: PublicDecision | None) -> CaseUpdated:
    return CaseUpdated(
        event_id=new_event_id(),
        occurred_at=DECIDED,
        case_id="case-1",
        report_id="report-1",
        tracking_code="K7QX-3MPA-WZ9D",
        agency="police",
        category=Category.IMPERSONATION,
        priority=Priority.NORMAL,
        status=CaseStatus.RESOLVED,
        version=version,
        due_at=None,
        action="resolve" if with_decision else "note",
        from_status=CaseStatus.IN_PROGRESS,
        actor="police",
        note="internal only",
        decision=with_decision,
    )


def test_the_decision_reads_in_vietnamese_and_in_english_with_the_appeal_window() -> None:
    now = DECIDED + timedelta(days=1)
    vi = status_view(report(), "vi", now=now).decision
    en = status_view(report(), "en", now=now).decision
    assert vi is not None and en is not None
    assert vi.outcome_label == "Nền tảng đã gỡ bỏ nội dung"
    assert en.outcome_label == "The platform removed the content"
    assert vi.legal_basis_title == "Nghị định 147/2024/NĐ-CP, Điều 8"
    assert vi.can_appeal and vi.appeal_until == DECIDED + WINDOW and not vi.automated
    assert vi.review is None and vi.review_label is None


def test_a_report_without_a_decision_shows_none_and_the_new_statuses_have_their_words() -> None:
    document = report()
    del document["case"]["decision"]
    assert status_view(document, "vi", now=DECIDED).decision is None
    assert REPORTER_STATUS[CaseStatus.WAITING_ON_PLATFORM] == "waiting_on_platform"
    assert REPORTER_STATUS[CaseStatus.APPEALED] == "appealed"
    waiting = status_view(report(status="waiting_on_platform"), "vi")
    assert waiting.status_label == "Đang chờ nền tảng xử lý"
    assert status_view(report(status="appealed"), "vi").status_label == "Đang xem xét lại"


def test_a_review_decision_says_how_the_review_ended_and_cannot_be_appealed() -> None:
    document = report(decision={"review": AppealResult.REVERSED, "appeal_until": None})
    view = decision_view(document, "en", DECIDED)
    assert view is not None
    assert view.review_label == "The review reversed the earlier decision"
    assert not view.can_appeal
    assert appeal_refusal(document, DECIDED) is AppealRefusal.NOT_APPEALABLE


def test_an_appeal_is_allowed_once_within_the_window_of_a_decided_report() -> None:
    inside, after = DECIDED + WINDOW - timedelta(seconds=1), DECIDED + WINDOW
    assert appeal_refusal(report(), inside) is None
    assert appeal_refusal(report(), after) is AppealRefusal.WINDOW_CLOSED
    assert AppealRefusal.WINDOW_CLOSED.http_status == 410
    appealed = report(appeal={"at": inside, "decided_at": DECIDED})
    assert appeal_refusal(appealed, inside) is AppealRefusal.ALREADY_APPEALED
    assert appeal_refusal(report(status="appealed"), inside) is AppealRefusal.NOT_APPEALABLE
    undecided = report()
    undecided["case"]["decision"] = None
    assert appeal_refusal(undecided, inside) is AppealRefusal.NO_DECISION
    assert AppealRefusal.NO_DECISION.http_status == 409


def test_the_appeal_is_stored_with_its_event_in_one_conditional_write() -> None:
    now = DECIDED + timedelta(days=3)
    plan = plan_appeal(report(), "Trang giả mạo vẫn còn hoạt động.", now)
    assert plan.filter == {
        "_id": "report-1",
        "appeal": None,
        "case.decision.decided_at": DECIDED,
    }
    assert plan.update["$set"]["status"] == "appealed"
    assert plan.update["$set"]["appeal"]["decided_at"] == DECIDED
    assert plan.update["$push"]["history"] == {"status": "appealed", "at": now}
    (entry,) = plan.update["$push"]["outbox"]["$each"]
    assert entry["routing_key"] == "report.appealed"
    assert plan.event.case_id == "case-1" and plan.event.decided_at == DECIDED


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_an_appeal_reason_is_1_to_2000_characters_after_trimming(reason: str) -> None:
    with pytest.raises(ValidationError):
        AppealIn.model_validate({"reason": reason})


def test_an_appeal_reason_is_trimmed_and_nothing_else_is_accepted() -> None:
    assert AppealIn.model_validate({"reason": "  sai  "}).reason == "sai"
    assert len(AppealIn.model_validate({"reason": "x" * 2000}).reason) == 2000
    with pytest.raises(ValidationError):
        AppealIn.model_validate({"reason": "sai", "extra": 1})


def test_the_decision_is_kept_when_a_later_event_of_the_case_carries_none() -> None:
    first = case_state(closed(3, decision()), None)
    assert first["decision"]["decided_at"] == DECIDED
    later = case_state(closed(4, None), {**first, "_id": "case-1"})
    assert later["decision"] == first["decision"]


def test_the_mail_states_the_decision_its_basis_and_the_appeal_in_the_reporters_language() -> None:
    stored = decision().model_dump(mode="python")
    vi = decision_mail("K7QX-3MPA-WZ9D", stored, "vi", "https://x.vn/status/K7QX-3MPA-WZ9D")
    assert vi.subject == "Kết quả xử lý phản ánh K7QX-3MPA-WZ9D"
    assert "Quyết định: Nền tảng đã gỡ bỏ nội dung" in vi.body
    assert "Nghị định 147/2024/NĐ-CP, Điều 8 (nd147_art8)" in vi.body
    assert "Trang giả mạo đã bị Facebook gỡ" in vi.body
    assert "không được đưa ra bằng phương tiện tự động" in vi.body
    assert "16/11/2026" in vi.body  # the appeal window's end, in Vietnam time
    assert "https://x.vn/status/K7QX-3MPA-WZ9D" in vi.body
    review = decision(review=AppealResult.UPHELD, appeal_until=None).model_dump(mode="python")
    en = decision_mail("K7QX-3MPA-WZ9D", review, "en", "https://x.vn/s")
    assert en.subject.startswith("Result of the review of your appeal")
    assert "The review upheld the earlier decision" in en.body
    assert "This decision cannot be appealed." in en.body


def test_mails_go_once_per_decision_to_the_reports_that_show_it_and_left_an_e_mail() -> None:
    event = closed(3, decision())
    shown = report()
    other_decision = report(_id="report-2", decision={"decided_at": DECIDED - WINDOW})
    no_email = report(_id="report-3")
    no_email["report"] = {"language": "vi", **sealed("report-3", None, "+84912345678")}
    anonymous = report(_id="report-4")
    anonymous["report"] = {"language": "en", "contact_sealed": None}
    moved = report(_id="report-5")
    moved["report"] = sealed("report-1", "a@b.vn")  # another report's contact does not open
    reports = [shown, other_decision, no_email, anonymous, moved]
    mails = planned_mails(event, reports, DECIDED, TEST_KEY_RING)
    assert [m["_id"] for m in mails] == [mail_id("report-1", DECIDED)]
    assert mails[0]["kind"] == "decision" and mails[0]["language"] == "vi"
    assert "a@b.vn" not in str(mails)  # the address is read when sending, never copied
    assert planned_mails(closed(4, None), [shown], DECIDED, TEST_KEY_RING) == []


def test_a_failed_mail_is_retried_after_doubling_waits_up_to_six_hours() -> None:
    assert [retry_delay(n, 60).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    assert retry_delay(20, 60) == timedelta(hours=6)


def test_a_decision_time_read_back_in_milliseconds_is_the_same_mail() -> None:
    precise = DECIDED.replace(microsecond=123456)
    stored = report(decision={"decided_at": precise.replace(microsecond=123000)})
    (mail,) = planned_mails(
        closed(3, decision(decided_at=precise)), [stored], DECIDED, TEST_KEY_RING
    )
    assert mail["_id"] == mail_id("report-1", precise.replace(microsecond=123000))
    assert mail["_id"] == "report-1:2026-11-02T09:30:00.123+00:00"
