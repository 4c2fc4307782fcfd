"""Erasing a reporter's contact (the write and its event, the refusals, what the status says)
and the per-content limit on submissions, without servers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.common.contracts import ErasureReason, ReportContactErased, parse_event
from services.intake.api import status_view
from services.intake.erasure import ErasureRefusal, erasure_refusal, plan_erasure
from services.intake.models import ContactErasureIn, ReportIn
from services.intake.repository import ReportRepository
from services.intake.security import RateLimiter
from services.intake.settings import IntakeSettings
from services.intake.submission import ContentFlooded, Submission, report_content_key

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 29, 5, 0, tzinfo=UTC)


def stored_report(**fields: Any) -> dict[str, Any]:
    """A report as intake stores it (by_tracking_code leaves the contact out)."""
    return {
        "_id": "r-1",
        "tracking_code": "K7QX-3MPA-WZ9D",
        "report": {"category": "scam_fraud", "language": "vi"},
        "status": "assigned",
        "history": [{"status": "received", "at": NOW}],
        "submitted_at": NOW,
        "updated_at": NOW,
        **fields,
    }


def test_the_erasure_unsets_the_contact_records_when_and_why_and_announces_it_in_one_write() -> (
    None
):
    plan = plan_erasure(stored_report(), ErasureReason.REPORTER_REQUEST, NOW)
    assert plan.filter == {
        "_id": "r-1",
        "contact_erased_at": None,
        # a clear contact (one that failed to seal) is erased too
        "$or": [{"report.contact_sealed": {"$ne": None}}, {"report.contact": {"$ne": None}}],
    }
    assert plan.update["$unset"] == {
        "report.contact_sealed": "",
        "report.contact": "",
        "request_hash": "",  # a hash of the body that held the contact
    }
    # quarantined outbox entries that may hold the sealed contact go in the same write
    assert plan.update["$pull"] == {
        "outbox_quarantine": {"entry.type": {"$nin": ["report.appealed", "report.contact_erased"]}}
    }
    assert plan.update["$set"] == {
        "contact_erased_at": NOW,
        "contact_erasure_reason": "reporter_request",
    }
    (entry,) = plan.update["$push"]["outbox"]["$each"]
    assert entry["routing_key"] == "report.contact_erased"
    event = parse_event(entry["body"])
    assert isinstance(event, ReportContactErased)
    assert (event.report_id, event.tracking_code, event.erased_at) == ("r-1", "K7QX-3MPA-WZ9D", NOW)
    assert event.reason is ErasureReason.REPORTER_REQUEST
    assert plan.update["$min"] == {"outbox_since": NOW}


def test_a_second_erasure_is_already_erased_and_a_report_without_contact_has_nothing() -> None:
    assert erasure_refusal(stored_report(), holds_contact=True) is None
    assert erasure_refusal(stored_report(), holds_contact=False) is ErasureRefusal.NOTHING_TO_ERASE
    erased = stored_report(contact_erased_at=NOW)
    assert erasure_refusal(erased, holds_contact=False) is ErasureRefusal.ALREADY_ERASED
    assert "đã được xóa" in ErasureRefusal.ALREADY_ERASED.message("vi")
    assert "no contact details" in ErasureRefusal.NOTHING_TO_ERASE.message("en")


def test_the_status_says_when_the_contact_was_erased_and_whether_it_can_be() -> None:
    holding = status_view(stored_report(), "vi", holds_contact=True)
    assert holding.can_erase_contact and holding.contact_erased_at is None
    assert not status_view(stored_report(), "vi").can_erase_contact
    asked = stored_report(contact_erased_at=NOW, contact_erasure_reason="reporter_request")
    view = status_view(asked, "en", holds_contact=False)
    assert view.contact_erased_at == NOW and view.contact_erasure_reason == "reporter_request"
    assert not view.can_erase_contact
    # Retention erased contacts before it recorded a reason.
    old = status_view(stored_report(contact_erased_at=NOW), "en")
    assert old.contact_erasure_reason == "retention"


@pytest.mark.parametrize("body", [{}, {"confirm": False}, {"confirm": "yes"}, {"confirm": 1}])
def test_an_erasure_request_must_confirm_with_true(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as refused:
        ContactErasureIn.model_validate(body)
    assert refused.value.errors()[0]["loc"] == ("confirm",)


def test_an_erasure_request_with_true_and_nothing_else_is_accepted() -> None:
    assert ContactErasureIn.model_validate({"confirm": True}).confirm is True
    with pytest.raises(ValidationError):
        ContactErasureIn.model_validate({"confirm": True, "contact": {}})


def report(url: str) -> ReportIn:
    return ReportIn.model_validate(
        {
            "category": "scam_fraud",
            "content_urls": [url, "https://zalo.me/other"],
            "platform": "facebook",
            "description": "Trang giả mạo ngân hàng đòi chuyển tiền.",
            "anonymous": True,
        },
        context={"now": NOW},
    )


def test_reports_of_one_content_share_a_key_whatever_the_spelling_of_its_first_link() -> None:
    keys = {
        report_content_key(report(url))
        for url in (
            "https://www.facebook.com/fake.bank.page",
            "facebook.com/fake.bank.page",
            "https://m.facebook.com/fake.bank.page?ref=share",
        )
    }
    assert len(keys) == 1 and None not in keys
    assert report_content_key(report("https://zalo.me/other")) not in keys


def test_the_per_content_budget_sheds_past_the_burst_and_refills_with_time() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=3, monotonic=lambda: now[0])
    submission = Submission(
        ReportRepository.__new__(ReportRepository),
        lambda: NOW,
        lambda: None,
        content_limit=limiter.check,
    )
    flooded, other = report("https://www.facebook.com/fake.bank.page"), report("https://x.vn/a")
    for _ in range(3):
        submission.admit(flooded, channel="api")
    with pytest.raises(ContentFlooded) as shed:
        submission.admit(flooded, channel="api")
    assert 0 < shed.value.wait <= 1.0
    submission.admit(other, channel="api")  # another content has its own budget
    now[0] += 1.0
    submission.admit(flooded, channel="api")


def test_the_per_content_limit_defaults_to_sixty_a_minute_sixty_at_once() -> None:
    settings = IntakeSettings()
    assert settings.reports_per_content_per_minute == 60
    assert settings.reports_per_content_burst == 60
