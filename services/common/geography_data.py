"""The administrative units of 1 July 2025 as read from the package `vietnam-provinces`, and the
name indexes that place resolution (services.common.geography) searches."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from functools import cache

import vietnam_provinces

from services.common.geography_legacy import OLD_DISTRICTS, OLD_PROVINCE_CODES, OLD_PROVINCES
from services.common.placenames import (
    COMMUNE_PREFIXES,
    DISTRICT_PREFIXES,
    PROVINCE_PREFIXES,
    PROVINCE_SUFFIXES,
    NameKey,
    name_key,
    sort_key,
)

MAX_SUGGESTIONS = 5

# Common ways of writing a province that its name alone does not give (compact bare keys).
PROVINCE_ALIASES: dict[str, str] = {
    "hn": "01",
    "hanoicity": "01",
    "thudo": "01",
    "hcm": "79",
    "hcmc": "79",
    "tphcm": "79",
    "tphochiminh": "79",
    "hochiminhcity": "79",
    "saigon": "79",
    "tpsaigon": "79",
    "sg": "79",
    "hp": "31",
    "danangcity": "48",
    "tth": "46",
}
# Old names (and their common short forms) that are not the key of OLD_PROVINCES.
OLD_PROVINCE_ALIASES: dict[str, str] = {
    "brvt": "Bà Rịa - Vũng Tàu",
    "vungtau": "Bà Rịa - Vũng Tàu",
    "baria": "Bà Rịa - Vũng Tàu",
    "thuathienhue": "Thừa Thiên Huế",
}


@dataclass(frozen=True)
class Province:
    """A province or centrally-run city."""

    code: str
    name: str
    short_name: str


@dataclass(frozen=True)
class Commune:
    """A commune, ward or special zone, in one province."""

    code: str
    name: str
    short_name: str
    province_code: str


@dataclass
class NameIndex:
    """Names -> codes, by exact accented key first, then by the bare compact key."""

    accented: dict[str, set[str]] = field(default_factory=dict)
    compact: dict[str, set[str]] = field(default_factory=dict)
    display: dict[str, str] = field(default_factory=dict)

    def add(self, key: NameKey, code: str, display: str) -> None:
        """Index `code` under both forms of `key`."""
        self.accented.setdefault(key.accented, set()).add(code)
        self.compact.setdefault(key.compact, set()).add(code)
        self.display.setdefault(key.compact, display)

    def find(self, key: NameKey) -> set[str]:
        """The codes a key names (empty when none)."""
        return set(self.accented.get(key.accented) or self.compact.get(key.compact) or ())

    def close(self, key: NameKey) -> list[str]:
        """Display names of the closest keys, best first."""
        keys = difflib.get_close_matches(key.compact, self.display, MAX_SUGGESTIONS, 0.6)
        return list(dict.fromkeys(self.display[k] for k in keys))


@dataclass
class Units:
    """Every unit by code, each province's communes in order, and the name indexes."""

    provinces: dict[str, Province]
    communes: dict[str, Commune]
    by_province: dict[str, list[Commune]]
    province_names: NameIndex
    old_names: NameIndex
    districts: NameIndex
    commune_names: dict[str, NameIndex]
    all_communes: NameIndex


@cache
def units() -> Units:
    """The units of the installed package, read once."""
    raw = json.loads(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8"))
    provinces = {p.code: p for p in map(_province, raw)}
    communes = {c.code: c for p in raw for c in _communes(p)}
    by_province: dict[str, list[Commune]] = {code: [] for code in provinces}
    for c in sorted(communes.values(), key=lambda c: sort_key(c.short_name)):
        by_province[c.province_code].append(c)
    return Units(
        provinces,
        communes,
        by_province,
        _province_index(provinces),
        _old_province_index(),
        _district_index(),
        {code: _commune_index(listed) for code, listed in by_province.items()},
        _commune_index(list(communes.values())),
    )


def _province(raw: dict[str, object]) -> Province:
    name = str(raw["name"])
    short = name.removeprefix("Thành phố ")
    return Province(f"{raw['code']:02d}", name, short)


def _communes(raw: dict[str, object]) -> list[Commune]:
    wards = raw["wards"]
    assert isinstance(wards, list)
    return [
        Commune(f"{w['code']:05d}", w["name"], _short(w["name"]), f"{raw['code']:02d}")
        for w in wards
    ]


def _short(name: str) -> str:
    for prefix in ("Xã ", "Phường ", "Đặc khu "):
        if name.startswith(prefix):
            return name.removeprefix(prefix)
    return name


def _province_index(provinces: dict[str, Province]) -> NameIndex:
    index = NameIndex()
    for p in provinces.values():
        index.add(name_key(p.name, PROVINCE_PREFIXES, PROVINCE_SUFFIXES), p.code, p.short_name)
    for alias, code in PROVINCE_ALIASES.items():
        index.compact.setdefault(alias, set()).add(code)
    return index


def _old_province_index() -> NameIndex:
    index = NameIndex()
    for old in OLD_PROVINCES:
        index.add(name_key(old, PROVINCE_PREFIXES, PROVINCE_SUFFIXES), old, old)
    for alias, old in OLD_PROVINCE_ALIASES.items():
        index.compact.setdefault(alias, set()).add(old)
    return index


def _district_index() -> NameIndex:
    index = NameIndex()
    for old_code, names in OLD_DISTRICTS.items():
        old_province = OLD_PROVINCE_CODES[old_code]
        for name in names:
            index.add(name_key(name, DISTRICT_PREFIXES), f"{name}|{old_province}", name)
    return index


def _commune_index(communes: list[Commune]) -> NameIndex:
    index = NameIndex()
    for c in communes:
        index.add(name_key(c.name, COMMUNE_PREFIXES), c.code, c.name)
    return index
