"""Vietnam's administrative units since 1 July 2025 (34 provinces, 3,321 communes) as versioned
reference data, and the one place where a place typed by a person becomes a code."""

from __future__ import annotations

from dataclasses import dataclass

import vietnam_provinces

from services.common.geography_data import MAX_SUGGESTIONS, Commune, Province, units
from services.common.geography_legacy import OLD_PROVINCE_CODES, OLD_PROVINCES
from services.common.placenames import (
    COMMUNE_PREFIXES,
    DISTRICT_PREFIXES,
    PROVINCE_PREFIXES,
    PROVINCE_SUFFIXES,
    name_key,
    sort_key,
)

__all__ = [
    "GEOGRAPHY_VERSION",
    "MAX_SUGGESTIONS",
    "Commune",
    "Place",
    "PlaceError",
    "Province",
    "commune",
    "communes",
    "is_blank",
    "is_code",
    "province",
    "province_code_of",
    "provinces",
    "resolve_commune",
    "resolve_district",
    "resolve_place",
    "resolve_province",
]

# Recorded on every report and shown by the places endpoints: a reorganisation is a new package
# version (a data update), and this says which data a code was resolved against.
GEOGRAPHY_VERSION = (
    f"vietnam-provinces {vietnam_provinces.__version__} (data {vietnam_provinces.__data_version__})"
)


@dataclass(frozen=True)
class Place:
    """A resolved place: codes for machines, names for display."""

    province_code: str
    province_name: str
    commune_code: str | None = None
    commune_name: str | None = None
    mapped_from: str | None = None


class PlaceError(ValueError):
    """A place that cannot be resolved: which field, why (vi, en), and names that would do."""

    def __init__(
        self, field: str, message_vi: str, message_en: str, suggestions: list[str] | None = None
    ) -> None:
        super().__init__(message_en)
        self.field = field
        self.message_vi = message_vi
        self.message_en = message_en
        self.suggestions = (suggestions or [])[:MAX_SUGGESTIONS]


def provinces() -> list[Province]:
    """The 34 provinces and centrally-run cities, in Vietnamese alphabetical order."""
    return sorted(units().provinces.values(), key=lambda p: sort_key(p.short_name))


def communes(province_code: str) -> list[Commune]:
    """The communes, wards and special zones of a province (none for an unknown code)."""
    return list(units().by_province.get(province_code, []))


def province(code: str) -> Province | None:
    """The province with this code ("01"), or None."""
    return units().provinces.get(code)


def commune(code: str) -> Commune | None:
    """The commune with this code ("00070"), or None."""
    return units().communes.get(code)


def is_code(text: str) -> bool:
    """Whether `text` is written as a code (ASCII digits only, as every number in the APIs)."""
    return text.isascii() and text.isdigit()


def is_blank(text: str | None) -> bool:
    """Whether `text` names nothing (absent, or only spaces, punctuation, invisible characters)."""
    return text is None or not name_key(text, ()).compact


def resolve_place(
    province: str | None, commune: str | None, *, district: str | None = None
) -> Place:
    """The place named by a province and a commune (codes or names; the commune optional), or
    by a pre-2025 district when no province is given; raises PlaceError naming the field."""
    found, mapped_from = (None, None)
    if not is_blank(province):
        assert province is not None
        found, mapped_from = resolve_province(province)
    elif not is_blank(district):
        assert district is not None
        found, mapped_from = resolve_district(district)
    unit = None if is_blank(commune) else resolve_commune(commune or "", found)
    if found is None and unit is not None:
        found = units().provinces[unit.province_code]
    if found is None:
        raise PlaceError(
            "province", "Vui lòng chọn tỉnh/thành phố.", "Please choose a province or city."
        )
    return Place(
        found.code,
        found.name,
        unit.code if unit else None,
        unit.name if unit else None,
        mapped_from,
    )


def province_code_of(code: str | None, name: str | None) -> str | None:
    """A stored report's province code: its code, or for a report stored before codes, its
    name resolved (None when the name designates no province)."""
    if code is not None or name is None or is_blank(name):
        return code
    try:
        return resolve_province(name)[0].code
    except PlaceError:
        return None


def resolve_province(text: str) -> tuple[Province, str | None]:
    """The province a code, a current name or a pre-2025 province name designates, with the old
    name when one was mapped; raises PlaceError (field "province")."""
    data = units()
    key = name_key(text, PROVINCE_PREFIXES, PROVINCE_SUFFIXES)
    if is_code(key.compact):
        return _province_by_code(key.compact, "province"), None
    if codes := data.province_names.find(key):
        return data.provinces[_one(codes)], None
    if old := data.old_names.find(key):
        name = _one(old)
        return data.provinces[OLD_PROVINCES[name]], name
    if data.districts.find(name_key(text, DISTRICT_PREFIXES)):
        return _district_as_province(text, "province")
    suggestions = data.province_names.close(key) + data.old_names.close(key)
    raise _unknown_province(text, suggestions, "province")


def resolve_district(text: str) -> tuple[Province, str]:
    """The province a pre-2025 district lay in, when its name is found in one province only;
    raises PlaceError (field "district")."""
    return _district_as_province(text, "district")


def _district_as_province(text: str, field_name: str) -> tuple[Province, str]:
    data = units()
    key = name_key(text, DISTRICT_PREFIXES)
    matches = data.districts.find(key)
    targets = {OLD_PROVINCES[m.split("|")[1]] for m in matches}
    if len(targets) == 1:
        district, old_province = sorted(matches)[0].split("|")
        return data.provinces[targets.pop()], f"{district}, {old_province}"
    if targets:
        names = sorted((data.provinces[c].short_name for c in targets), key=sort_key)
        raise PlaceError(
            field_name,
            f"«{_shown(text)}» là tên quận/huyện cũ ở nhiều tỉnh; hãy chọn tỉnh/thành phố: "
            f"{', '.join(names[:MAX_SUGGESTIONS])}.",
            f"«{_shown(text)}» was a district in several provinces; choose the province: "
            f"{', '.join(names[:MAX_SUGGESTIONS])}.",
            names,
        )
    suggestions = data.province_names.close(key) + data.districts.close(key)
    raise _unknown_province(text, suggestions, field_name)


def _unknown_province(text: str, suggestions: list[str], field_name: str) -> PlaceError:
    return _not_found(
        field_name,
        f"Không tìm thấy tỉnh/thành phố «{_shown(text)}».",
        f"No province or city named «{_shown(text)}».",
        suggestions,
    )


def _not_found(field_name: str, vi: str, en: str, suggestions: list[str]) -> PlaceError:
    """A PlaceError whose messages end with the suggestions, if any."""
    suggestions = list(dict.fromkeys(suggestions))[:MAX_SUGGESTIONS]
    hint = ", ".join(suggestions)
    if hint:
        vi, en = f"{vi} Có phải: {hint}?", f"{en} Did you mean: {hint}?"
    return PlaceError(field_name, vi, en, suggestions)


def _province_by_code(digits: str, field_name: str) -> Province:
    found = units().provinces.get(digits.zfill(2)[-2:]) if len(digits) <= 3 else None
    if found is not None and int(digits) == int(found.code):
        return found
    old = OLD_PROVINCE_CODES.get(digits.zfill(2)) if len(digits) <= 2 else None
    if old is not None:
        new = units().provinces[OLD_PROVINCES[old]]
        raise PlaceError(
            field_name,
            f"Mã {digits} là của tỉnh {old} trước 1/7/2025; nay là {new.name} (mã {new.code}).",
            f"Code {digits} was {old} before 1 July 2025; it is now {new.name} (code {new.code}).",
            [new.short_name],
        )
    raise PlaceError(
        field_name,
        f"Không có tỉnh/thành phố mã {digits[:10]}.",
        f"No province or city has code {digits[:10]}.",
    )


def resolve_commune(text: str, in_province: Province | None) -> Commune:
    """The commune a code or name designates, in `in_province` when given (anywhere otherwise,
    when the name is unique); raises PlaceError (field "commune")."""
    data = units()
    key = name_key(text, COMMUNE_PREFIXES)
    if is_code(key.compact):
        found = data.communes.get(key.compact.zfill(5)) if len(key.compact) <= 6 else None
        if found is None:
            raise PlaceError(
                "commune",
                f"Không có xã/phường mã {key.compact[:10]}.",
                f"No commune or ward has code {key.compact[:10]}.",
            )
        return _in_province(found, in_province, text)
    index = data.all_communes if in_province is None else data.commune_names[in_province.code]
    codes = index.find(key)
    if len(codes) == 1:
        return data.communes[codes.pop()]
    if codes:
        raise _ambiguous_commune(text, [data.communes[c] for c in codes], in_province)
    elsewhere = data.all_communes.find(key)
    if in_province is not None and len(elsewhere) == 1:
        return _in_province(data.communes[elsewhere.pop()], in_province, text)
    raise _unknown_commune(text, index.close(key), in_province)


def _in_province(unit: Commune, in_province: Province | None, text: str) -> Commune:
    if in_province is None or unit.province_code == in_province.code:
        return unit
    actual = units().provinces[unit.province_code]
    raise PlaceError(
        "commune",
        f"«{_shown(text)}» ({unit.name}) thuộc {actual.name}, không thuộc {in_province.name}.",
        f"«{_shown(text)}» ({unit.name}) is in {actual.name}, not in {in_province.name}.",
        units().commune_names[in_province.code].close(name_key(text, COMMUNE_PREFIXES)),
    )


def _ambiguous_commune(
    text: str, candidates: list[Commune], in_province: Province | None
) -> PlaceError:
    provinces_ = units().provinces
    names = sorted(
        (
            c.name if in_province else f"{c.name} ({provinces_[c.province_code].short_name})"
            for c in candidates
        ),
        key=sort_key,
    )
    hint = ", ".join(names[:MAX_SUGGESTIONS])
    return PlaceError(
        "commune",
        f"Có nhiều xã/phường tên «{_shown(text)}»; hãy ghi rõ: {hint}.",
        f"Several communes are named «{_shown(text)}»; say which: {hint}.",
        names,
    )


def _unknown_commune(text: str, suggestions: list[str], in_province: Province | None) -> PlaceError:
    where_vi = f" ở {in_province.name}" if in_province else ""
    where_en = f" in {in_province.name}" if in_province else ""
    return _not_found(
        "commune",
        f"Không tìm thấy xã/phường «{_shown(text)}»{where_vi}.",
        f"No commune or ward named «{_shown(text)}»{where_en}.",
        suggestions,
    )


def _one(codes: set[str]) -> str:
    # Current and old province names are unique even without diacritics; if a future data
    # update broke that, the first in order still makes resolution deterministic.
    return sorted(codes)[0]


def _shown(text: str) -> str:
    """The input as quoted back: its normalised words, at most 60 characters."""
    return name_key(text, ()).display[:60]
