"""Staff rules without servers: TOTP steps, a supervisor's scope, assigning a case to an
officer, which accounts fit together, where people land, whose name the audit line carries."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest

from services.common.contracts import CaseStatus
from services.routing.accounts import AccountProblem, check_person
from services.routing.actions import scope_criteria, with_person, within_scope
from services.routing.assigning import (
    ASSIGN_OFFICER,
    AssignConflict,
    InvalidAssignee,
    plan_assign,
)
from services.routing.console_login import landing, safe_next
from services.routing.credentials import totp_step
from services.routing.people import Person, Role
from tests.unit.routing.factory import NOW, new_case

pytestmark = pytest.mark.unit
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # fixed, with NOW: the codes below are known
LEAD = Person("police/lead", "Nguyễn Văn An", Role.LEAD, agency="police")
OFFICER = Person("police/officer", "Lê Thị Bình", Role.OFFICER, agency="police")


def code_at(offset_steps: int) -> str:
    return pyotp.TOTP(SECRET).at(NOW + timedelta(seconds=30 * offset_steps))


def test_a_code_is_accepted_one_step_either_side_of_now_and_names_its_step() -> None:
    current = int(NOW.timestamp()) // 30
    assert totp_step(SECRET, code_at(0), NOW) == current
    assert totp_step(SECRET, code_at(-1), NOW) == current - 1
    assert totp_step(SECRET, code_at(1), NOW) == current + 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "１２３４５６"])
def test_a_code_of_another_shape_is_refused(code: str) -> None:
    assert totp_step(SECRET, code, NOW) is None


def test_a_code_two_steps_away_is_refused() -> None:
    assert len({code_at(step) for step in (-2, -1, 0, 1, 2)}) == 5
    assert totp_step(SECRET, code_at(2), NOW) is None
    assert totp_step(SECRET, code_at(-2), NOW) is None


def test_a_supervisors_scope_limits_agencies_and_provinces() -> None:
    case = new_case()  # police, Đà Nẵng (48)
    everything = Person("supervisor/all", "Giám sát", Role.SUPERVISOR)
    police = Person("s/p", "S", Role.SUPERVISOR, scope_agencies=frozenset({"police"}))
    culture = Person("s/c", "S", Role.SUPERVISOR, scope_agencies=frozenset({"culture_office"}))
    da_nang = Person("s/d", "S", Role.SUPERVISOR, scope_provinces=frozenset({"48"}))
    ha_noi = Person("s/h", "S", Role.SUPERVISOR, scope_provinces=frozenset({"01"}))
    assert within_scope(case, everything) and within_scope(case, None)
    assert within_scope(case, police) and not within_scope(case, culture)
    assert within_scope(case, da_nang) and not within_scope(case, ha_noi)
    assert scope_criteria(everything) == () and scope_criteria(OFFICER) == ()
    assert scope_criteria(culture) == ({"agency": {"$in": ["culture_office"]}},)


def test_a_lead_assigns_a_case_and_the_audit_line_names_both() -> None:
    plan = plan_assign(new_case(), OFFICER, actor="police", person=LEAD, now=NOW)
    assert plan.case.assignee == OFFICER.account_id and plan.case.assignee_name == OFFICER.name
    assert plan.audit.action == ASSIGN_OFFICER and plan.audit.person == LEAD.audit_name
    assert plan.audit.note is not None and OFFICER.audit_name in plan.audit.note
    assert plan.changes["assignee"] == OFFICER.account_id and plan.changes["version"] == 2
    assert [e.action for e in plan.events] == [ASSIGN_OFFICER]  # type: ignore[union-attr]


def test_a_case_is_assigned_only_to_an_officer_of_its_agency_while_open() -> None:
    other = Person("culture_office/x", "X", Role.OFFICER, agency="culture_office")
    with pytest.raises(InvalidAssignee):
        plan_assign(new_case(), other, actor="police", person=LEAD, now=NOW)
    with pytest.raises(AssignConflict):
        closed = new_case(status=CaseStatus.RESOLVED)
        plan_assign(closed, OFFICER, actor="police", person=LEAD, now=NOW)
    with pytest.raises(AssignConflict):
        mine = new_case(assignee=OFFICER.account_id)
        plan_assign(mine, OFFICER, actor="police", person=LEAD, now=NOW)


@pytest.mark.parametrize(
    ("person", "field"),
    [
        (Person("", "A", Role.OFFICER), "agency"),
        (Person("", "A", Role.AUDITOR, agency="police"), "agency"),
        (Person("", "A", Role.LEAD, agency="nowhere"), "agency"),
        (Person("", "A", Role.OFFICER, agency="police", scope_agencies=frozenset({"x"})), "scope"),
        (Person("", "A", Role.SUPERVISOR, scope_agencies=frozenset({"nowhere"})), "scope-agency"),
    ],
)
def test_accounts_whose_role_agency_and_scope_do_not_fit_are_refused(
    person: Person, field: str
) -> None:
    with pytest.raises(AccountProblem) as refused:
        check_person(person, {"police", "culture_office"})
    assert refused.value.field == field


def test_people_land_where_their_role_works_and_follow_only_console_paths() -> None:
    assert landing(OFFICER) == "/console/cases"
    assert landing(Person("s", "S", Role.SUPERVISOR)) == "/console/overview"
    assert safe_next("/console/cases/abc") == "/console/cases/abc"
    for path in ("//evil.example/console/", "https://evil.example", "/console\\..", None):
        assert safe_next(path) is None


def test_the_audit_line_of_a_planned_change_names_the_person() -> None:
    plan = plan_assign(new_case(), OFFICER, actor="police", person=None, now=NOW)
    assert plan.audit.person is None
    assert with_person(plan, LEAD).audit.person == "Nguyễn Văn An (police/lead)"
    assert with_person(plan, None) is plan
