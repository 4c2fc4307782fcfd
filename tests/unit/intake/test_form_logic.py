"""The citizen form's pure parts: tracking codes as typed, phone numbers, the place selects,
the submission token, and the receipt's usual times against routing's default policy."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from multidict import MultiDict, MultiDictProxy
from pydantic import ValidationError

from services.common.contracts import Category
from services.common.policyfile import parse_duration
from services.intake.formfields import (
    form_data,
    form_errors,
    new_form_token,
    place_choices,
    submission_key,
)
from services.intake.models import ContactIn, ReportIn
from services.intake.receipt import USUAL_TIMES, usual_time
from services.intake.repository import new_tracking_code
from services.intake.tracking import normalise_tracking_code

DEFAULT_POLICY = Path(__file__).resolve().parents[3] / "services/routing/default_policy.toml"


@pytest.mark.parametrize(
    "typed",
    [
        "K7QX-3MPA-WZ9D",
        "k7qx-3mpa-wz9d",
        "K7QX 3MPA WZ9D",
        "  k7qx3mpawz9d ",
        "K7QX–3MPA–WZ9D",  # en dashes, as phones' keyboards "correct" them
        "K7QX.3MPA.WZ9D",
        "ｋ７ｑｘ－３ｍｐａ－ｗｚ９ｄ",  # full-width, from a Vietnamese IME
        "K7QX\u00a03MPA\u00a0WZ9D",
    ],
)
def test_a_tracking_code_is_recognised_in_any_case_with_spaces_or_without_dashes(
    typed: str,
) -> None:
    assert normalise_tracking_code(typed) == "K7QX-3MPA-WZ9D"


@pytest.mark.parametrize(
    "typed", ["", "K7QX-3MPA", "K7QX-3MPA-WZ9D-AAAA", "K7QX-3MPA-WZ9Đ", "<script>", "x" * 100]
)
def test_what_cannot_be_a_tracking_code_is_not_looked_up(typed: str) -> None:
    assert normalise_tracking_code(typed) is None


def test_every_new_tracking_code_is_its_own_normal_form() -> None:
    for _ in range(200):
        code = new_tracking_code()
        assert normalise_tracking_code(code.lower().replace("-", " ")) == code


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0912 345 678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("0382-345-678", "+84382345678"),
        ("024 3825 1234", "+842438251234"),
        ("(028) 3829 5555", "+842838295555"),
        ("+84 24 3825 1234", "+842438251234"),
        ("+33 1 42 68 53 00", "+33142685300"),
    ],
)
def test_phone_numbers_are_kept_in_e164(typed: str, stored: str) -> None:
    assert ContactIn(phone=typed).phone == stored


@pytest.mark.parametrize(
    "typed", ["123456", "0912", "0912 345 67", "0912abc678", "+84 00 000 0000"]
)
def test_what_is_not_a_phone_number_is_refused_with_a_clear_message(typed: str) -> None:
    with pytest.raises(ValidationError) as error:
        ContactIn(phone=typed)
    (problem,) = error.value.errors()
    assert problem["type"] == "phone_invalid"
    errors = form_errors(error.value, "vi")
    assert errors["phone"][0].startswith("Số điện thoại không hợp lệ")
    assert "0912 345 678" in form_errors(error.value, "en")["phone"][0]


def _form(**fields: str) -> MultiDictProxy[str]:
    return MultiDictProxy(MultiDict(fields))


def test_the_commune_is_sent_with_the_province_and_the_district_no_longer() -> None:
    data = form_data(_form(province="01", commune="00070", district="Cầu Giấy"), "vi")
    assert data == {"language": "vi", "province": "01", "commune": "00070"}


def test_the_commune_select_lists_the_chosen_provinces_communes() -> None:
    empty = place_choices({})
    assert len(empty.provinces) == 34 and empty.communes == [] and empty.province == ""
    hanoi = place_choices({"province": "Hà Nội", "commune": "00070"})
    assert hanoi.province == "01" and hanoi.commune == "00070"
    assert {c.province_code for c in hanoi.communes} == {"01"} and len(hanoi.communes) > 100
    assert place_choices({"province": "01", "commune": "Phường Hoàn Kiếm"}).commune == "00070"
    unknown = place_choices({"province": "Ha Noii", "commune": "00070"})
    assert (unknown.province, unknown.communes, unknown.commune) == ("", [], "")


def test_a_submission_token_is_an_idempotency_key_only_when_well_formed() -> None:
    token = new_form_token()
    assert submission_key(token) == f"form:{token}"
    assert new_form_token() != token
    assert submission_key("") is None
    assert submission_key("short") is None
    assert submission_key("x" * 22 + " ; drop") is None


def test_the_usual_times_are_routing_default_policys_national_rules() -> None:
    policy = tomllib.loads(DEFAULT_POLICY.read_text(encoding="utf-8"))
    national = {
        rule["category"]: rule
        for rule in policy["rules"]
        if "province" not in rule and "commune" not in rule and "reporter_kind" not in rule
    }
    assert set(national) == {c.value for c in Category} == {c.value for c in USUAL_TIMES}
    for category, rule in national.items():
        usual = usual_time(category)
        assert usual is not None
        assert usual.acknowledge == parse_duration(rule["deadline"]), category
        assert usual.resolve == parse_duration(rule["resolve_within"]), category
    assert usual_time("no_such_category") is None


def test_an_invalid_report_from_the_form_names_the_phone_field() -> None:
    data = form_data(
        _form(
            category="scam_fraud",
            content_urls="https://facebook.com/x",
            platform="facebook",
            description="Trang lừa đảo trúng thưởng.",
            anonymous="no",
            contact_phone="123456",
        ),
        "vi",
    )
    with pytest.raises(ValidationError) as error:
        ReportIn.model_validate(data)
    assert list(form_errors(error.value, "vi")) == ["contact_phone"]
