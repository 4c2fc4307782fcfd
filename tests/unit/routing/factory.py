"""Cases built in memory for the routing unit tests: the default policy, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.common.contracts import Category, Contact, Platform, ReporterKind, ReportSubmitted
from services.routing.case import Case
from services.routing.planning import plan_new_case
from services.routing.policy import Policy, load_policy
from tests.helpers import REPORTER_CONTACT, TEST_KEY_RING

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY: Policy = load_policy()


def report(category: Category = Category.SCAM_FRAUD, **fields: Any) -> ReportSubmitted:
    """A `report.submitted` event as intake publishes it."""
    values: dict[str, Any] = {
        "event_id": "event-1",
        "occurred_at": NOW - timedelta(seconds=1),
        "report_id": "report-1",
        "tracking_code": "TC0001-AAAA-BBBB",
        "category": category,
        "content_urls": ["https://facebook.com/page/1"],
        "platform": Platform.FACEBOOK,
        "description": "Trang giả mạo đòi chuyển tiền.",
        "province": "Đà Nẵng",
        "reporter_kind": ReporterKind.CITIZEN,
        "anonymous": False,
        "contact_sealed": TEST_KEY_RING.seal_contact(Contact(**REPORTER_CONTACT), "report-1"),
    }
    return ReportSubmitted(**{**values, **fields})


def new_case(category: Category = Category.SCAM_FRAUD, **changes: Any) -> Case:
    """A case as routing creates it at NOW (ten hours ago with `created_at` changed, etc.)."""
    case, _ = plan_new_case(report(category), POLICY, NOW, case_id="case-1")
    return case.model_copy(update=changes)
