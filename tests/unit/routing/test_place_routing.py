"""Routing by place codes: reports carry province and commune codes; older ones only a name."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.common.contracts import CaseAssigned, Category
from services.routing.case import Case
from services.routing.lifecycle import Action
from services.routing.planning import ActionRequest, plan_action, plan_new_case
from tests.unit.routing.factory import NOW, POLICY, report

pytestmark = pytest.mark.unit
HA_NOI = {"province": "Thành phố Hà Nội", "province_code": "01"}


def test_a_report_with_the_ha_noi_code_takes_the_ha_noi_rule() -> None:
    case, [event] = plan_new_case(
        report(
            Category.FALSE_INFORMATION, **HA_NOI, commune="Phường Hoàn Kiếm", commune_code="00070"
        ),
        POLICY,
        NOW,
    )
    assert case.rule_id == "false-information-hanoi"
    assert case.acknowledge_within_s == timedelta(hours=12).total_seconds()
    assert (case.report.province_code, case.report.commune_code) == ("01", "00070")
    assert isinstance(event, CaseAssigned) and event.province_code == "01"


def test_a_report_of_another_province_takes_the_national_rule() -> None:
    case, _ = plan_new_case(
        report(Category.FALSE_INFORMATION, province="Thành phố Huế", province_code="46"),
        POLICY,
        NOW,
    )
    assert case.rule_id == "false-information"
    assert case.acknowledge_within_s == timedelta(hours=24).total_seconds()


@pytest.mark.parametrize("name", ["Hà Nội", "TP. Hà Nội", "ha noi"])
def test_a_report_from_before_codes_is_routed_by_its_province_name(name: str) -> None:
    case, [event] = plan_new_case(report(Category.FALSE_INFORMATION, province=name), POLICY, NOW)
    assert case.rule_id == "false-information-hanoi"
    assert isinstance(event, CaseAssigned) and event.province_code == "01"


def test_a_stored_case_with_only_a_province_name_loads_and_keeps_it() -> None:
    case, _ = plan_new_case(
        report(Category.FALSE_INFORMATION, province="Hà Nội"), POLICY, NOW, case_id="old-1"
    )
    document = case.to_document()
    del document["report"]["province_code"]
    document["report"]["district"] = "Ba Đình"
    loaded = Case.from_document(document)
    assert loaded.report.province == "Hà Nội" and loaded.report.district == "Ba Đình"
    assert loaded.report.province_code is None


def test_reassignment_of_an_old_case_still_finds_its_province_rule() -> None:
    case, _ = plan_new_case(
        report(Category.FALSE_INFORMATION, province="Hà Nội"), POLICY, NOW, case_id="old-2"
    )
    document = case.to_document()
    document["report"].pop("province_code", None)
    old = Case.from_document(document)
    plan = plan_action(old, reassign_to("police"), POLICY, NOW)
    assert plan.case.agency == "police"
    # The police have no Hà Nội rule: their default deadline applies; back to the office, the
    # Hà Nội rule again.
    back = plan_action(plan.case, reassign_to("culture_office"), POLICY, NOW)
    assert back.case.rule_id == "false-information-hanoi"


def reassign_to(agency: str) -> ActionRequest:
    """A supervisor's reassignment request."""
    return ActionRequest(
        action=Action.REASSIGN, actor="supervisor", target_agency=agency, note="wrong office"
    )
