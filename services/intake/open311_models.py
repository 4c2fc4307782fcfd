"""Open311 GeoReport v2 as intake speaks it: the categories as services, their attributes, and
the shapes of every answer (the same models document the routes and build the replies)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, RootModel

from services.common.contracts import Category, Platform, ReporterKind
from services.common.labels import CATEGORIES, Language, category_name
from services.common.mongo import Document
from services.intake.labels import PLATFORMS, REPORTER_KINDS, agency_label, status_label

SPECIFICATION_URL = "http://wiki.open311.org/GeoReport_v2"
CONTENT_URLS = "attribute[content_urls]"
CONTENT_URL_LIST = "attribute[content_urls][]"

# Service groups: accounts and money, what is published, a party member's conduct.
ACCOUNTS: dict[Language, str] = {
    "vi": "Tài khoản, giả mạo và lừa đảo",
    "en": "Accounts, impersonation, fraud",
}
CONTENT: dict[Language, str] = {"vi": "Nội dung vi phạm", "en": "Unlawful content"}
GROUPS: dict[Category, dict[Language, str]] = {
    Category.HIJACKED_ACCOUNT: ACCOUNTS,
    Category.IMPERSONATION: ACCOUNTS,
    Category.SCAM_FRAUD: ACCOUNTS,
    Category.FALSE_INFORMATION: CONTENT,
    Category.HARMFUL_CONTENT: CONTENT,
    Category.CONFIDENTIAL_LEAK: CONTENT,
    Category.MEMBER_MISCONDUCT: {"vi": "Kỷ luật Đảng", "en": "Party discipline"},
}


class Service(BaseModel):
    """One service: a report category."""

    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: Literal["realtime"]
    keywords: str
    group: str


class ServiceList(RootModel[list[Service]]):
    """GET services: every category."""


class AttributeValue(BaseModel):
    """One choice of a list attribute."""

    key: str
    name: str


class Attribute(BaseModel):
    """One field a service request carries as `attribute[code]`."""

    variable: bool
    code: str
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValue] = Field(default_factory=list)


class ServiceDefinition(BaseModel):
    """GET services/{service_code}: the attributes of a service."""

    service_code: str
    attributes: list[Attribute]


class RequestCreated(BaseModel):
    """A stored service request: its id is the report's tracking code."""

    service_request_id: str
    service_notice: str
    account_id: str | None


class RequestCreatedList(RootModel[list[RequestCreated]]):
    """POST requests: the one request created."""


class ServiceRequest(BaseModel):
    """A service request as anyone holding its id may see it: never contact data."""

    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str
    service_name: str
    service_code: str
    agency_responsible: str | None
    requested_datetime: datetime
    updated_datetime: datetime


class ServiceRequestList(RootModel[list[ServiceRequest]]):
    """GET requests: the requests asked for that exist."""


class Error(BaseModel):
    """One error: the HTTP status as code, and a description naming the field."""

    code: int
    description: str


class ErrorList(RootModel[list[Error]]):
    """Every Open311 error answer: an array of errors."""


class Endpoint(BaseModel):
    """One API endpoint in the discovery document."""

    specification: str
    url: str
    changeset: datetime
    type: Literal["production", "test"]
    formats: list[str]


class Discovery(BaseModel):
    """GET discovery: where the GeoReport v2 endpoint is and what it speaks."""

    changeset: datetime
    contact: str
    key_service: str
    endpoints: list[Endpoint]


def service_list(lang: Language) -> ServiceList:
    """The categories as Open311 services."""
    return ServiceList([_service(category, lang) for category in CATEGORIES])


def _service(category: Category, lang: Language) -> Service:
    name, description = CATEGORIES[category][lang]
    other: Language = "en" if lang == "vi" else "vi"
    return Service(
        service_code=category.value,
        service_name=name,
        description=description,
        metadata=True,
        type="realtime",
        keywords=", ".join([category.value, CATEGORIES[category][other][0]]),
        group=GROUPS[category][lang],
    )


def service_definition(category: Category, lang: Language) -> ServiceDefinition:
    """The attributes every service takes (the same for each category)."""
    return ServiceDefinition(
        service_code=category.value,
        attributes=[
            Attribute.model_validate({**fields, "order": order, "variable": True})
            for order, fields in enumerate(_attributes(lang), start=1)
        ],
    )


def _choices(labels: dict[str, str]) -> list[AttributeValue]:
    return [AttributeValue(key=key, name=name) for key, name in labels.items()]


def _attributes(lang: Language) -> list[dict[str, object]]:
    """The attribute definitions in `lang` (see ATTRIBUTE_TEXTS)."""
    values = {
        "platform": _choices({p.value: names[lang] for p, names in PLATFORMS.items()}),
        "reporter_kind": _choices({k.value: names[lang] for k, names in REPORTER_KINDS.items()}),
        "language": _choices({"vi": "Tiếng Việt", "en": "English"}),
    }
    return [
        {
            "code": code,
            "datatype": datatype,
            "required": required,
            "datatype_description": texts[lang][1] or None,
            "description": texts[lang][0],
            "values": values.get(code, []),
        }
        for code, (datatype, required, texts) in ATTRIBUTE_TEXTS.items()
    ]


Texts = dict[Language, tuple[str, str]]
ATTRIBUTE_TEXTS: dict[str, tuple[str, bool, Texts]] = {
    "content_urls": (
        "string",
        True,
        {
            "vi": (
                "Đường dẫn (URL) tới nội dung hoặc tài khoản bị phản ánh",
                "Một đường dẫn http(s), có thể bỏ https:// (facebook.com/ten-trang); gửi nhiều "
                "đường dẫn (tối đa 5) bằng attribute[content_urls][] lặp lại.",
            ),
            "en": (
                "Link (URL) to the content or account reported",
                "One http(s) link, https:// may be left out (facebook.com/name); send several "
                "(at most 5) as repeated attribute[content_urls][].",
            ),
        },
    ),
    "platform": (
        "singlevaluelist",
        True,
        {"vi": ("Nền tảng đăng nội dung", ""), "en": ("Where the content is published", "")},
    ),
    "seen_at": (
        "datetime",
        False,
        {
            "vi": ("Thời điểm phát hiện", "ISO 8601 có múi giờ, ví dụ 2026-11-24T08:30:00+07:00"),
            "en": ("When you saw it", "ISO 8601 with a time zone, e.g. 2026-11-24T08:30:00+07:00"),
        },
    ),
    "province": (
        "string",
        False,
        {
            "vi": (
                "Tỉnh/Thành phố liên quan (mã hoặc tên, 34 tỉnh/thành phố từ 1/7/2025)",
                "Nếu bỏ trống: phần cuối của address_string",
            ),
            "en": (
                "Province or city concerned (code or name, the 34 since 1 July 2025)",
                "When empty: the last part of address_string",
            ),
        },
    ),
    "commune": (
        "string",
        False,
        {
            "vi": (
                "Xã/Phường/Đặc khu liên quan (mã hoặc tên)",
                "Nếu bỏ trống: phần áp cuối của address_string",
            ),
            "en": (
                "Commune, ward or special zone concerned (code or name)",
                "When empty: the part of address_string before the last",
            ),
        },
    ),
    "district": (
        "string",
        False,
        {
            "vi": ("Quận/Huyện cũ (trước 1/7/2025)", "Chỉ dùng để tìm tỉnh khi không có tỉnh"),
            "en": ("Former district (before 1 July 2025)", "Only used to find the province"),
        },
    ),
    "reporter_kind": (
        "singlevaluelist",
        False,
        {"vi": ("Người phản ánh là", "Mặc định: người dân"), "en": ("You are", "Default: citizen")},
    ),
    "language": (
        "singlevaluelist",
        False,
        {
            "vi": ("Ngôn ngữ của phản ánh và thông báo", "Mặc định: tiếng Việt"),
            "en": ("Language of the report and notices", "Default: Vietnamese"),
        },
    ),
}
ATTRIBUTE_CODES = tuple(ATTRIBUTE_TEXTS)
PLATFORM_CODES = tuple(p.value for p in Platform)
REPORTER_KIND_CODES = tuple(k.value for k in ReporterKind)

CLOSED = frozenset({"resolved", "rejected"})
NOTICES: dict[Language, str] = {
    "vi": "Đã tiếp nhận phản ánh. Mã theo dõi: {code}. Xem tình trạng xử lý tại {page}",
    "en": "Report received. Tracking code: {code}. Follow its progress at {page}",
}


def request_created(
    code: str, *, account_id: str | None, lang: Language, status_page: str
) -> RequestCreatedList:
    """The answer to a stored service request."""
    notice = NOTICES[lang].format(code=code, page=status_page)
    return RequestCreatedList(
        [RequestCreated(service_request_id=code, service_notice=notice, account_id=account_id)]
    )


def service_request(document: Document, lang: Language) -> ServiceRequest:
    """A stored report as a service request: status, notes, agency, times; no contact data."""
    status = document["status"]
    category = document["report"]["category"]
    agency = (document.get("case") or {}).get("agency")
    return ServiceRequest(
        service_request_id=document["tracking_code"],
        status="closed" if status in CLOSED else "open",
        status_notes=status_label(status, lang),
        service_name=category_name(category, lang),
        service_code=category,
        agency_responsible=agency_label(agency, lang),
        requested_datetime=document["submitted_at"],
        updated_datetime=document["updated_at"],
    )
