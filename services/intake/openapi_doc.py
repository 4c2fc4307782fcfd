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
    "schema": {"type": "string", "maxLength": 200},
}

OPERATIONS = [
    Operation(
        "POST",
        "/api/v1/reports",
        "Submit a report; answered only once it is stored",
        {
            201: ("Stored; keep the tracking code", ReportCreated),
            400: ("Malformed body, not UTF-8, or bad Idempotency-Key", None),
            409: ("Idempotency-Key reused with a different body", None),
            413: ("Body larger than the limit", None),
            415: ("Content-Type is not application/json", None),
            422: ("Invalid fields, each named", None),
            429: ("Too many requests; see Retry-After", None),
        },
        request=ReportIn,
        parameters=[IDEMPOTENCY_PARAM],
        tags=("reports",),
    ),
    Operation(
        "GET",
        "/api/v1/reports/{tracking_code}",
        "The reporter-visible status of a report",
        {200: ("The status", ReportStatus), 404: ("Unknown tracking code", None)},
        parameters=[TRACKING_CODE_PARAM],
        tags=("reports",),
    ),
    Operation(
        "GET",
        "/api/v1/categories",
        "The report categories with labels in Vietnamese and English",
        {200: ("The categories", CategoryList)},
        tags=("reports",),
    ),
]


def openapi_document() -> dict[str, Any]:
    """The document served at /api/v1/openapi.json."""
    return build_openapi("Incident intake API", "1.0.0", OPERATIONS, error_model=ErrorResponse)


def add_openapi_route(app: web.Application) -> None:
    """Serve the document (built once)."""
    document = openapi_document()

    async def serve(_: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/api/v1/openapi.json", serve)
