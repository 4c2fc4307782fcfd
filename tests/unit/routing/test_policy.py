"""The routing policy: matching, specificity, the default table, and validation errors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.common.contracts import TRIAGE, Category, Priority, ReporterKind
from services.common.policyfile import parse_duration
from services.routing.policy import PolicyError, load_policy, parse_policy

pytestmark = pytest.mark.unit

AGENCIES = """
version = "t1"
[[agencies]]
id = "police"
name_vi = "Công an"
name_en = "Police"
default_deadline = "24h"
[[agencies]]
id = "culture_office"
name_vi = "Sở VHTT"
name_en = "Culture office"
default_deadline = "48h"
"""


def policy_with(rules: str) -> str:
    return AGENCIES + rules


@pytest.mark.parametrize(
    ("category", "agency", "deadline"),
    [
        (Category.HIJACKED_ACCOUNT, "police", timedelta(hours=24)),
        (Category.IMPERSONATION, "police", timedelta(hours=24)),
        (Category.SCAM_FRAUD, "police", timedelta(hours=24)),
        (Category.FALSE_INFORMATION, "culture_office", timedelta(hours=24)),
        (Category.HARMFUL_CONTENT, "culture_office", timedelta(hours=48)),
        (Category.CONFIDENTIAL_LEAK, "police", timedelta(hours=12)),
        (Category.MEMBER_MISCONDUCT, "party_committee", timedelta(hours=72)),
    ],
)
def test_default_policy_follows_the_design_table(
    category: Category, agency: str, deadline: timedelta
) -> None:
    assignment = load_policy().route(category)
    assert (assignment.agency, assignment.deadline) == (agency, deadline)
    assert assignment.rule_id is not None


def test_most_specific_rule_wins_and_matches_the_province_code() -> None:
    policy = load_policy()
    hanoi = policy.route(Category.FALSE_INFORMATION, province_code="01")
    assert hanoi.rule_id == "false-information-hanoi"
    assert hanoi.deadline == timedelta(hours=12) and hanoi.priority is Priority.HIGH
    assert policy.route(Category.FALSE_INFORMATION, province_code="46").rule_id == (
        "false-information"
    )
    # A name is not a code: names are resolved to codes by intake, never matched here.
    assert policy.route(Category.FALSE_INFORMATION, province_code="Hà Nội").rule_id == (
        "false-information"
    )


PLACE_RULES = """
[[rules]]
id = "scam"
category = "scam_fraud"
agency = "police"
deadline = "24h"
[[rules]]
id = "scam-hanoi"
category = "scam_fraud"
province = "01"
agency = "police"
deadline = "12h"
[[rules]]
id = "scam-hoan-kiem"
category = "scam_fraud"
commune = "00070"
agency = "police"
deadline = "2h"
"""


def test_a_commune_rule_is_more_specific_than_its_provinces() -> None:
    policy = parse_policy(policy_with(PLACE_RULES))
    assert policy.route(Category.SCAM_FRAUD, "01", "00070").rule_id == "scam-hoan-kiem"
    assert policy.route(Category.SCAM_FRAUD, "01", "00004").rule_id == "scam-hanoi"
    assert policy.route(Category.SCAM_FRAUD, "79", None).rule_id == "scam"
    assert policy.route_to("police", Category.SCAM_FRAUD, "01", "00070").deadline == timedelta(
        hours=2
    )


def test_a_commune_rule_with_and_without_its_province_is_the_same_rule() -> None:
    again = """
[[rules]]
id = "again"
category = "scam_fraud"
province = "01"
commune = "00070"
agency = "police"
deadline = "4h"
"""
    with pytest.raises(PolicyError) as error:
        parse_policy(policy_with(PLACE_RULES + again), "test.toml")
    assert "rule 'again'" in str(error.value)
    assert "matches exactly the same reports as rule 'scam-hoan-kiem'" in str(error.value)


def test_reporter_kind_rule_applies_only_to_that_kind() -> None:
    policy = parse_policy(
        policy_with("""
[[rules]]
id = "scam"
category = "scam_fraud"
agency = "police"
deadline = "24h"
[[rules]]
id = "scam-official"
category = "scam_fraud"
reporter_kind = "official"
agency = "police"
priority = "urgent"
deadline = "2h"
""")
    )
    assert (
        policy.route(Category.SCAM_FRAUD, reporter_kind=ReporterKind.OFFICIAL).rule_id
        == "scam-official"
    )
    assert policy.route(Category.SCAM_FRAUD, reporter_kind=ReporterKind.CITIZEN).rule_id == "scam"


def test_no_matching_rule_means_triage() -> None:
    policy = parse_policy(policy_with(""))
    assignment = policy.route(Category.SCAM_FRAUD)
    assert assignment.agency == TRIAGE and assignment.rule_id is None


def test_reassignment_takes_the_target_agencys_rule_or_its_default_deadline() -> None:
    policy = load_policy()
    to_culture = policy.route_to("culture_office", Category.FALSE_INFORMATION)
    assert to_culture.rule_id == "false-information"
    to_police = policy.route_to("police", Category.FALSE_INFORMATION)
    assert to_police.rule_id is None and to_police.deadline == timedelta(hours=24)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("90m", timedelta(minutes=90)),
        ("7d", timedelta(days=7)),
        ("1h30m", timedelta(minutes=90)),
    ],
)
def test_durations_parse(value: str, expected: timedelta) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize("value", ["", "24", "h", "-1h", "0s", "1.5h", 24])
def test_bad_durations_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


RULE_A = '[[rules]]\nid = "a"\ncategory = "scam_fraud"\nagency = "police"\ndeadline = "1h"\n'


def test_the_default_policy_lists_legal_bases_and_informs_the_party_committee_of_officials() -> (
    None
):
    policy = load_policy()
    assert {"nd147-2024-removal", "luat-anm-2018-d8", "luat-anm-2018-d16"} <= set(
        policy.legal_bases
    )
    assert policy.legal_bases["luat-anm-2018-d8"].title("en").startswith("Law on Cybersecurity")
    assert (policy.appeal_window, policy.appeal_review_within) == (
        timedelta(days=14),
        timedelta(days=5),
    )
    assert (policy.takedown_deadline, policy.legal_within) == (
        timedelta(hours=24),
        timedelta(hours=48),
    )
    for category in (Category.HIJACKED_ACCOUNT, Category.IMPERSONATION):
        official = policy.route(category, reporter_kind=ReporterKind.OFFICIAL)
        assert (official.agency, official.inform, official.inform_contact) == (
            "police",
            ("party_committee",),
            False,
        )
        assert policy.route(category, reporter_kind=ReporterKind.CITIZEN).inform == ()


def test_the_appeal_window_must_be_a_positive_duration() -> None:
    with pytest.raises(PolicyError, match="appeal_window: Value error, duration '0s'"):
        parse_policy('appeal_window = "0s"\n' + AGENCIES.lstrip(), "test.toml")


def test_a_rule_may_set_its_own_legal_clock() -> None:
    policy = parse_policy(policy_with(f'{RULE_A}legal_within = "24h"\ninform_contact = true\n'))
    assignment = policy.route(Category.SCAM_FRAUD)
    assert (assignment.legal_within, assignment.inform_contact) == (timedelta(hours=24), True)
    assert policy.route(Category.IMPERSONATION).legal_within == timedelta(hours=48), "triage"


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            '[[rules]]\nid = "a"\ncategory = "scam_fraud"\nagency = "army"\ndeadline = "1h"\n',
            "rule 'a' (line 14): unknown agency 'army'",
        ),
        (
            '[[rules]]\nid = "a"\ncategory = "scam_fraud"\nagency = "police"\ndeadline = "soon"\n',
            "rule 'a' (line 14), field deadline",
        ),
        (
            '[[rules]]\nid = "a"\ncategory = "gossip"\nagency = "police"\ndeadline = "1h"\n',
            "rule 'a' (line 14), field category",
        ),
        (
            '[[rules]]\nid = "a"\ncategory = "scam_fraud"\nagency = "police"\ndeadline = "1h"\n'
            '[[rules]]\nid = "a"\ncategory = "impersonation"\nagency = "police"\ndeadline = "1h"\n',
            "duplicate rule id",
        ),
        (
            '[[rules]]\nid = "a"\ncategory = "scam_fraud"\nagency = "police"\ndeadline = "1h"\n'
            '[[rules]]\nid = "b"\ncategory = "scam_fraud"\nagency = "culture_office"\ndeadline = "2h"\n',
            "rule 'b' (line 19): matches exactly the same reports as rule 'a'",
        ),
        (
            '[[rules]]\nid = "a"\ncategory = "scam_fraud"\nagency = "police"\ndeadline = "1h"\ncolour = "red"\n',
            "field colour: Extra inputs are not permitted",
        ),
        ('[[rules]\nid = "a"\n', "not valid TOML"),
        (
            f'{RULE_A}province = "99"\n',
            "rule 'a' (line 14): unknown province code '99'",
        ),
        (
            f'{RULE_A}province = "Hà Nội"\n',
            "unknown province code 'Hà Nội' (did you mean: \"01\" Thành phố Hà Nội?)",
        ),
        (
            f'{RULE_A}province = "02"\n',
            "unknown province code '02' (did you mean: \"08\" Tuyên Quang?)",
        ),
        (
            f'{RULE_A}province = "01"\ncommune = "Hoan Kiem"\n',
            "unknown commune code 'Hoan Kiem' (did you mean: \"00070\" Phường Hoàn Kiếm",
        ),
        (
            f'{RULE_A}province = "79"\ncommune = "00070"\n',
            "commune 00070 (Phường Hoàn Kiếm) is in province 01, not 79",
        ),
        (
            f'{RULE_A}district = "Ba Đình"\n',
            "rule 'a' (line 14): `district` is no longer a criterion (districts were abolished",
        ),
        (f'{RULE_A}inform = ["army"]\n', "rule 'a' (line 14): inform names unknown agency 'army'"),
        (f'{RULE_A}inform = ["police"]\n', "inform names the rule's own agency 'police'"),
        (
            f'{RULE_A}inform = ["culture_office", "culture_office"]\n',
            "inform names an agency twice",
        ),
        (f'{RULE_A}legal_within = "soon"\n', "rule 'a' (line 14), field legal_within"),
        (
            '[[legal_bases]]\ncode = "x-1"\ntitle_vi = "a"\ntitle_en = "a"\n'
            '[[legal_bases]]\ncode = "x-1"\ntitle_vi = "b"\ntitle_en = "b"\n',
            "legal basis 'x-1' (line 18): defined twice",
        ),
        (
            '[[legal_bases]]\ncode = "Điều 8"\ntitle_vi = "a"\ntitle_en = "a"\n',
            "legal_bases[0], field code",
        ),
    ],
)
def test_invalid_policy_is_refused_naming_the_rule_line_and_problem(
    rules: str, message: str
) -> None:
    with pytest.raises(PolicyError) as error:
        parse_policy(policy_with(rules), "test.toml")
    assert message in str(error.value)
    assert str(error.value).startswith("test.toml")
