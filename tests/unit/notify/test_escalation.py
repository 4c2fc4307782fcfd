"""The escalation policy as a pure function of (case state, policy, alerts sent, now)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.contracts import CaseStatus, Priority
from services.common.policyfile import PolicyError
from services.notify.escalation import (
    CaseState,
    load_escalation_policy,
    parse_escalation_policy,
)

pytestmark = pytest.mark.unit
DUE = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
POLICY_TEXT = """
version = "t1"
repeat_every = "24h"

[[levels]]
level = 1
after = "0s"
roles = ["agency_supervisor"]

[[levels]]
level = 2
after = "4h"
roles = ["agency_supervisor", "provincial_supervisor"]

[[levels]]
level = 3
after = "24h"
roles = ["national_supervisor"]

[[overrides]]
priority = "urgent"
after = ["0s", "1h", "2h"]
repeat_every = "1h"

[[targets]]
id = "police-sup"
role = "agency_supervisor"
agency = "police"
email = ["a@example.org"]

[[targets]]
id = "culture-sup"
role = "agency_supervisor"
agency = "culture_office"
webhook = "https://hooks.example.org/culture"

[[targets]]
id = "hanoi"
role = "provincial_supervisor"
province = "Hà Nội"
email = ["hn@example.org"]

[[targets]]
id = "national"
role = "national_supervisor"
email = ["n@example.org"]
"""
POLICY = parse_escalation_policy(POLICY_TEXT)


def case(
    status: CaseStatus = CaseStatus.ASSIGNED,
    priority: Priority = Priority.NORMAL,
    due_at: datetime | None = DUE,
    agency: str = "police",
    province: str | None = None,
) -> CaseState:
    return CaseState(agency, priority, status, due_at, province)


def levels_due(state: CaseState, sent: int, now: datetime) -> list[tuple[int, int]]:
    return [(s.level, s.repeat) for s in POLICY.due_steps(state, sent, now)]


def test_nothing_is_due_before_the_deadline() -> None:
    assert levels_due(case(), 0, DUE - timedelta(seconds=1)) == []


def test_level_one_falls_due_at_the_deadline_and_once() -> None:
    assert levels_due(case(), 0, DUE) == [(1, 0)]
    assert levels_due(case(), 1, DUE + timedelta(hours=3)) == []


def test_each_level_falls_due_at_its_offset() -> None:
    assert levels_due(case(), 1, DUE + timedelta(hours=4)) == [(2, 0)]
    assert levels_due(case(), 2, DUE + timedelta(hours=24)) == [(3, 0)]


def test_a_late_look_finds_every_missed_level_in_order() -> None:
    assert levels_due(case(), 0, DUE + timedelta(hours=25)) == [(1, 0), (2, 0), (3, 0)]


def test_the_last_level_repeats_and_missed_repeats_collapse_into_one() -> None:
    assert levels_due(case(), 3, DUE + timedelta(hours=48)) == [(3, 1)]
    assert levels_due(case(), 3, DUE + timedelta(days=5, hours=1)) == [(3, 4)]
    step = POLICY.next_step(case(), 3, DUE + timedelta(days=5, hours=1))
    assert step is not None and step.due == DUE + timedelta(days=5)


def test_priority_override_climbs_faster() -> None:
    urgent = case(priority=Priority.URGENT)
    assert levels_due(urgent, 1, DUE + timedelta(hours=1)) == [(2, 0)]
    assert levels_due(urgent, 3, DUE + timedelta(hours=3)) == [(3, 1)]


@pytest.mark.parametrize("status", [CaseStatus.RESOLVED, CaseStatus.REJECTED])
def test_closed_cases_never_escalate(status: CaseStatus) -> None:
    assert levels_due(case(status=status), 0, DUE + timedelta(days=30)) == []
    assert POLICY.next_step(case(status=status), 0, DUE) is None


def test_a_case_without_deadline_never_escalates() -> None:
    assert levels_due(case(due_at=None), 0, DUE + timedelta(days=30)) == []


def test_acknowledged_case_escalates_against_its_new_deadline() -> None:
    resolve_by = DUE + timedelta(days=7)
    acknowledged = case(status=CaseStatus.ACKNOWLEDGED, due_at=resolve_by)
    assert levels_due(acknowledged, 0, DUE + timedelta(days=1)) == []
    assert levels_due(acknowledged, 0, resolve_by) == [(1, 0)]


def test_targets_follow_agency_and_province() -> None:
    hanoi = case(province="Hà Nội")
    assert [t.id for t in POLICY.targets_for(hanoi, 1)] == ["police-sup"]
    assert [t.id for t in POLICY.targets_for(hanoi, 2)] == ["police-sup", "hanoi"]
    assert [t.id for t in POLICY.targets_for(case(province="Huế"), 2)] == ["police-sup"]
    assert [t.id for t in POLICY.targets_for(case(agency="culture_office"), 3)] == ["national"]


@pytest.mark.parametrize("shown", ["Thành phố Hà Nội", "Hà Nội", "01", "TP. Hà Nội"])
def test_a_province_target_serves_its_province_however_the_case_names_it(shown: str) -> None:
    # New cases carry the official name ("Thành phố Hà Nội"); cases from before place codes
    # carry what the reporter typed.
    assert "hanoi" in [t.id for t in POLICY.targets_for(case(province=shown), 2)]
    assert "hanoi" not in [t.id for t in POLICY.targets_for(case(province="Huế"), 2)]


def test_a_target_naming_an_unknown_province_is_refused() -> None:
    text = POLICY_TEXT.replace('province = "Hà Nội"', 'province = "Hà Tây"')
    with pytest.raises(PolicyError) as error:
        parse_escalation_policy(text, "test.toml")
    assert "unknown province 'Hà Tây'" in str(error.value)


def test_the_packaged_default_policy_is_valid() -> None:
    policy = load_escalation_policy()
    assert len(policy.levels) == 3
    assert policy.schedule(Priority.URGENT).offsets[1] == timedelta(hours=1)


BASE = """
version = "bad"
[[levels]]
level = 1
after = "0s"
roles = ["sup"]
[[targets]]
id = "t"
role = "sup"
"""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[[levels]]\nlevel = 3\nafter = "1h"\nroles = ["sup"]\n', r"numbered 1, 2, 3"),
        ('[[levels]]\nlevel = 2\nafter = "0s"\nroles = ["sup"]\n', r"come after the one before"),
        (
            '[[levels]]\nlevel = 2\nafter = "1h"\nroles = ["boss"]\n',
            r"level 2: no target has role 'boss'",
        ),
        (
            '[[levels]]\nlevel = 2\nafter = "soon"\nroles = ["sup"]\n',
            r"levels\[1\], field after: .*bad duration",
        ),
        ('[[targets]]\nid = "t"\nrole = "sup"\n', r"target 't' \(line \d+\): duplicate id"),
        (
            '[[targets]]\nid = "x"\nrole = "sup"\nemail = ["not-an-address"]\n',
            r"target 'x' \(line \d+\), field email.0",
        ),
        ('[[overrides]]\npriority = "urgent"\nafter = ["0s", "1h"]\n', r"2 offsets for 1 levels"),
        ('[[overrides]]\npriority = "whenever"\nafter = ["0s"]\n', r"overrides.0.priority"),
        ("surprise = 1\n", r"surprise: Extra inputs are not permitted"),
    ],
)
def test_invalid_policies_are_refused_with_the_entry_and_problem(extra: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_escalation_policy(BASE + extra, "test.toml")


def test_malformed_toml_is_refused() -> None:
    with pytest.raises(PolicyError, match="not valid TOML"):
        parse_escalation_policy("levels = [", "test.toml")
