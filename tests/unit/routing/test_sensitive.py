"""`member_misconduct` cases are sensitive: seen only by the party committee and supervisors,
kept with the party committee, grouped apart, and counted below the category level only for
those who may see them."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count
from typing import Any

import pytest

from services.common.contracts import Category
from services.common.policyfile import PolicyError
from services.routing.actions import SensitiveReassignment, readable_by
from services.routing.case import Case
from services.routing.cases import CaseQuery, _criteria
from services.routing.dashboard import figures
from services.routing.grouping import InvalidRegrouping, plan_merge, plan_split
from services.routing.lifecycle import Action
from services.routing.planning import ActionRequest, plan_action, plan_case_of, report_entry
from services.routing.policy import parse_policy
from services.routing.router import Arrival, plan_round
from services.routing.sharing import shared_copies
from services.routing.transparency import Period, build_report
from services.routing.transparency_facts import ALL, CaseFacts
from services.routing.transparency_public import public_figures
from services.routing.visibility import (
    SENSITIVE_AGENCY,
    SUPERVISOR,
    hidden_categories,
    may_see,
)
from tests.unit.routing.factory import NOW, POLICY, new_case, report

pytestmark = pytest.mark.unit

MISCONDUCT = Category.MEMBER_MISCONDUCT
KEY = "facebook:page:1"  # the content key of the factory's report URL


def misconduct_case(**changes: Any) -> Case:
    return new_case(MISCONDUCT, **changes)


# Visibility


@pytest.mark.parametrize(
    ("principal", "sees"),
    [
        (SENSITIVE_AGENCY, True),
        (SUPERVISOR, True),
        ("police", False),
        ("culture_office", False),
    ],
)
def test_only_the_party_committee_and_supervisors_may_see_a_misconduct_case(
    principal: str, sees: bool
) -> None:
    assert may_see(principal, MISCONDUCT) is sees
    assert may_see(principal, Category.SCAM_FRAUD)


def test_an_agency_holding_or_informed_of_a_misconduct_case_still_cannot_read_it() -> None:
    case = misconduct_case()
    assert case.agency == SENSITIVE_AGENCY
    assert readable_by(case, SENSITIVE_AGENCY) and readable_by(case, SUPERVISOR)
    assert not readable_by(case, "police")
    held_elsewhere = misconduct_case(agency="police", informed=["culture_office"])
    assert not readable_by(held_elsewhere, "police")
    assert not readable_by(held_elsewhere, "culture_office")
    informed_of_other = new_case(Category.SCAM_FRAUD, informed=[SENSITIVE_AGENCY])
    assert readable_by(informed_of_other, SENSITIVE_AGENCY)


def test_lists_for_other_agencies_leave_misconduct_out_even_when_asked_for() -> None:
    assert hidden_categories(SENSITIVE_AGENCY) == hidden_categories(SUPERVISOR) == ()
    hidden = hidden_categories("police")
    assert _criteria(CaseQuery(reader="police", hidden_categories=hidden), NOW)[0]["category"] == {
        "$nin": ["member_misconduct"]
    }
    asked = CaseQuery(reader="police", category="member_misconduct", hidden_categories=hidden)
    assert _criteria(asked, NOW)[0]["category"] == {"$in": []}
    scams = CaseQuery(reader="police", category="scam_fraud", hidden_categories=hidden)
    assert _criteria(scams, NOW)[0]["category"] == {"$in": ["scam_fraud"]}
    assert "category" not in _criteria(CaseQuery(reader=SENSITIVE_AGENCY), NOW)[0]


# Policy


POLICY_HEAD = """
version = "t"
[[agencies]]
id = "police"
name_vi = "Công an"
name_en = "Police"
default_deadline = "24h"
[[agencies]]
id = "party_committee"
name_vi = "Ủy ban Kiểm tra"
name_en = "Party committee"
default_deadline = "72h"
"""


def test_a_policy_routing_misconduct_to_another_agency_is_refused_with_its_line() -> None:
    text = POLICY_HEAD + (
        '[[rules]]\nid = "misconduct"\ncategory = "member_misconduct"\n'
        'agency = "police"\ndeadline = "24h"\n'
    )
    with pytest.raises(PolicyError) as refused:
        parse_policy(text, "p.toml")
    message = str(refused.value)
    assert "rule 'misconduct' (line" in message
    assert "sensitive: member_misconduct reports go to party_committee only" in message


def test_a_policy_informing_another_agency_of_misconduct_is_refused() -> None:
    text = POLICY_HEAD + (
        '[[rules]]\nid = "misconduct"\ncategory = "member_misconduct"\n'
        'agency = "party_committee"\ndeadline = "72h"\ninform = ["police"]\n'
    )
    with pytest.raises(PolicyError) as refused:
        parse_policy(text, "p.toml")
    assert "sensitive: member_misconduct cases are not shared; inform names police" in str(
        refused.value
    )


def test_the_default_policy_keeps_misconduct_with_the_party_committee() -> None:
    assignment = POLICY.route(MISCONDUCT)
    assert assignment.agency == SENSITIVE_AGENCY and assignment.inform == ()


# Reassignment, split, merge, copies


def reassign(case: Case, agency: str) -> Any:
    request = ActionRequest(Action.REASSIGN, SUPERVISOR, note="why", target_agency=agency)
    return plan_action(case, request, POLICY, NOW)


def test_reassigning_a_misconduct_case_elsewhere_is_refused_naming_the_rule() -> None:
    with pytest.raises(SensitiveReassignment, match=r"^sensitive: "):
        reassign(misconduct_case(), "police")


def test_a_misconduct_triage_case_can_be_assigned_to_the_party_committee_only() -> None:
    triage = misconduct_case(agency="triage", informed=["police"])
    with pytest.raises(SensitiveReassignment):
        reassign(triage, "culture_office")
    plan = reassign(triage, SENSITIVE_AGENCY)
    assert plan.case.agency == SENSITIVE_AGENCY
    assert plan.case.informed == []  # never shared with an agency that may not see it


def test_a_case_of_another_category_can_go_to_the_party_committee() -> None:
    plan = reassign(new_case(Category.SCAM_FRAUD), SENSITIVE_AGENCY)
    assert plan.case.agency == SENSITIVE_AGENCY


def test_no_copy_of_a_misconduct_case_goes_to_another_agency() -> None:
    case = misconduct_case(informed=["police"])
    plan = plan_action(case, ActionRequest(Action.NOTE, SENSITIVE_AGENCY, note="n"), POLICY, NOW)
    assert shared_copies(plan.events[0]) == []
    shared = new_case(Category.SCAM_FRAUD, informed=[SENSITIVE_AGENCY])
    plan = plan_action(shared, ActionRequest(Action.NOTE, "police", note="n"), POLICY, NOW)
    assert [c.shared_with for c in shared_copies(plan.events[0])] == [SENSITIVE_AGENCY]


def test_a_misconduct_case_and_another_are_never_merged_either_way() -> None:
    sensitive = misconduct_case()
    other = new_case(Category.SCAM_FRAUD, case_id="case-2")
    for source, target in ((sensitive, other), (other, sensitive)):
        with pytest.raises(InvalidRegrouping, match=r"^sensitive: ") as refused:
            plan_merge(source, target, actor=SUPERVISOR, reason="r", policy=POLICY, now=NOW)
        assert refused.value.field == "into"


def test_a_misconduct_report_split_off_stays_with_the_party_committee() -> None:
    case = misconduct_case()
    second = report_entry(report(MISCONDUCT, report_id="report-2", tracking_code="TC2"))
    case = case.model_copy(update={"reports": [*case.reports, second]})
    plan = plan_split(
        case,
        "report-2",
        actor=SUPERVISOR,
        reason="r",
        policy=POLICY,
        now=NOW,
        new_case_id="case-9",
    )
    assert plan.new_case.agency == SENSITIVE_AGENCY
    assert plan.new_case.category is MISCONDUCT


# Grouping by content


def arrival(n: int, category: Category) -> Arrival:
    event = report(category, report_id=f"report-{n}", tracking_code=f"TC{n:04d}-AAAA-BBBB")
    return Arrival(event, report_entry(event), KEY)


def test_reports_of_one_content_group_apart_by_sensitivity() -> None:
    ids = (f"new-{n}" for n in count())
    batch = [
        arrival(1, Category.SCAM_FRAUD),
        arrival(2, MISCONDUCT),
        arrival(3, Category.SCAM_FRAUD),
        arrival(4, MISCONDUCT),
    ]
    plan = plan_round(batch, {}, set(), POLICY, NOW, lambda: next(ids))
    cases = {case.agency: case for case, _, _ in plan.new_cases}
    assert [r.report_id for r in cases["police"].reports] == ["report-1", "report-3"]
    assert [r.report_id for r in cases[SENSITIVE_AGENCY].reports] == ["report-2", "report-4"]
    assert {c.content_key for c in cases.values()} == {KEY}
    assert cases["police"].open_key == KEY
    assert cases[SENSITIVE_AGENCY].open_key == f"{KEY}#sensitive"


def test_a_misconduct_report_never_joins_an_open_case_of_another_agency_nor_the_reverse() -> None:
    scam, _ = plan_case_of(arrival(1, Category.SCAM_FRAUD).entry, KEY, POLICY, NOW, "case-a")
    sensitive, _ = plan_case_of(arrival(2, MISCONDUCT).entry, KEY, POLICY, NOW, "case-b")
    open_cases = {scam.open_key: scam}
    plan = plan_round([arrival(3, MISCONDUCT)], open_cases, set(), POLICY, NOW, lambda: "new")
    assert not plan.joins and [c.agency for c, _, _ in plan.new_cases] == [SENSITIVE_AGENCY]
    open_cases = {sensitive.open_key: sensitive}
    plan = plan_round(
        [arrival(4, Category.SCAM_FRAUD)], open_cases, set(), POLICY, NOW, lambda: "new"
    )
    assert not plan.joins and [c.agency for c, _, _ in plan.new_cases] == ["police"]
    both = {scam.open_key: scam, sensitive.open_key: sensitive}
    plan = plan_round(
        [arrival(5, MISCONDUCT), arrival(6, Category.SCAM_FRAUD)], both, set(), POLICY, NOW, str
    )
    joined = {join.case.case_id: [e.report_id for e in join.entries] for join, _ in plan.joins}
    assert joined == {"case-b": ["report-5"], "case-a": ["report-6"]}


# Statistics


NOVEMBER = Period(date(2026, 11, 1), date(2026, 12, 1))


def facts(category: Category, agency: str, province: str = "48") -> CaseFacts:
    return CaseFacts.model_validate(
        {
            "agency": agency,
            "category": category,
            "report": {"province_code": province},
            "reports": [{"report_id": f"r-{category}-{agency}", "reported_at": NOW}],
            "created_at": NOW,
        }
    )


CASES = [facts(MISCONDUCT, SENSITIVE_AGENCY), facts(Category.SCAM_FRAUD, "police")]


def test_without_sensitive_detail_misconduct_counts_at_the_category_level_only() -> None:
    report_ = build_report(CASES, NOVEMBER, NOW, sensitive_detail=False)
    assert report_.totals["cases"] == 2
    assert report_.rows[(ALL, ALL, MISCONDUCT.value)]["cases"] == 1
    below = [row for row in report_.rows if MISCONDUCT.value in row and row[:2] != (ALL, ALL)]
    assert below == []
    assert SENSITIVE_AGENCY not in dict(report_.breakdown("agency"))
    assert dict(report_.breakdown("province_code"))["48"]["cases"] == 1  # the scam case only


def test_with_sensitive_detail_misconduct_is_broken_down_like_any_category() -> None:
    report_ = build_report(CASES, NOVEMBER, NOW, sensitive_detail=True)
    assert report_.rows[(SENSITIVE_AGENCY, "48", MISCONDUCT.value)]["cases"] == 1
    assert dict(report_.breakdown("province_code"))["48"]["cases"] == 2


def test_the_public_figures_rest_on_the_category_level_only() -> None:
    cases = [*(facts(MISCONDUCT, SENSITIVE_AGENCY, p) for p in ("01", "48", "79")), *CASES]
    month = date(2026, 11, 1)
    restricted = public_figures(build_report(cases, NOVEMBER, NOW, sensitive_detail=False), month)
    full = public_figures(build_report(cases, NOVEMBER, NOW, sensitive_detail=True), month)
    assert restricted.as_json() == full.as_json()  # nothing below the category level is read
    assert restricted.tables["cases"].total == 5
    assert not any("province" in name or "agency" in name for name in restricted.tables)


def test_the_dashboard_counts_misconduct_by_agency_only_for_those_who_may_see_it() -> None:
    cases = [misconduct_case(), new_case(Category.SCAM_FRAUD, created_at=NOW - timedelta(1))]
    hidden = figures(cases)
    assert hidden.total == 2 and hidden.by_category[MISCONDUCT.value] == 1
    assert hidden.by_agency == {"police": 1}
    shown = figures(cases, sensitive_detail=True)
    assert shown.by_agency == {"police": 1, SENSITIVE_AGENCY: 1}
