"""Intake's OpenAPI 3.1 document, generated from its pydantic models."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.common import geography
from services.common.contracts import Category
from services.common.http import ErrorResponse
from services.common.openapi import Operation, build_openapi
from services.intake.evidence_doc import EVIDENCE_OPERATION, add_evidence_media
from services.intake.models import (
    MAX_URLS,
    AppealAccepted,
    AppealIn,
    CategoryList,
    ContactErased,
    ContactErasureIn,
    ReportCreated,
    ReportIn,
    ReportStatus,
)
from services.intake.open311_form import (
    LATITUDE,
    LONGITUDE,
    MAX_NAME_PART_LENGTH,
    MAX_PLACE_LENGTH,
    REQUEST_ID,
    REQUEST_IDS,
    SINGLE_FIELDS,
)
from services.intake.open311_models import (
    CONTENT_URL_LIST,
    CONTENT_URLS,
    PLATFORM_CODES,
    REPORTER_KIND_CODES,
    Discovery,
    ErrorList,
    RequestCreatedList,
    ServiceDefinition,
    ServiceList,
    ServiceRequestList,
)
from services.intake.places import CommuneList, ProvinceList
from services.intake.urlfields import LINK_SCHEMA

TRACKING_CODE_PARAM = {
    "name": "tracking_code",
    "in": "path",
    "required": True,
    "description": "As printed (`K7QX-3MPA-WZ9D`), or in any case, with spaces or without dashes.",
    "schema": {"type": "string", "maxLength": 64, "examples": ["K7QX-3MPA-WZ9D", "k7qx 3mpa wz9d"]},
}
IDEMPOTENCY_PARAM = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retry-safe submission: the same key and body return the first report.",
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"},
}
TEXT = {"type": "string"}
# Names the e-mail validator refuses however well-formed the address (RFC 6761 and friends).
SPECIAL_USE_DOMAINS = ("arpa", "invalid", "local", "localhost", "onion", "test")


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" for c in word)


EMAIL: dict[str, Any] = {
    "anyOf": [
        {
            "type": "string",
            "format": "email",
            "not": {"pattern": f"[.@]({'|'.join(map(_any_case, SPECIAL_USE_DOMAINS))})\\.?$"},
            "description": "Not at a special-use domain (.test, .local, .invalid, ...).",
        },
        {"type": "null"},
    ]
}
# What pydantic strips from text before checking it (Unicode's White_Space), and the rest.
SPACE = "[\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
SOLID = "[^" + SPACE[1:]
# A Vietnamese mobile number as people write it (+84/84/0, spaces, dots or dashes between digits),
# each of which libphonenumber holds valid. ContactIn also takes landlines (024 3825 1234) and
# international numbers with +: everything libphonenumber holds valid (services.common.phones).
PHONE = (
    f"^{SPACE}*(\\+84|84|0)[ .-]?(3[0-9]|5[1689]|7[06-9]|8[1-8]|9[0-8])([ .-]?[0-9]){{7}}{SPACE}*$"
)


NO_CONTACT = {
    "type": "object",
    "properties": {
        "name": {"anyOf": [{"type": "null"}, {"type": "string", "pattern": f"^{SPACE}*$"}]},
        "phone": {"type": "null"},
        "email": {"type": "null"},
    },
}
# What ReportIn's validators check beyond its field types (see services.intake.models).
REPORT_RULES: dict[str, Any] = {
    "properties": {
        "description": {
            "type": "string",
            "maxLength": 5000,
            # 10 characters at least once surrounding whitespace is stripped.
            "pattern": f"{SOLID}[\\s\\S]{{8,}}{SOLID}",
        },
        "seen_at": {
            "anyOf": [
                {
                    "type": "string",
                    "format": "date-time",
                    "pattern": "^(199[0-9]|2[0-9]{3})-",
                    "description": "With a zone; from 1990 on and not in the future.",
                },
                {"type": "null"},
            ]
        },
    },
    # A report that is not anonymous needs a phone or an e-mail; an anonymous one no contact.
    "if": {"properties": {"anonymous": {"const": False}}},
    "then": {
        "required": ["contact"],
        "properties": {
            "contact": {
                "anyOf": [
                    {"type": "object", "required": ["phone"], "properties": {"phone": TEXT}},
                    {"type": "object", "required": ["email"], "properties": {"email": TEXT}},
                ]
            }
        },
    },
    # Anonymous: no contact, or one whose fields are all empty (a name of only spaces).
    "else": {"properties": {"contact": {"anyOf": [{"type": "null"}, NO_CONTACT]}}},
}
# The phone as ContactIn checks it: after stripping (a bare pattern would refuse " 50(2)").
CONTACT_RULES: dict[str, Any] = {
    "properties": {
        "email": EMAIL,
        "phone": {"anyOf": [{"type": "string", "pattern": PHONE}, {"type": "null"}]},
    }
}
CREATED_LINKS = {
    201: {
        "GetReportStatus": {
            "operationId": "getReportStatus",
            "parameters": {"tracking_code": "$response.body#/tracking_code"},
            "description": "The status of the report just submitted.",
        }
    }
}
DATABASE_DOWN = (503, ("Database unavailable; see Retry-After", None))
RATE_LIMITED = (429, ("Too many requests; see Retry-After", None))

OPERATIONS = [
    Operation(
        "POST",
        "/api/v1/reports",
        "Submit a report; answered only once it is stored",
        dict(
            [
                (201, ("Stored; keep the tracking code", ReportCreated)),
                (400, ("Malformed body, not UTF-8, or bad Idempotency-Key", None)),
                (409, ("Idempotency-Key reused with a different body", None)),
                (413, ("Body, the report part or a file larger than the limit", None)),
                (415, ("Neither JSON nor multipart, or a file not JPEG/PNG/WebP/PDF", None)),
                (422, ("Invalid fields or files (too many, damaged), each named", None)),
                (
                    429,
                    (
                        "Too many requests, or this content reported too often now; Retry-After",
                        None,
                    ),
                ),
                DATABASE_DOWN,
            ]
        ),
        "createReport",
        request=ReportIn,
        parameters=[IDEMPOTENCY_PARAM],
        tags=("reports",),
        links=CREATED_LINKS,
    ),
    Operation(
        "GET",
        "/api/v1/reports/{tracking_code}",
        "The reporter-visible status of a report",
        dict(
            [
                (200, ("The status", ReportStatus)),
                (404, ("Unknown tracking code", None)),
                RATE_LIMITED,
                DATABASE_DOWN,
            ]
        ),
        "getReportStatus",
        parameters=[TRACKING_CODE_PARAM],
        tags=("reports",),
    ),
    Operation(
        "POST",
        "/api/v1/reports/{tracking_code}/appeal",
        "Appeal the decision on the report's case: once per report, within `appeal_until`",
        dict(
            [
                (201, ("Appeal stored; the case will be reviewed by someone else", AppealAccepted)),
                (400, ("Malformed body", None)),
                (404, ("Unknown tracking code", None)),
                (409, ("No decision yet, appealed before, or not appealable", None)),
                (410, ("The appeal window has passed", None)),
                (415, ("Not JSON", None)),
                (422, ("The reason is empty or longer than 2000 characters", None)),
                RATE_LIMITED,
                DATABASE_DOWN,
            ]
        ),
        "appealReport",
        request=AppealIn,
        parameters=[TRACKING_CODE_PARAM],
        tags=("reports",),
    ),
    Operation(
        "POST",
        "/api/v1/reports/{tracking_code}/erase-contact",
        "Erase the contact (name, phone, e-mail) the reporter left with the report; cannot be "
        "undone. The report stays and is still handled; the agency's copy is erased too",
        dict(
            [
                (200, ("Erased; the status now says when", ContactErased)),
                (400, ("Malformed body", None)),
                (404, ("Unknown tracking code", None)),
                (409, ("Erased before, or the report was sent without contact", None)),
                (415, ("Not JSON", None)),
                (422, ("`confirm` is not true", None)),
                RATE_LIMITED,
                DATABASE_DOWN,
            ]
        ),
        "eraseReportContact",
        request=ContactErasureIn,
        parameters=[TRACKING_CODE_PARAM],
        tags=("reports",),
    ),
    Operation(
        "GET",
        "/api/v1/categories",
        "The report categories with labels in Vietnamese and English",
        {200: ("The categories", CategoryList)},
        "listCategories",
        tags=("reports",),
    ),
]

PROVINCE_CODE_PARAM = {
    "name": "code",
    "in": "path",
    "required": True,
    "description": "A province code, as listed by /api/v1/places/provinces.",
    "schema": {"type": "string", "enum": sorted(p.code for p in geography.provinces())},
}
IF_NONE_MATCH_PARAM = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "The ETag of a copy held: 304 while the geography data are unchanged.",
    "schema": {"type": "string"},
}
NOT_MODIFIED = (304, ("The copy held (its ETag) is current", None))
PLACES_OPERATIONS = [
    Operation(
        "GET",
        "/api/v1/places/provinces",
        "The 34 provinces and centrally-run cities with their codes (cacheable for a day)",
        {200: ("The provinces", ProvinceList), 304: NOT_MODIFIED[1]},
        "listProvinces",
        parameters=[IF_NONE_MATCH_PARAM],
        tags=("places",),
    ),
    Operation(
        "GET",
        "/api/v1/places/provinces/{code}/communes",
        "A province's communes, wards and special zones with their codes (cacheable for a day)",
        {
            200: ("The communes", CommuneList),
            304: NOT_MODIFIED[1],
            404: ("Unknown province code", None),
        },
        "listCommunes",
        parameters=[PROVINCE_CODE_PARAM, IF_NONE_MATCH_PARAM],
        tags=("places",),
    ),
]

OPEN311 = "/open311"
# Open311 GeoReport v2 (see services.intake.open311): an empty optional parameter counts as
# one not sent, so every optional form field also takes "".
NOT_SENT = {"type": "string", "const": ""}


def _optional(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [NOT_SENT, schema]}


# The Open311 link fields take what ReportIn's link fields take (services.intake.urlfields).
WEB_URL = LINK_SCHEMA


def _url_list(max_items: int = MAX_URLS, min_items: int = 0) -> dict[str, Any]:
    """The repeated URL field, whole in every subschema (generators need its items there)."""
    return {"type": "array", "items": WEB_URL, "minItems": min_items, "maxItems": max_items}


GIVEN_URL = {"required": [CONTENT_URLS], "properties": {CONTENT_URLS: {"minLength": 1}}}
NAME_PART = {"type": "string", "maxLength": MAX_NAME_PART_LENGTH}
PLACE = {"type": "string", "maxLength": MAX_PLACE_LENGTH}
# The last two comma-separated parts of an address are the commune and the province.
ADDRESS = f"^(([\\s\\S]*,)?[^,]{{0,{MAX_PLACE_LENGTH}}},)?[^,]{{0,{MAX_PLACE_LENGTH}}}$"
SERVICE_REQUEST_FIELDS: dict[str, Any] = {
    "service_code": {"type": "string", "enum": [c.value for c in Category]},
    "description": {
        "type": "string",
        "maxLength": 5000,
        "pattern": f"{SOLID}[\\s\\S]{{8,}}{SOLID}",
    },
    "lat": _optional({"type": "string", "pattern": LATITUDE}),
    "long": _optional({"type": "string", "pattern": LONGITUDE}),
    "address_string": {"type": "string", "pattern": ADDRESS},
    "email": _optional(EMAIL["anyOf"][0]),
    "phone": _optional({"type": "string", "pattern": PHONE}),
    "first_name": NAME_PART,
    "last_name": NAME_PART,
    "media_url": _optional(WEB_URL),
    CONTENT_URLS: _optional(WEB_URL),
    CONTENT_URL_LIST: _url_list(max_items=MAX_URLS),
    "attribute[platform]": {"type": "string", "enum": list(PLATFORM_CODES)},
    "attribute[seen_at]": _optional(REPORT_RULES["properties"]["seen_at"]["anyOf"][0]),
    "attribute[province]": PLACE,
    "attribute[district]": PLACE,
    "attribute[commune]": PLACE,
    "attribute[reporter_kind]": {"type": "string", "enum": ["", *REPORTER_KIND_CODES]},
    "attribute[language]": {"type": "string", "enum": ["", "vi", "en"]},
}
SERVICE_REQUEST_FORM: dict[str, Any] = {
    "type": "object",
    "description": (
        "As GeoReport v2 clients send it. api_key, jurisdiction_id, lat, long, address_id, "
        "account_id and device_id are taken but not stored; the report is anonymous unless "
        "a name, phone or e-mail is given, and then needs a phone or an e-mail."
    ),
    "additionalProperties": False,
    "required": ["service_code", "description", "attribute[platform]"],
    "properties": {name: {"type": "string"} for name in SINGLE_FIELDS} | SERVICE_REQUEST_FIELDS,
    "allOf": [
        # An empty list is sent as nothing at all: either form of the URLs counts once given.
        {
            "anyOf": [
                GIVEN_URL,
                {
                    "required": [CONTENT_URL_LIST],
                    "properties": {CONTENT_URL_LIST: _url_list(min_items=1)},
                },
            ]
        },
        {"if": GIVEN_URL, "then": {"properties": {CONTENT_URL_LIST: _url_list(MAX_URLS - 1)}}},
        {
            "anyOf": [
                {"properties": {"first_name": {"maxLength": 0}, "last_name": {"maxLength": 0}}},
                {"required": ["email"], "properties": {"email": {"minLength": 1}}},
                {"required": ["phone"], "properties": {"phone": {"minLength": 1}}},
            ]
        },
    ],
}
LANG_PARAM = {
    "name": "lang",
    "in": "query",
    "required": False,
    "description": "Language of names, notes and error descriptions (Vietnamese by default).",
    "schema": {"type": "string", "enum": ["", "vi", "en"]},
}
JURISDICTION_PARAM = {
    "name": "jurisdiction_id",
    "in": "query",
    "required": False,
    "description": "Taken and not checked: one jurisdiction is served.",
    "schema": {"type": "string"},
}
SERVICE_CODE_PARAM = {
    "name": "service_code",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "enum": [c.value for c in Category]},
}
REQUEST_ID_PARAM = {
    "name": "service_request_id",
    "in": "path",
    "required": True,
    "description": "The report's tracking code (any letter case).",
    "schema": {"type": "string", "pattern": f"^{REQUEST_ID}$"},
}
REQUEST_IDS_PARAM = {
    "name": "service_request_id",
    "in": "query",
    "required": True,
    "description": "Up to 50 comma-delimited ids; requests are never listed without them.",
    "schema": {"type": "string", "pattern": REQUEST_IDS},
}
OPEN311_BAD = (400, ("Invalid parameters, each named", ErrorList))
OPEN311_LIMITED = (429, ("Too many requests; see Retry-After", ErrorList))
OPEN311_DOWN = (503, ("Database unavailable; see Retry-After", ErrorList))


def _open311_operations(fmt: str) -> list[Operation]:
    """The GeoReport v2 routes answering in `fmt` (json or xml)."""
    suffix = fmt.capitalize()
    common = [LANG_PARAM, JURISDICTION_PARAM]
    created_links = {
        201: {
            "GetServiceRequest": {
                "operationId": "open311GetRequestJson",
                "parameters": {"service_request_id": "$response.body#/0/service_request_id"},
                "description": "The service request just created.",
            }
        }
    }
    return [
        Operation(
            "GET",
            f"{OPEN311}/discovery.{fmt}",
            "Open311 discovery: the GeoReport v2 endpoint and its formats",
            {200: ("The discovery document", Discovery)},
            f"open311Discovery{suffix}",
            tags=("open311",),
        ),
        Operation(
            "GET",
            f"{OPEN311}/v2/services.{fmt}",
            "GeoReport v2 service list: the report categories",
            dict([(200, ("The services", ServiceList)), OPEN311_BAD]),
            f"open311ListServices{suffix}",
            parameters=common,
            tags=("open311",),
        ),
        Operation(
            "GET",
            f"{OPEN311}/v2/services/{{service_code}}.{fmt}",
            "GeoReport v2 service definition: the attributes a request carries",
            dict(
                [
                    (200, ("The service definition", ServiceDefinition)),
                    OPEN311_BAD,
                    (404, ("Unknown service_code", ErrorList)),
                ]
            ),
            f"open311GetService{suffix}",
            parameters=[SERVICE_CODE_PARAM, *common],
            tags=("open311",),
        ),
        Operation(
            "POST",
            f"{OPEN311}/v2/requests.{fmt}",
            "GeoReport v2: create a service request (a report), stored as POST /api/v1/reports",
            dict(
                [
                    (201, ("Stored; service_request_id is the tracking code", RequestCreatedList)),
                    OPEN311_BAD,
                    (404, ("Unknown service_code", ErrorList)),
                    (409, ("Idempotency-Key reused with a different request", ErrorList)),
                    (413, ("Body larger than the limit", ErrorList)),
                    (415, ("Not application/x-www-form-urlencoded", ErrorList)),
                    OPEN311_LIMITED,
                    OPEN311_DOWN,
                ]
            ),
            f"open311CreateRequest{suffix}",
            parameters=[IDEMPOTENCY_PARAM, LANG_PARAM],
            tags=("open311",),
            links=created_links if fmt == "json" else {},
        ),
        Operation(
            "GET",
            f"{OPEN311}/v2/requests.{fmt}",
            "GeoReport v2: the service requests named by their ids",
            dict(
                [
                    (200, ("The requests found", ServiceRequestList)),
                    OPEN311_BAD,
                    OPEN311_LIMITED,
                    OPEN311_DOWN,
                ]
            ),
            f"open311ListRequests{suffix}",
            parameters=[REQUEST_IDS_PARAM, *common],
            tags=("open311",),
        ),
        Operation(
            "GET",
            f"{OPEN311}/v2/requests/{{service_request_id}}.{fmt}",
            "GeoReport v2: one service request",
            dict(
                [
                    (200, ("The request", ServiceRequestList)),
                    OPEN311_BAD,
                    (404, ("No request with this id", ErrorList)),
                    OPEN311_LIMITED,
                    OPEN311_DOWN,
                ]
            ),
            f"open311GetRequest{suffix}",
            parameters=[REQUEST_ID_PARAM, *common],
            tags=("open311",),
        ),
    ]


OPEN311_OPERATIONS = _open311_operations("json") + _open311_operations("xml")


def _open311_media(document: dict[str, Any]) -> dict[str, Any]:
    """Open311 routes as they really answer: the form body, and on the .xml routes every
    answer but the service-wide JSON 500 in text/xml."""
    for path, item in document["paths"].items():
        if not path.startswith(OPEN311 + "/"):
            continue
        for operation in item.values():
            if operation["operationId"].startswith("open311CreateRequest"):
                form = {"schema": SERVICE_REQUEST_FORM}
                content = {"application/x-www-form-urlencoded": form}
                operation["requestBody"] = {"required": True, "content": content}
            if not path.endswith(".xml"):
                continue
            for status, response in operation["responses"].items():
                if status != "500" and "content" in response:
                    response["content"] = {"text/xml": {"schema": {"type": "string"}}}
    return document


def openapi_document() -> dict[str, Any]:
    """The document served at /api/v1/openapi.json."""
    document = build_openapi(
        "Incident intake API",
        "1.0.0",
        OPERATIONS + PLACES_OPERATIONS + OPEN311_OPERATIONS + [EVIDENCE_OPERATION],
        error_model=ErrorResponse,
        rules={"ReportIn": REPORT_RULES, "ContactIn": CONTACT_RULES},
    )
    return add_evidence_media(_open311_media(document))


def add_openapi_route(app: web.Application) -> None:
    """Serve the document (built once)."""
    document = openapi_document()

    async def serve(_: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/api/v1/openapi.json", serve)
