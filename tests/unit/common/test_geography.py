"""Administrative geography: the 2025 units, and how typed place names resolve to codes."""

from __future__ import annotations

import unicodedata

import pytest

from services.common.geography import (
    GEOGRAPHY_VERSION,
    MAX_SUGGESTIONS,
    Commune,
    PlaceError,
    commune,
    communes,
    province,
    province_code_of,
    provinces,
    resolve_place,
)
from services.common.geography_legacy import OLD_DISTRICTS, OLD_PROVINCE_CODES, OLD_PROVINCES
from services.common.placenames import sort_key

pytestmark = pytest.mark.unit

HA_NOI = "01"
HO_CHI_MINH = "79"


def test_there_are_34_provinces_and_3321_communes() -> None:
    listed = provinces()
    assert len(listed) == 34
    assert len({p.code for p in listed}) == 34
    assert sum(len(communes(p.code)) for p in listed) == 3321


def test_version_names_the_package_and_its_data_date() -> None:
    assert GEOGRAPHY_VERSION.startswith("vietnam-provinces 2025.10.1 (data 2025-")


def test_provinces_are_in_vietnamese_alphabetical_order() -> None:
    names = [p.short_name for p in provinces()]
    assert names[:3] == ["An Giang", "Bắc Ninh", "Cà Mau"]
    # Đ comes after every D... and before E; Hà before Hải before Hồ.
    assert names.index("Đà Nẵng") > names.index("Cần Thơ")
    assert names.index("Hà Nội") < names.index("Hải Phòng") < names.index("Hồ Chí Minh")


def test_lookup_by_code() -> None:
    ha_noi = province(HA_NOI)
    assert ha_noi is not None
    assert (ha_noi.name, ha_noi.short_name) == ("Thành phố Hà Nội", "Hà Nội")
    hoan_kiem = commune("00070")
    assert hoan_kiem is not None
    assert (hoan_kiem.name, hoan_kiem.short_name, hoan_kiem.province_code) == (
        "Phường Hoàn Kiếm",
        "Hoàn Kiếm",
        HA_NOI,
    )
    assert province("99") is None and commune("99999") is None and communes("99") == []


@pytest.mark.parametrize(
    "typed",
    [
        "Hà Nội",
        "TP. Hà Nội",
        "Thành phố Hà Nội",
        "thành phố hà nội",
        "Ha Noi",
        "Hanoi",
        "HA NOI",
        "HN",
        "Thủ đô Hà Nội",
        "Hanoi City",
        "01",
        "1",
        "  Hà   Nội  ",
        unicodedata.normalize("NFD", "Hà Nội"),
        "Hà\u200bNội",
        "\u200bHà Nội\ufeff",
        "Hà\u00a0Nội",
    ],
)
def test_every_usual_form_of_ha_noi_gives_its_code(typed: str) -> None:
    place = resolve_place(typed, None)
    assert place.province_code == HA_NOI
    assert place.province_name == "Thành phố Hà Nội"
    assert place.mapped_from is None


@pytest.mark.parametrize(
    "typed", ["HCM", "TP.HCM", "TPHCM", "tp hcm", "Sài Gòn", "Saigon", "Ho Chi Minh City", "79"]
)
def test_abbreviations_of_ho_chi_minh_city(typed: str) -> None:
    assert resolve_place(typed, None).province_code == HO_CHI_MINH


@pytest.mark.parametrize(
    ("old", "new_code"),
    [
        ("Bình Dương", HO_CHI_MINH),
        ("Tỉnh Bà Rịa - Vũng Tàu", HO_CHI_MINH),
        ("Hà Giang", "08"),
        ("Quảng Nam", "48"),
        ("Thừa Thiên Huế", "46"),
        ("Hoà Bình", "25"),
        ("Kon Tum", "51"),
        ("Bac Lieu", "96"),
    ],
)
def test_a_pre_2025_province_maps_to_its_new_province(old: str, new_code: str) -> None:
    place = resolve_place(old, None)
    assert place.province_code == new_code
    assert place.mapped_from is not None


def test_every_old_province_maps_to_one_of_the_34() -> None:
    codes = {p.code for p in provinces()}
    assert len(OLD_PROVINCE_CODES) == 63
    assert set(OLD_PROVINCES.values()) <= codes
    for old in OLD_PROVINCE_CODES.values():
        assert resolve_place(old, None).province_code == OLD_PROVINCES[old]


@pytest.mark.parametrize(
    ("district", "code"),
    [("Quận Ba Đình", HA_NOI), ("Quận 1", HO_CHI_MINH), ("Q1", HO_CHI_MINH), ("Thủ Đức", "79")],
)
def test_a_district_found_in_one_old_province_maps_to_its_province(
    district: str, code: str
) -> None:
    as_district = resolve_place(None, None, district=district)
    assert as_district.province_code == code
    assert as_district.mapped_from is not None
    assert resolve_place(district, None).province_code == code


def test_old_districts_cover_every_old_province() -> None:
    assert set(OLD_DISTRICTS) == set(OLD_PROVINCE_CODES)
    assert sum(map(len, OLD_DISTRICTS.values())) == 696


def test_a_district_name_of_several_provinces_is_refused_with_those_provinces() -> None:
    with pytest.raises(PlaceError) as refused:
        resolve_place(None, None, district="Huyện Châu Thành")
    error = refused.value
    assert error.field == "district"
    assert error.suggestions == ["An Giang", "Cần Thơ", "Đồng Tháp", "Tây Ninh", "Vĩnh Long"]
    assert "An Giang" in error.message_vi and "An Giang" in error.message_en


def test_an_ambiguous_district_in_the_province_field_is_refused_on_that_field() -> None:
    with pytest.raises(PlaceError) as refused:
        resolve_place("Phú Tân", None)
    assert refused.value.field == "province"
    assert refused.value.suggestions == ["An Giang", "Cà Mau"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("Ha Nọi xyz", "Hà Nội"), ("Bắc Ninhh", "Bắc Ninh"), ("Hai Phong city x", "Hải Phòng")],
)
def test_an_unknown_province_is_refused_with_close_names(typed: str, expected: str) -> None:
    with pytest.raises(PlaceError) as refused:
        resolve_place(typed, None)
    error = refused.value
    assert error.field == "province"
    assert expected in error.suggestions
    assert len(error.suggestions) <= MAX_SUGGESTIONS
    assert expected in error.message_vi and expected in error.message_en


def test_a_name_like_nothing_is_refused_without_suggestions() -> None:
    with pytest.raises(PlaceError) as refused:
        resolve_place("Xyzzy Qwerty", None)
    assert refused.value.suggestions == []
    assert "Xyzzy Qwerty" in refused.value.message_en


def test_an_unknown_province_code_is_refused() -> None:
    with pytest.raises(PlaceError) as refused:
        resolve_place("99", None)
    assert refused.value.field == "province"
    assert "99" in refused.value.message_vi


def test_suggestions_never_exceed_five() -> None:
    with pytest.raises(PlaceError) as refused:
        resolve_place("Quảng", None)
    assert 0 < len(refused.value.suggestions) <= MAX_SUGGESTIONS


@pytest.mark.parametrize(
    "typed", ["Hoàn Kiếm", "Phường Hoàn Kiếm", "P. Hoàn Kiếm", "hoan kiem", "00070", "70"]
)
def test_a_commune_by_code_or_name_in_its_province(typed: str) -> None:
    place = resolve_place("HN", typed)
    assert (place.commune_code, place.commune_name) == ("00070", "Phường Hoàn Kiếm")


def test_a_commune_of_another_province_is_refused() -> None:
    with pytest.raises(PlaceError) as refused:
        resolve_place("TP.HCM", "Hoàn Kiếm")
    error = refused.value
    assert error.field == "commune"
    assert "Thành phố Hà Nội" in error.message_vi and "Thành phố Hồ Chí Minh" in error.message_en
    with pytest.raises(PlaceError):
        resolve_place(HO_CHI_MINH, "00070")


def test_a_commune_alone_gives_its_province_when_its_name_is_unique() -> None:
    place = resolve_place(None, "Hoàn Kiếm")
    assert (place.province_code, place.commune_code) == (HA_NOI, "00070")


def test_a_commune_name_of_several_provinces_needs_the_province() -> None:
    with pytest.raises(PlaceError) as refused:
        resolve_place(None, "Vĩnh Lợi")
    assert refused.value.field == "commune"
    assert refused.value.suggestions == ["Xã Vĩnh Lợi (Cà Mau)", "Xã Vĩnh Lợi (Cần Thơ)"]
    assert resolve_place("Cần Thơ", "Vĩnh Lợi").commune_code == "31777"
    assert resolve_place("Ca Mau", "xa vinh loi").commune_code == "31900"


def test_an_unknown_commune_is_refused_with_close_names_of_that_province() -> None:
    with pytest.raises(PlaceError) as refused:
        resolve_place("HN", "Hoan Kiemm")
    error = refused.value
    assert error.field == "commune"
    assert error.suggestions[0] == "Phường Hoàn Kiếm"
    assert all(commune_named(s).province_code == HA_NOI for s in error.suggestions)


def test_nothing_given_asks_for_the_province() -> None:
    with pytest.raises(PlaceError) as refused:
        resolve_place(None, " \u200b ")
    assert refused.value.field == "province"


def test_vietnamese_sort_key_orders_modified_letters_after_their_base() -> None:
    words = ["Đông", "Dương", "Ân", "Ăn", "An", "Bình"]
    assert sorted(words, key=sort_key) == ["An", "Ăn", "Ân", "Bình", "Dương", "Đông"]


def commune_named(name: str) -> Commune:
    """The one commune with this full name in Hà Nội (for checking suggestions)."""
    return next(c for c in communes(HA_NOI) if c.name == name)


def test_a_stored_province_name_without_code_resolves_to_its_code() -> None:
    assert province_code_of("79", "Hà Nội") == "79", "a stored code wins"
    assert province_code_of(None, "Hà Nội") == HA_NOI
    assert province_code_of(None, "Bình Dương") == HO_CHI_MINH
    assert province_code_of(None, "Atlantis") is None
    assert province_code_of(None, None) is None and province_code_of(None, " ") is None


def test_an_old_province_code_is_refused_with_its_new_province() -> None:
    with pytest.raises(PlaceError) as refused:
        resolve_place("02", None)
    assert refused.value.suggestions == ["Tuyên Quang"]
    assert "Hà Giang" in refused.value.message_en and "08" in refused.value.message_vi


@pytest.mark.parametrize("typed", ["\u0660\u0661", "1e5", "\u0967"])
def test_codes_are_ascii_digits_only(typed: str) -> None:
    with pytest.raises(PlaceError):
        resolve_place(typed, None)


def test_a_lone_surrogate_in_a_name_is_quoted_back_encodable() -> None:
    with pytest.raises(PlaceError) as refused:
        resolve_place("01", "Hoàn\ud800Kiếmm")
    refused.value.message_vi.encode("utf-8")
    refused.value.message_en.encode("utf-8")
