"""Informed agencies: every case event copied to each of them, read-only, in the same write."""

from __future__ import annotations

import json

import pytest

from services.common.contracts import (
    EVENT_ADAPTER,
    AnyEvent,
    CaseShared,
    CaseStatus,
    Category,
    ReporterKind,
)
from services.routing.cases import case_outbox_fields, case_outbox_update
from services.routing.planning import assigned_event, case_updated, plan_new_case
from services.routing.sharing import only_informed, sees_contact, shared_copies, with_shares
from tests.unit.routing.factory import NOW, POLICY, new_case, report

pytestmark = pytest.mark.unit


def test_an_officials_hijacked_account_case_informs_the_party_committee() -> None:
    case, [event] = plan_new_case(
        report(Category.HIJACKED_ACCOUNT, reporter_kind=ReporterKind.OFFICIAL), POLICY, NOW
    )
    assert case.agency == "police" and case.informed == ["party_committee"]
    assert case.readers == ["police", "party_committee"]
    assert case.to_document()["readers"] == ["police", "party_committee"]
    [copy] = shared_copies(event)
    assert isinstance(copy, CaseShared)
    assert copy.routing_key() == "case.shared.party_committee"
    assert (copy.shared_with, copy.action, copy.agency) == ("party_committee", "assign", "police")
    assert (copy.case_id, copy.version, copy.status) == (case.case_id, 1, CaseStatus.ASSIGNED)
    assert copy.event_id != event.event_id
    assert shared_copies(event)[0].event_id == copy.event_id  # the same event, the same copy


def test_a_citizens_report_informs_nobody() -> None:
    case, [event] = plan_new_case(report(Category.HIJACKED_ACCOUNT), POLICY, NOW)
    assert case.informed == [] and shared_copies(event) == []
    assert with_shares([event]) == [event]


def test_every_update_is_copied_with_its_action_and_no_note() -> None:
    case = new_case(Category.IMPERSONATION, informed=["party_committee", "culture_office"])
    update = case_updated(case, "takedown_sent", "police", NOW, note="nội bộ")
    copies = shared_copies(update)
    assert [c.shared_with for c in copies] == ["party_committee", "culture_office"]
    assert {c.action for c in copies} == {"takedown_sent"}
    assert all("nội bộ" not in c.model_dump_json() for c in copies)
    assert with_shares([update]) == [update, *copies]


def test_the_owning_agency_gets_no_copy_of_its_own_case() -> None:
    case = new_case(Category.IMPERSONATION, agency="party_committee", informed=["party_committee"])
    assert shared_copies(assigned_event(case, NOW)) == []
    assert case.readers == ["party_committee"]


def test_the_case_outbox_carries_the_copies_with_the_change() -> None:
    case = new_case(Category.HIJACKED_ACCOUNT, informed=["party_committee"])
    events: list[AnyEvent] = [assigned_event(case, NOW)]
    for entries in (
        case_outbox_fields(events, NOW)["outbox"],
        case_outbox_update(events, NOW)["$push"]["outbox"]["$each"],
    ):
        keys = [entry["routing_key"] for entry in entries]
        assert keys == ["case.assigned.police", "case.shared.party_committee"]
        shared = EVENT_ADAPTER.validate_python(json.loads(entries[1]["body"]))
        assert isinstance(shared, CaseShared) and shared.shared_with == "party_committee"


def test_an_informed_agency_reads_without_the_contact_unless_the_rule_says_so() -> None:
    case = new_case(Category.HIJACKED_ACCOUNT, informed=["party_committee"])
    assert only_informed(case, "party_committee") and not only_informed(case, "police")
    assert not only_informed(case, "culture_office") and not only_informed(case, "supervisor")
    assert sees_contact(case, "police") and not sees_contact(case, "party_committee")
    assert sees_contact(case.model_copy(update={"inform_contact": True}), "party_committee")
    assert not sees_contact(case, "supervisor")
