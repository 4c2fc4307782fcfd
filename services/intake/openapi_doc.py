"""Intake's OpenAPI 3.1 document, generated from its pydantic models."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.common.http import ErrorResponse
from services.common.openapi import Operation, build_openapi
from services.intake.models import CategoryList, ReportCreated, ReportIn, ReportStatus

TRACKING_CODE_PARAM = {
    "name": "tracking_code",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$"},
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


EMAIL = {
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
# What ReportIn's validators check beyond its field types (see services.intake.models).
REPORT_RULES: dict[str, Any] = {
    "properties": {
        "description": {
            "type": "string",
            "maxLength": 5000,
            # 10 characters at least once surrounding whitespace is stripped.
            "pattern": "\\S[\\s\\S]{8,}\\S",
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
    "else": {"properties": {"contact": {"type": "null"}}},
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
                (413, ("Body larger than the limit", None)),
                (415, ("Content-Type is not application/json", None)),
                (422, ("Invalid fields, each named", None)),
                RATE_LIMITED,
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
        "GET",
        "/api/v1/categories",
        "The report categories with labels in Vietnamese and English",
        {200: ("The categories", CategoryList)},
        "listCategories",
        tags=("reports",),
    ),
]


def openapi_document() -> dict[str, Any]:
    """The document served at /api/v1/openapi.json."""
    return build_openapi(
        "Incident intake API",
        "1.0.0",
        OPERATIONS,
        error_model=ErrorResponse,
        rules={"ReportIn": REPORT_RULES, "ContactIn": {"properties": {"email": EMAIL}}},
    )


def add_openapi_route(app: web.Application) -> None:
    """Serve the document (built once)."""
    document = openapi_document()

    async def serve(_: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/api/v1/openapi.json", serve)
