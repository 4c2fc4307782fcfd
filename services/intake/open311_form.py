"""An Open311 service request form as an intake report body, and intake's field errors named
by the Open311 parameter they came from. Pure functions: no HTTP, no database."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from multidict import MultiDictProxy
from pydantic import ValidationError

from services.common.contracts import Category
from services.common.labels import Language
from services.intake.open311_models import ATTRIBUTE_CODES, CONTENT_URL_LIST, CONTENT_URLS
from services.intake.placefields import address_places
from services.intake.texts import error_message

# Parameters FixMyStreet and other GeoReport v2 clients send, each at most once. Those intake
# has no place for (location, account and device ids, the jurisdiction, the API key) are
# checked where they have a form and otherwise left unused; none is stored.
SINGLE_FIELDS = (
    "api_key",
    "jurisdiction_id",
    "service_code",
    "description",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "media_url",
    "account_id",
    "device_id",
    *(f"attribute[{code}]" for code in ATTRIBUTE_CODES),
)
KNOWN_FIELDS = frozenset((*SINGLE_FIELDS, CONTENT_URL_LIST))
PLACE_CODES = ("province", "district", "commune")
# Patterns shared with the OpenAPI document and applied with Python's `re.match`, exactly as
# the document's readers apply them, so the document and the checks agree on every value.
LATITUDE = r"^[+-]?(90(\.0+)?|[0-8]?[0-9](\.[0-9]+)?)$"
LONGITUDE = r"^[+-]?(180(\.0+)?|(1[0-7][0-9]|[0-9]?[0-9])(\.[0-9]+)?)$"
REQUEST_ID = "[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}"
MAX_REQUEST_IDS = 50
REQUEST_IDS = f"^ *{REQUEST_ID} *(, *{REQUEST_ID} *){{0,{MAX_REQUEST_IDS - 1}}}$"
MAX_PLACE_LENGTH = 100
MAX_NAME_PART_LENGTH = 99
SHOWN_NAME_LENGTH = 60

MESSAGES: dict[str, dict[Language, str]] = {
    "unknown_field": {
        "vi": "Tham số không được hỗ trợ.",
        "en": "Not a parameter this service takes.",
    },
    "repeated_field": {
        "vi": "Tham số được gửi nhiều lần; chỉ gửi một giá trị.",
        "en": "Sent more than once; send one value.",
    },
    "file": {
        "vi": "Không nhận tệp đính kèm; hãy gửi đường dẫn qua media_url.",
        "en": "Files are not accepted; send a link as media_url.",
    },
    "missing": {"vi": "Vui lòng điền mục này.", "en": "This field is required."},
    "unknown_service": {
        "vi": "Không có dịch vụ với mã này (xem services.json).",
        "en": "No service with this code (see services.json).",
    },
    "latitude": {
        "vi": "Vĩ độ phải là số thập phân từ -90 đến 90.",
        "en": "Latitude must be a decimal number from -90 to 90.",
    },
    "longitude": {
        "vi": "Kinh độ phải là số thập phân từ -180 đến 180.",
        "en": "Longitude must be a decimal number from -180 to 180.",
    },
    "place_too_long": {
        "vi": "Tên tỉnh/thành phố, xã/phường và quận/huyện tối đa 100 ký tự mỗi phần.",
        "en": "Province, commune and district names are at most 100 characters each.",
    },
    "name_too_long": {"vi": "Quá dài: tối đa 99 ký tự.", "en": "Too long: at most 99 characters."},
    "content_type": {
        "vi": "Hãy gửi biểu mẫu dạng application/x-www-form-urlencoded.",
        "en": "Send the form as application/x-www-form-urlencoded.",
    },
    "idempotency_key": {
        "vi": "Gồm 1 đến 200 ký tự ASCII nhìn thấy được.",
        "en": "1 to 200 visible ASCII characters.",
    },
    "idempotency_conflict": {
        "vi": "Khóa này đã được dùng cho một yêu cầu khác.",
        "en": "This key was used with a different request.",
    },
    "unknown_request": {
        "vi": "Không có yêu cầu nào với mã này.",
        "en": "No request with this id.",
    },
    "request_ids": {
        "vi": "Cần gửi một lần, gồm tối đa 50 mã cách nhau bằng dấu phẩy "
        "(không liệt kê yêu cầu khi không có mã).",
        "en": "Required, once: up to 50 comma-delimited ids (requests are not listed without ids).",
    },
}


class Open311Refusal(Exception):
    """A request refused before intake's validation: its status and (parameter, message) pairs."""

    def __init__(self, status: int, errors: list[tuple[str, str]]) -> None:
        super().__init__(errors)
        self.status = status
        self.errors = errors


@dataclass
class MappedRequest:
    """A service request read as a report body, with the parameter behind each report field."""

    data: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)
    account_id: str | None = None


def message(kind: str, lang: Language) -> str:
    """One of the refusal messages in `lang`."""
    return MESSAGES[kind][lang]


def shown_name(name: str) -> str:
    """A parameter name as echoed in an error: bounded in length."""
    return name if len(name) <= SHOWN_NAME_LENGTH else name[:SHOWN_NAME_LENGTH] + "…"


def check_fields(form: MultiDictProxy[Any], lang: Language) -> None:
    """Refuse unknown parameters, files and repeated single-valued parameters (400)."""
    unknown = [shown_name(name) for name in form if name not in KNOWN_FIELDS]
    errors = [(name, message("unknown_field", lang)) for name in unknown]
    errors += [(n, message("file", lang)) for n, v in form.items() if not isinstance(v, str)]
    errors += [
        (name, message("repeated_field", lang))
        for name in SINGLE_FIELDS
        if len(form.getall(name, [])) > 1
    ]
    if errors:
        raise Open311Refusal(400, list(dict.fromkeys(errors)))


def _given(form: MultiDictProxy[Any], name: str) -> str | None:
    """The parameter's value; an empty one counts as not sent (the spec's optional arguments)."""
    value = form.get(name)
    return value if isinstance(value, str) and value != "" else None


def service_category(form: MultiDictProxy[Any], lang: Language) -> Category:
    """The report category named by `service_code`: 400 when missing, 404 when unknown."""
    code = _given(form, "service_code")
    if code is None:
        raise Open311Refusal(400, [("service_code", message("missing", lang))])
    try:
        return Category(code)
    except ValueError:
        raise Open311Refusal(404, [("service_code", message("unknown_service", lang))]) from None


def map_form(form: MultiDictProxy[Any], lang: Language) -> MappedRequest:
    """The report body a checked form stands for; raises Open311Refusal for what intake's
    validation cannot name (the service, location, place and name lengths)."""
    check_fields(form, lang)
    mapped = MappedRequest(data={"category": service_category(form, lang).value})
    mapped.sources["category"] = "service_code"
    mapped.account_id = _given(form, "account_id")
    errors = _location_errors(form, lang) + _length_errors(form, lang)
    if errors:
        raise Open311Refusal(400, errors)
    _put(mapped, "description", _given(form, "description"), "description")
    _put(mapped, "content_urls", _content_urls(form), _content_urls_source(form))
    for code in ("platform", "seen_at", "reporter_kind", "language", *PLACE_CODES):
        _put(mapped, code, _given(form, f"attribute[{code}]"), f"attribute[{code}]")
    _put_place(mapped, _given(form, "address_string"))
    if media_url := _given(form, "media_url"):
        _put(mapped, "evidence_links", [media_url], "media_url")
    _put_contact(mapped, form)
    return mapped


def _put(mapped: MappedRequest, name: str, value: Any, source: str) -> None:
    if value is not None:
        mapped.data[name] = value
        mapped.sources[name] = source


def _content_urls(form: MultiDictProxy[Any]) -> list[str] | None:
    single = _given(form, CONTENT_URLS)
    listed = [v for v in form.getall(CONTENT_URL_LIST, []) if isinstance(v, str)]
    urls = ([single] if single else []) + listed
    return urls or None


def _content_urls_source(form: MultiDictProxy[Any]) -> str:
    return CONTENT_URL_LIST if CONTENT_URL_LIST in form else CONTENT_URLS


def _address_places(address: str) -> list[str]:
    """The district and province of an address written most specific first: its last two
    comma-separated parts (the province last)."""
    return address.split(",")[-2:]


def _put_place(mapped: MappedRequest, address: str | None) -> None:
    """Fill province and commune from address_string where no attribute gave a place (the
    parts of the address that name no known unit are left unused)."""
    if address is None or {"province", "district", "commune"} & mapped.data.keys():
        return
    for name, value in address_places(address).items():
        _put(mapped, name, value, "address_string")


def _put_contact(mapped: MappedRequest, form: MultiDictProxy[Any]) -> None:
    """A report with any contact field is not anonymous (and then needs a phone or e-mail)."""
    name = " ".join(n for n in (_given(form, "first_name"), _given(form, "last_name")) if n)
    contact = {
        key: value
        for key, value in (
            ("name", name or None),
            ("phone", _given(form, "phone")),
            ("email", _given(form, "email")),
        )
        if value is not None
    }
    mapped.data["anonymous"] = not contact
    if contact:
        mapped.data["contact"] = contact


def _location_errors(form: MultiDictProxy[Any], lang: Language) -> list[tuple[str, str]]:
    """lat and long are not stored (the reports are about online content) but must make sense."""
    errors = []
    for name, pattern, kind in (("lat", LATITUDE, "latitude"), ("long", LONGITUDE, "longitude")):
        value = _given(form, name)
        if value is not None and not re.match(pattern, value):
            errors.append((name, message(kind, lang)))
    return errors


def _length_errors(form: MultiDictProxy[Any], lang: Language) -> list[tuple[str, str]]:
    """Limits on the text as sent, so that what intake strips never changes the answer."""
    errors = []
    address = _given(form, "address_string")
    if address is not None and any(len(p) > MAX_PLACE_LENGTH for p in _address_places(address)):
        errors.append(("address_string", message("place_too_long", lang)))
    for name in (f"attribute[{code}]" for code in PLACE_CODES):
        if len(_given(form, name) or "") > MAX_PLACE_LENGTH:
            errors.append((name, message("place_too_long", lang)))
    for name in ("first_name", "last_name"):
        if len(_given(form, name) or "") > MAX_NAME_PART_LENGTH:
            errors.append((name, message("name_too_long", lang)))
    return errors


def request_ids(value: str) -> list[str] | None:
    """The tracking codes a comma-delimited `service_request_id` names (upper-cased, each
    once), or None when it is not such a list."""
    if not re.match(REQUEST_IDS, value):
        return None
    codes = [part.strip(" \n").upper() for part in value.split(",")]
    return list(dict.fromkeys(codes))


CONTACT_SOURCES = {"name": "first_name", "phone": "phone", "email": "email"}


def report_errors(
    exc: ValidationError, sources: Mapping[str, str], lang: Language
) -> list[tuple[str, str]]:
    """Intake's validation errors, each under the Open311 parameter it came from."""
    errors = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        text = error_message(dict(error), lang)
        if len(loc) > 1 and isinstance(loc[1], int) and loc[0] == "content_urls":
            text = f"#{loc[1] + 1}: {text}"
        errors.append((_parameter(loc, sources), text))
    return errors


def _parameter(loc: tuple[int | str, ...], sources: Mapping[str, str]) -> str:
    if not loc:
        return "body"
    head = str(loc[0])
    if head == "contact":
        return CONTACT_SOURCES.get(str(loc[1]), "email") if len(loc) > 1 else "email"
    if head in sources:
        return sources[head]
    return f"attribute[{head}]" if head in ATTRIBUTE_CODES else head
