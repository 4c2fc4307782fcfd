"""Grouping planned as pure functions: reports of one content join its open case, reporters are
counted once each, thresholds raise the priority, and a supervisor splits and merges."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest

from services.common.contracts import (
    CaseAssigned,
    CaseStatus,
    CaseUpdated,
    Category,
    Priority,
    ReporterKind,
)
from services.routing.case import Case
from services.routing.grouping import (
    CLOSED_TO_REPORTS,
    REPORTS_BUDGET,
    InvalidRegrouping,
    RegroupConflict,
    plan_close_to_reports,
    plan_join,
    plan_merge,
    plan_split,
    stored_size,
    successor_id,
)
from services.routing.planning import plan_case_of, report_entry
from services.routing.policy import parse_policy
from services.routing.router import Arrival, plan_round
from tests.unit.routing.factory import NOW, POLICY, report

pytestmark = pytest.mark.unit

KEY = "facebook:page:scam.page"


def entry(n: int, reporter: str | None = None, **fields: Any) -> Any:
    return report_entry(
        report(
            report_id=f"report-{n}",
            tracking_code=f"TC{n:04d}-AAAA-BBBB",
            reporter_id=reporter,
            **fields,
        )
    )


def opened(n: int = 1, reporter: str | None = "person-1", **fields: Any) -> Case:
    case, _ = plan_case_of(entry(n, reporter, **fields), KEY, POLICY, NOW, case_id=f"case-{n}")
    return case


def test_a_report_of_an_open_cases_content_joins_it_and_is_announced() -> None:
    case = opened()
    plan = plan_join(case, [entry(2, "person-2")], POLICY, NOW)
    assert plan is not None
    assert [r.report_id for r in plan.case.reports] == ["report-1", "report-2"]
    assert plan.case.reporters == 2 and plan.case.version == 2
    (event,) = plan.events
    assert isinstance(event, CaseUpdated) and event.action == "report_joined"
    assert event.report_ids == ["report-2"] and event.reporters == 2
    assert event.content_key == KEY and event.status is case.status
    assert plan.changes == {
        "version": 2,
        "reporters": 2,
        "priority": case.priority,
        "reports_bytes": stored_size(plan.entries[0]) + len(b"person-2"),
        "updated_at": NOW,
    }


def test_the_same_reporter_counts_once_and_a_report_without_reporter_id_counts_alone() -> None:
    plan = plan_join(opened(), [entry(2, "person-1"), entry(3), entry(4)], POLICY, NOW)
    assert plan is not None
    assert plan.case.reporters == 3  # person-1, report-3, report-4
    assert plan.new_reporter_keys == ["report:report-3", "report:report-4"]
    assert [e.version for e in plan.events if isinstance(e, CaseUpdated)] == [2, 3, 4]


def test_a_report_already_in_the_case_changes_nothing() -> None:
    case = opened()
    assert plan_join(case, [entry(1, "person-1")], POLICY, NOW) is None


def test_ten_distinct_reporters_raise_the_priority_once_audited_and_announced() -> None:
    case = opened(category=Category.FALSE_INFORMATION)  # normal priority by its rule
    assert case.priority is Priority.NORMAL
    plan = plan_join(case, [entry(n, f"person-{n}") for n in range(2, 13)], POLICY, NOW)
    assert plan is not None and plan.case.priority is Priority.HIGH
    raises = [e for e in plan.events if isinstance(e, CaseUpdated) and e.action != "report_joined"]
    assert len(raises) == 1 and raises[0].action == "priority_raised"
    assert raises[0].reporters == 10 and raises[0].priority is Priority.HIGH
    assert [a.action for a in plan.audit] == ["priority_raised"]
    assert "normal -> high" in (plan.audit[0].note or "")


def test_an_official_reporter_raises_the_priority_even_on_the_first_report() -> None:
    case = opened(category=Category.FALSE_INFORMATION, reporter_kind=ReporterKind.OFFICIAL)
    assert case.priority is Priority.HIGH
    assert [a.action for a in case.audit] == ["assign", "priority_raised"]


def test_a_threshold_never_lowers_a_priority() -> None:
    case = opened()  # scam_fraud: high by its rule
    strict = parse_policy(
        POLICY_TEXT + '[[priority_thresholds]]\nreporters = 2\npriority = "low"\n', "test"
    )
    plan = plan_join(case, [entry(2, "person-2")], strict, NOW)
    assert plan is not None and plan.case.priority is Priority.HIGH


def test_a_threshold_needs_either_a_reporter_count_or_any_official() -> None:
    with pytest.raises(ValueError, match="reporters = N or any_official"):
        parse_policy(POLICY_TEXT + '[[priority_thresholds]]\npriority = "high"\n', "test")


def test_a_split_takes_the_report_into_a_new_case_routed_from_that_report() -> None:
    case = plan_join(
        opened(),
        [entry(2, "person-2", category=Category.FALSE_INFORMATION), entry(3, "person-3")],
        POLICY,
        NOW,
    )
    assert case is not None
    plan = plan_split(
        case.case,
        "report-2",
        actor="supervisor",
        reason="another post",
        policy=POLICY,
        now=NOW,
        new_case_id="new-1",
    )
    after = plan.source.case
    assert [r.report_id for r in after.reports] == ["report-1", "report-3"]
    assert after.reporters == 2 and after.version == case.case.version + 1
    assert plan.source.changes["reporters"] == 2 and "reports" in plan.source.changes
    (event,) = plan.source.events
    assert isinstance(event, CaseUpdated) and event.action == "report_split"
    assert plan.source.audit[0].actor == "supervisor" and "another post" in (
        plan.source.audit[0].note or ""
    )
    new = plan.new_case
    assert new.case_id == "new-1" and new.report_id == "report-2"
    assert new.agency == "culture_office" and new.reporters == 1
    assert new.open_key != after.open_key  # later reports of the content join the old case
    (assigned,) = plan.new_events
    assert isinstance(assigned, CaseAssigned) and assigned.report_id == "report-2"
    assert assigned.reason == "another post"


@pytest.mark.parametrize(
    ("report_id", "message"), [("report-1", "opened the case"), ("nope", "holds no report")]
)
def test_a_split_of_the_first_or_an_unknown_report_is_refused_naming_report_id(
    report_id: str, message: str
) -> None:
    with pytest.raises(InvalidRegrouping, match=message) as refused:
        plan_split(
            opened(),
            report_id,
            actor="supervisor",
            reason="r",
            policy=POLICY,
            now=NOW,
            new_case_id="x",
        )
    assert refused.value.field == "report_id"


def test_a_merge_moves_the_reports_and_closes_the_source_as_merged() -> None:
    source = opened(1, "person-1")
    target_plan = plan_join(opened(5, "person-5"), [entry(6, "person-1")], POLICY, NOW)
    assert target_plan is not None
    plan = plan_merge(
        source, target_plan.case, actor="supervisor", reason="same scam", policy=POLICY, now=NOW
    )
    target = plan.target.case
    assert [r.report_id for r in target.reports] == ["report-5", "report-6", "report-1"]
    assert target.reporters == 2  # person-1 reported to both
    assert target.merged_from == ["case-1"]
    (moved,) = plan.target.events
    assert isinstance(moved, CaseUpdated) and moved.report_ids == ["report-1"]
    closed = plan.source.case
    assert closed.status is CaseStatus.RESOLVED and closed.outcome == "merged"
    assert closed.merged_into == target.case_id and closed.due_at is None
    assert closed.open_key == f"{KEY}#closed#case-1"
    (close,) = plan.source.events
    assert isinstance(close, CaseUpdated) and close.merged_into == target.case_id
    assert close.outcome == "merged" and close.from_status is CaseStatus.ASSIGNED


def test_a_merge_counts_the_moved_reports_and_is_refused_past_the_targets_budget() -> None:
    source = opened(1, "person-1")
    target = opened(5, "person-5")
    plan = plan_merge(source, target, actor="supervisor", reason="r", policy=POLICY, now=NOW)
    moved = stored_size(source.reports[0]) + len(b"person-1")
    assert plan.target.case.reports_bytes == moved
    assert plan.target.changes["reports_bytes"] == moved

    nearly_full = target.model_copy(update={"reports_bytes": REPORTS_BUDGET - moved + 1})
    with pytest.raises(InvalidRegrouping) as refused:
        plan_merge(source, nearly_full, actor="supervisor", reason="r", policy=POLICY, now=NOW)
    assert refused.value.field == "into" and "at most 8 MB" in str(refused.value)


def test_a_merge_into_itself_or_with_a_closed_case_is_refused() -> None:
    case = opened()
    with pytest.raises(InvalidRegrouping) as refused:
        plan_merge(case, case, actor="supervisor", reason="r", policy=POLICY, now=NOW)
    assert refused.value.field == "into"
    closed = case.model_copy(update={"status": CaseStatus.REJECTED})
    with pytest.raises(RegroupConflict):
        plan_merge(closed, opened(2), actor="supervisor", reason="r", policy=POLICY, now=NOW)


def arrival(n: int, key: str = KEY, reporter: str | None = None) -> Arrival:
    event = report(report_id=f"report-{n}", tracking_code=f"TC{n:04d}-AAAA-BBBB")
    event = event.model_copy(update={"reporter_id": reporter or f"person-{n}"})
    return Arrival(event, report_entry(event), key)


def test_a_batch_opens_one_case_per_new_content_and_joins_the_rest_in_it() -> None:
    ids = (f"new-{n}" for n in count())
    batch = [arrival(1), arrival(2), arrival(3, "youtube:video:abc"), arrival(4)]
    plan = plan_round(batch, {}, set(), POLICY, NOW, lambda: next(ids))
    assert not plan.joins and not plan.held
    by_key = {case.content_key: case for case, _, _ in plan.new_cases}
    assert by_key[KEY].reporters == 3 and by_key[KEY].version == 3
    assert by_key["youtube:video:abc"].reporters == 1
    events = next(events for case, events, _ in plan.new_cases if case.content_key == KEY)
    assert [e.type for e in events] == ["case.assigned", "case.updated", "case.updated"]


def test_a_batch_joins_open_cases_and_skips_reports_a_case_holds() -> None:
    case = opened()
    batch = [arrival(1), arrival(2), arrival(3)]
    plan = plan_round(batch, {KEY: case}, {"report-1"}, POLICY, NOW, lambda: "unused")
    assert [a.event.report_id for a in plan.held] == ["report-1"]
    ((join, _), *_) = plan.joins
    assert [e.report_id for e in join.entries] == ["report-2", "report-3"]
    assert not plan.new_cases


def test_joins_count_the_bytes_of_the_reports_and_a_case_past_its_budget_takes_none() -> None:
    case = opened()
    plan = plan_round([arrival(2), arrival(3)], {KEY: case}, set(), POLICY, NOW, lambda: "new")
    ((join, _),) = plan.joins
    sizes = [stored_size(e) for e in join.entries]
    assert join.case.reports_bytes == sum(sizes) + len(b"person-2") + len(b"person-3")
    assert join.changes["reports_bytes"] == join.case.reports_bytes

    budget = join.case.reports_bytes - 1
    plan = plan_round(
        [arrival(2), arrival(3)], {KEY: case}, set(), POLICY, NOW, lambda: "new", budget
    )
    assert not plan.joins
    assert [(full.case_id, [a.event.report_id for a in group]) for full, group in plan.full] == [
        (case.case_id, ["report-2", "report-3"])
    ]
    ((new, _, _),) = plan.new_cases
    assert [r.report_id for r in new.reports] == ["report-2", "report-3"]
    assert new.continues == case.case_id
    assert new.case_id == successor_id(case.case_id) != successor_id("another-case")
    assert new.reports_bytes == sum(sizes) + len(b"person-3")  # person-2's key is the first


def test_a_case_opened_after_one_refused_as_full_names_it() -> None:
    closed = {KEY: "case-full"}
    plan = plan_round([arrival(2)], {}, set(), POLICY, NOW, lambda: "new", closed=closed)
    ((new, _, _),) = plan.new_cases
    assert new.continues == "case-full" and new.case_id == successor_id("case-full")
    other = plan_round([arrival(3, "youtube:video:abc")], {}, set(), POLICY, NOW, lambda: "n")
    assert other.new_cases[0][0].continues is None and other.new_cases[0][0].case_id == "n"


def test_reports_of_a_full_case_join_another_routers_case_and_the_two_are_linked() -> None:
    closed = {KEY: "case-full"}
    elsewhere = opened()  # opened under an id of its own, by a router that knew of no full case
    plan = plan_round(
        [arrival(2)], {KEY: elsewhere}, set(), POLICY, NOW, lambda: "new", closed=closed
    )
    assert plan.continued_elsewhere == [("case-full", elsewhere.case_id)]
    ((join, _),) = plan.joins
    assert join.before.case_id == elsewhere.case_id and not plan.new_cases

    successor = elsewhere.model_copy(update={"continues": "case-full"})  # the one named
    plan = plan_round(
        [arrival(2)], {KEY: successor}, set(), POLICY, NOW, lambda: "new", closed=closed
    )
    assert not plan.continued_elsewhere and plan.joins
    plan = plan_round([arrival(2)], {KEY: elsewhere}, set(), POLICY, NOW, lambda: "new")
    assert not plan.continued_elsewhere  # no case was found full


def test_a_case_closed_to_reports_names_its_successor_and_keeps_its_version() -> None:
    case = opened()
    changes, record = plan_close_to_reports(case, NOW)
    assert changes == {
        "joinable": False,
        "open_key": f"{case.content_key}#own#{case.case_id}",
        "continued_by": successor_id(case.case_id),
    }
    assert record.action == CLOSED_TO_REPORTS and "version" not in changes


def test_a_case_stored_before_grouping_loads_with_its_one_report() -> None:
    document = opened().to_document()
    for name in ("reports", "reporter_keys", "reporters", "content_key", "open_key"):
        document.pop(name)
    old = Case.from_document(document)
    assert [r.report_id for r in old.reports] == ["report-1"]
    assert old.reporters == 1 and old.content_key == "report:report-1"
    assert old.open_key == "report:report-1"


POLICY_TEXT = """
version = "t"
[[agencies]]
id = "police"
name_vi = "Công an"
name_en = "Police"
default_deadline = "24h"
[[rules]]
id = "scam"
category = "scam_fraud"
agency = "police"
priority = "high"
deadline = "24h"
"""
