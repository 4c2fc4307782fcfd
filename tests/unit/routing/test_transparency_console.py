"""The console's case page logic without a server: the two clocks (paused while waiting on a
platform), which forms an officer gets (none when only informed, no review of one's own
decision), the decision choices, and the charts the transparency page draws."""

from __future__ import annotations

import re
from datetime import timedelta

from services.common.contracts import CaseStatus, Category, DecisionOutcome
from services.routing.case import Decision
from services.routing.console_case import (
    clock_views,
    decision_choices,
    form_actions,
    review_withheld,
)
from services.routing.dashboard import stacked_chart
from tests.unit.routing.factory import NOW, POLICY, new_case


def test_both_clocks_run_on_an_open_case_and_the_internal_one_shows_when_late() -> None:
    case = new_case(due_at=NOW - timedelta(minutes=5), legal_due_at=NOW + timedelta(hours=40))
    internal, legal = clock_views(case, NOW)
    assert (internal.name, internal.css, internal.paused) == ("internal", "late", False)
    assert internal.left == timedelta(minutes=-5)
    assert (legal.name, legal.css, legal.left) == ("legal", "ok", timedelta(hours=40))


def test_the_internal_clock_is_paused_while_waiting_on_the_platform() -> None:
    case = new_case(
        status=CaseStatus.WAITING_ON_PLATFORM,
        due_at=None,
        internal_left_s=5400.0,
        legal_due_at=NOW + timedelta(hours=2),
    )
    internal, legal = clock_views(case, NOW)
    assert internal.paused and internal.paused_left == timedelta(minutes=90)
    assert internal.due_at is None
    assert legal.css == "soon"  # 2 h of a 48 h window: the last quarter


def test_a_closed_case_has_no_clock() -> None:
    assert clock_views(new_case(status=CaseStatus.RESOLVED), NOW) == []


def test_an_informed_agency_gets_no_form() -> None:
    case = new_case(Category.HIJACKED_ACCOUNT, informed=["party_committee"])
    assert form_actions(case, "party_committee") == []
    assert "acknowledge" in form_actions(case, case.agency)


def _decided_by(principal: str) -> Decision:
    return Decision(
        outcome=DecisionOutcome.REMOVED_BY_PLATFORM,
        legal_basis="nd147-2024-removal",
        explanation="Đã gỡ.",
        decided_at=NOW - timedelta(days=1),
        decided_by=principal,
        status=CaseStatus.RESOLVED,
    )


def test_the_review_form_goes_only_to_someone_other_than_the_decider() -> None:
    case = new_case(status=CaseStatus.APPEALED, decision=_decided_by("police"))
    assert "review" not in form_actions(case, "police")
    assert review_withheld(case, "police")
    assert "review" in form_actions(case, "supervisor")
    assert not review_withheld(case, "supervisor")


def test_decision_choices_split_outcomes_by_action_and_name_the_policy_bases() -> None:
    choices = decision_choices(POLICY, "vi")
    assert next(v for v, _ in choices.resolve) == "removed_by_platform"
    assert "no_violation" in dict(choices.reject) and "no_violation" not in dict(choices.resolve)
    assert len(choices.every) == len(DecisionOutcome)
    assert dict(choices.legal_bases)["nd147-2024-removal"].startswith("Nghị định 147/2024")


def test_a_stacked_chart_splits_each_row_by_its_parts() -> None:
    svg = stacked_chart(
        [("Hạn nội bộ", [("Sớm", 1), ("Đúng", 3), ("Trễ", 0)]), ("<Hạn>", [("Sớm", 0)] * 3)],
        title="Sớm / đúng / trễ",
    )
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert "&lt;Hạn&gt;" in svg and "<Hạn>" not in svg  # labels escaped
    bars = re.findall(r'rect x="[\d.]+" y="\d+" width="([\d.]+)" height="22"', svg)
    widths = [float(w) for w in bars]
    assert widths[:3] == [340 / 4, 340 * 3 / 4, 0.0]
    assert widths[3:] == [0.0, 0.0, 0.0]  # a row of nothing draws nothing
