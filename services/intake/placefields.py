"""The place fields of a report (province, legacy district, commune): codes or names in, codes
kept, and the event's codes and display names out."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo
from pydantic_core import PydanticCustomError

from services.common import geography
from services.common.geography import GEOGRAPHY_VERSION, PlaceError
from services.common.text import Trimmed

PLACE_FIELDS = frozenset({"province", "district", "commune"})


def _place_error(error: PlaceError) -> PydanticCustomError:
    """A PlaceError as a pydantic error: type `place_unknown`, both messages and suggestions."""
    return PydanticCustomError(
        "place_unknown",
        "{message_en}",
        {
            "message_vi": error.message_vi,
            "message_en": error.message_en,
            "suggestions": error.suggestions,
        },
    )


def _province(value: str) -> str | None:
    """The province code that `value` (a code or a name) designates."""
    if geography.is_blank(value):
        return None
    try:
        return geography.resolve_province(value)[0].code
    except PlaceError as exc:
        raise _place_error(exc) from None


def _district(value: str, info: ValidationInfo) -> str | None:
    """A pre-2025 district, kept only when no province is given (it then names the province)."""
    if geography.is_blank(value) or info.data.get("province") is not None:
        return None
    if "province" not in info.data:
        return value  # the province was refused; that error is the one to show
    try:
        geography.resolve_district(value)
    except PlaceError as exc:
        raise _place_error(exc) from None
    return value


def _commune(value: str, info: ValidationInfo) -> str | None:
    """The commune code that `value` designates, in the province given (or its district's)."""
    if geography.is_blank(value):
        return None
    if "province" not in info.data or "district" not in info.data:
        return value  # the province or district was refused; that error is the one to show
    try:
        return geography.resolve_place(
            info.data["province"], value, district=info.data["district"]
        ).commune_code
    except PlaceError as exc:
        raise _place_error(exc) from None


_PLACE_TEXT = StringConstraints(max_length=100)

ProvinceIn = Annotated[
    str,
    _PLACE_TEXT,
    Trimmed,
    AfterValidator(_province),
    Field(
        description="Province or centrally-run city (one of the 34 since 1 July 2025): its code "
        '("01") or its name in any usual form ("Hà Nội", "TP. Hà Nội", "Ha Noi", "HN", '
        '"TP.HCM"); a pre-2025 province or district name is mapped to its new province. '
        "Kept as the code. Codes: GET /api/v1/places/provinces.",
        examples=["01", "TP. Hà Nội"],
    ),
]
DistrictIn = Annotated[
    str,
    _PLACE_TEXT,
    Trimmed,
    AfterValidator(_district),
    Field(
        description="Legacy (districts were abolished on 1 July 2025): a pre-2025 district name, "
        "used only to find the province when `province` is not given.",
    ),
]
CommuneIn = Annotated[
    str,
    _PLACE_TEXT,
    Trimmed,
    AfterValidator(_commune),
    Field(
        description='Commune, ward or special zone of that province: its code ("00070") or its '
        'name ("Phường Hoàn Kiếm", "Hoàn Kiếm"). Kept as the code. '
        "Codes: GET /api/v1/places/provinces/{code}/communes.",
        examples=["00070", "Hoàn Kiếm"],
    ),
]


def event_place(province: str | None, commune: str | None, district: str | None) -> dict[str, Any]:
    """The event's place fields (codes, display names, data version); none without a place."""
    if province is None and commune is None and district is None:
        return {}
    place = geography.resolve_place(province, commune, district=district)
    return {
        "province": place.province_name,
        "province_code": place.province_code,
        "commune": place.commune_name,
        "commune_code": place.commune_code,
        "geography_version": GEOGRAPHY_VERSION,
    }


def address_places(address: str) -> dict[str, str]:
    """The province (last comma-separated part) and commune (the part before it) an address
    names; a part that names no known unit is left out (an address is free text)."""
    parts = [part.strip() for part in address.split(",")[-2:]]
    places: dict[str, str] = {}
    try:
        found, _ = geography.resolve_province(parts[-1])
    except PlaceError:
        return places
    places["province"] = parts[-1]
    if len(parts) == 2:
        try:
            geography.resolve_commune(parts[0], found)
            places["commune"] = parts[0]
        except PlaceError:
            pass
    return places
