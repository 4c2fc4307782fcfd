"""Routing's side of a contact erasure, pure: which cases hold the contact, the audit line,
a redelivered event recognised."""

from __future__ import annotations

import pytest

from services.common.contracts import Contact, ErasureReason, ReportContactErased
from services.routing.erasure import already_erased, erasure_record, holds_contact
from tests.helpers import TEST_KEY_RING
from tests.unit.routing.factory import NOW, new_case

pytestmark = pytest.mark.unit


def erased(reason: ErasureReason = ErasureReason.REPORTER_REQUEST) -> ReportContactErased:
    return ReportContactErased(
        event_id="erasure-1",
        occurred_at=NOW,
        report_id="report-1",
        tracking_code="TC0001-AAAA-BBBB",
        erased_at=NOW,
        reason=reason,
    )


def test_a_case_holds_the_contact_of_its_first_report_until_it_is_erased() -> None:
    case = new_case()
    assert holds_contact(case, "report-1")
    assert not holds_contact(case, "report-2")  # not one of its reports
    entries = [e.model_copy(update={"contact_sealed": None}) for e in case.reports]
    first = case.report.model_copy(update={"contact_sealed": None})
    gone = case.model_copy(update={"reports": entries, "report": first})
    assert not holds_contact(gone, "report-1")
    only_entry = case.model_copy(update={"report": first})
    assert holds_contact(only_entry, "report-1")
    named = TEST_KEY_RING.seal_contact(Contact(name="Trần Thị B"), "r-2")
    joined = case.model_copy(
        update={
            "reports": [
                *entries,
                entries[0].model_copy(update={"report_id": "r-2", "contact_sealed": named}),
            ]
        }
    )
    assert holds_contact(joined, "r-2")


@pytest.mark.parametrize(
    ("reason", "actor"),
    [(ErasureReason.REPORTER_REQUEST, "reporter"), (ErasureReason.RETENTION, "retention")],
)
def test_the_audit_line_names_who_asked_and_leaves_the_status(
    reason: ErasureReason, actor: str
) -> None:
    case = new_case()
    line = erasure_record(case, erased(reason), NOW)
    assert (line.actor, line.action, line.event_id) == (actor, "contact_erased", "erasure-1")
    assert line.from_status == line.to_status == case.status.value
    assert line.note is not None and line.note.startswith("TC0001-AAAA-BBBB:")
    assert "Trần" not in line.note


def test_a_redelivered_erasure_is_recognised_by_its_audit_line() -> None:
    case = new_case()
    event = erased()
    assert not already_erased(case, event)
    after = case.model_copy(update={"audit": [*case.audit, erasure_record(case, event, NOW)]})
    assert already_erased(after, event)
