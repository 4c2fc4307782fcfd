"""Planning the reporter-visible status from case events: newer wins, reassignment ties go to
the new agency, an unchanged status adds no history line, a report follows its latest link."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import UpdateMany, UpdateOne

from services.common.contracts import (
    CaseAssigned,
    CaseStatus,
    CaseUpdated,
    Category,
    Priority,
    new_event_id,
)
from services.intake.status import (
    LINK_PART,
    LINK_PLACE,
    case_state,
    is_newer,
    is_state_of,
    linked_reports,
    plan_fan_out,
    plan_first_links,
    plan_link,
    seen_differently,
    should_link,
)

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def case_fields(
    version: int, status: CaseStatus, agency: str = "police", case_id: str = "case-1"
) -> dict[str, Any]:
    return {
        "event_id": new_event_id(),
        "occurred_at": AT,
        "case_id": case_id,
        "report_id": "report-1",
        "tracking_code": "K7QX-3MPA-WZ9D",
        "agency": agency,
        "category": Category.SCAM_FRAUD,
        "priority": Priority.NORMAL,
        "status": status,
        "version": version,
        "due_at": None,
    }


def assigned(version: int = 1, agency: str = "police", case_id: str = "case-1") -> CaseAssigned:
    return CaseAssigned(
        **case_fields(version, CaseStatus.ASSIGNED, agency, case_id),
        policy_version="1",
        rule_id="r",
    )


def updated(
    version: int, status: CaseStatus, action: str = "acknowledge", **extra: Any
) -> CaseUpdated:
    return CaseUpdated(
        **case_fields(version, status),
        action=action,
        from_status=CaseStatus.ASSIGNED,
        actor="police",
        **extra,
    )


def known(version: int, event_type: str) -> dict[str, Any]:
    return {"case_id": "case-1", "version": version, "event_type": event_type}


def test_a_newer_event_wins_and_an_older_or_repeated_one_does_not() -> None:
    assert is_newer(None, assigned())
    assert is_newer(known(2, "case.updated"), updated(3, CaseStatus.IN_PROGRESS))
    assert not is_newer(known(3, "case.updated"), updated(2, CaseStatus.IN_PROGRESS))
    assert not is_newer(known(3, "case.updated"), updated(3, CaseStatus.ACKNOWLEDGED))


def test_a_reassignment_at_the_same_version_goes_to_the_new_agency() -> None:
    assert is_newer(known(4, "case.updated"), assigned(version=4, agency="culture_office"))
    assert not is_newer(known(4, "case.assigned"), assigned(version=4))


def test_a_closed_cases_outcome_is_kept_when_a_later_note_carries_none() -> None:
    closed = case_state(updated(3, CaseStatus.RESOLVED, "resolve", outcome="removed"), None)
    note = case_state(updated(4, CaseStatus.RESOLVED, "note"), closed)
    assert closed["outcome"] == note["outcome"] == "removed"


def test_an_event_links_the_cases_first_report_and_the_reports_it_names() -> None:
    assert linked_reports(assigned()) == ["report-1"]
    joined = updated(2, CaseStatus.ASSIGNED, "report_joined", report_ids=["report-9"])
    assert linked_reports(joined) == ["report-1", "report-9"]
    assert linked_reports(updated(3, CaseStatus.ACKNOWLEDGED)) == ["report-1"]


def test_the_close_of_a_merged_case_links_nothing_and_is_not_fanned_out() -> None:
    merged = updated(4, CaseStatus.RESOLVED, "merged", outcome="merged", merged_into="case-2")
    assert linked_reports(merged) == []


def test_a_report_follows_its_latest_link_only() -> None:
    fresh = {"_id": "r", "status": "received"}
    assert should_link(fresh, "case-1", AT)
    here = {"_id": "r", "case": {"case_id": "case-1", "version": 2, "linked_at": AT}}
    assert not should_link(here, "case-1", AT + timedelta(hours=1))  # the fan-out does it
    assert should_link(here, "case-2", AT + timedelta(hours=1))  # split off later: moves
    assert not should_link(here, "case-2", AT - timedelta(hours=1))  # an older link: stays


def test_linking_sets_the_cases_state_and_adds_history_only_for_a_new_status() -> None:
    state = case_state(updated(3, CaseStatus.ACKNOWLEDGED), None)
    update = plan_link({"_id": "r", "status": "received"}, state, AT)
    assert update["$set"]["status"] == "acknowledged"
    assert update["$set"]["case"]["case_id"] == "case-1"
    assert update["$set"]["case"]["linked_at"] == AT
    assert update["$push"]["history"] == {"status": "acknowledged", "at": AT}
    same = plan_link({"_id": "r", "status": "acknowledged"}, state, AT)
    assert "$push" not in same


def test_fan_out_touches_only_older_reports_of_the_case_and_keeps_their_link() -> None:
    state = case_state(updated(5, CaseStatus.IN_PROGRESS, "start"), None)
    with_history, without = plan_fan_out(state)
    assert with_history._filter["case.case_id"] == "case-1"
    assert with_history._filter["case.version"] == {"$lt": 5}
    assert with_history._filter["status"] == {"$ne": "in_progress"}
    assert without._filter["status"] == "in_progress"
    assert "$push" not in without._doc
    update = with_history._doc
    assert isinstance(update, Mapping)  # an update document, not a pipeline
    assert "case.linked_at" not in update["$set"]
    assert update["$set"]["case.version"] == 5


def test_a_reassignment_also_brings_reports_at_its_version_to_the_new_agency() -> None:
    writes = plan_fan_out(case_state(assigned(version=4, agency="culture_office"), None))
    assert len(writes) == 4
    tie = writes[2]._filter
    assert tie["case.version"] == 4 and tie["case.event_type"] == {"$ne": "case.assigned"}


def test_a_reporter_sees_a_new_status_agency_or_outcome_but_not_a_join() -> None:
    state = case_state(assigned(), None)
    joined = case_state(updated(2, CaseStatus.ASSIGNED, "report_joined"), state)
    assert not seen_differently(state, joined)
    assert seen_differently(joined, case_state(updated(3, CaseStatus.ACKNOWLEDGED), joined))
    moved = case_state(assigned(version=3, agency="culture_office"), joined)
    assert seen_differently(joined, moved)
    closed = case_state(updated(3, CaseStatus.RESOLVED, "resolve", outcome="removed"), joined)
    noted = case_state(updated(4, CaseStatus.RESOLVED, "note"), closed)
    assert noted["outcome"] == "removed" and not seen_differently(closed, noted)


def test_an_event_whose_state_is_stored_already_is_told_apart() -> None:
    event = updated(3, CaseStatus.ACKNOWLEDGED)
    assert is_state_of(case_state(event, None), event)
    assert not is_state_of(known(3, "case.assigned"), event)
    assert not is_state_of(known(4, "case.updated"), event)


def _first_links(count: int) -> list[tuple[str, dict[str, Any]]]:
    state = case_state(assigned(version=1), None)
    return [(f"report-{n}", plan_link({"status": "received"}, state, AT)) for n in range(count)]


def test_one_report_with_no_case_is_linked_by_its_own_conditional_update() -> None:
    (write,) = plan_first_links(_first_links(1))
    assert isinstance(write, UpdateOne)
    assert write._filter == {"_id": "report-0", "case.version": {"$exists": False}}
    assert write._doc == _first_links(1)[0][1]


def test_reports_with_no_case_are_linked_a_statement_per_part_each_by_its_place() -> None:
    links = _first_links(LINK_PART + 2)
    first, second = plan_first_links(links)
    assert isinstance(first, UpdateMany) and isinstance(second, UpdateMany)
    named = [rid for rid, _ in links]
    assert first._filter == {"_id": {"$in": named[:LINK_PART]}, "case.version": {"$exists": False}}
    assert second._filter["_id"] == {"$in": named[LINK_PART:]}
    pipeline = second._doc
    assert isinstance(pipeline, list)
    place, values, cleanup = pipeline
    assert place == {
        "$set": {LINK_PLACE: {"$indexOfArray": [{"$literal": named[LINK_PART:]}, "$_id"]}}
    }
    cases = values["$set"]["case"]["$arrayElemAt"][0]["$literal"]
    assert cases == [update["$set"]["case"] for _, update in links[LINK_PART:]]
    assert cleanup == {"$unset": LINK_PLACE}
    assert len(plan_first_links(_first_links(LINK_PART + 1))) == 2  # the last one alone
