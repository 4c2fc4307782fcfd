"""Notify's OpenAPI 3.1 document: the alert log and its re-send, from its pydantic models."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.common.http import ErrorResponse
from services.common.openapi import Operation, build_openapi
from services.notify.alert_views import (
    ALERT_KINDS,
    DELIVERY_STATUSES,
    MAX_DELIVERIES,
    MAX_LEVEL,
    AlertList,
    ResendAccepted,
)

TEXT: dict[str, Any] = {"type": "string"}
LIST_PARAMS: list[dict[str, Any]] = [
    {"name": "agency", "in": "query", "schema": TEXT},
    {"name": "case_id", "in": "query", "schema": TEXT},
    {"name": "tracking_code", "in": "query", "schema": TEXT},
    {
        "name": "level",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LEVEL},
    },
    {
        "name": "kind",
        "in": "query",
        "description": "escalation, warning (pre-breach), platform_overdue or resolution",
        "schema": {"type": "string", "enum": list(ALERT_KINDS)},
    },
    {
        "name": "status",
        "in": "query",
        "description": "alerts with at least one delivery in this status",
        "schema": {"type": "string", "enum": list(DELIVERY_STATUSES)},
    },
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
    {
        "name": "cursor",
        "in": "query",
        "description": "opaque: the next_cursor of the previous page, unchanged",
        "schema": TEXT,
    },
]
RESEND_PARAMS: list[dict[str, Any]] = [
    {"name": "alert_id", "in": "path", "required": True, "schema": TEXT},
    {
        "name": "n",
        "in": "path",
        "required": True,
        "description": "the delivery's `n` in the alert log (from 1)",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DELIVERIES},
    },
]
OPERATIONS = [
    Operation(
        "GET",
        "/api/v1/alerts",
        "The alert log, newest first: escalations, pre-breach warnings, platforms past their"
        " legal deadline, and what became of each delivery",
        {
            200: ("A page of alerts", AlertList),
            422: ("A bad filter or cursor, each named", None),
            503: ("Database unavailable; see Retry-After", None),
        },
        "listAlerts",
        parameters=LIST_PARAMS,
        secured=True,
        tags=("alerts",),
    ),
    Operation(
        "POST",
        "/api/v1/alerts/{alert_id}/deliveries/{n}/resend",
        "Send one delivery of an alert again: it is queued now, with a fresh give-up time,"
        " and the request (token and time) is kept in the delivery's `resends`",
        {
            202: ("Queued again; the deliverer attempts it at once", ResendAccepted),
            404: ("No such alert, or no delivery `n` in it", None),
            409: (
                "Cannot be re-sent now: already queued, the broker's own delivery, the alert"
                " quarantined, or another of its deliveries being attempted (retry shortly)",
                None,
            ),
            422: ("`n` is not a whole number from 1", None),
            503: ("Database unavailable; see Retry-After", None),
        },
        "resendDelivery",
        parameters=RESEND_PARAMS,
        secured=True,
        tags=("alerts",),
    ),
]


def openapi_document() -> dict[str, Any]:
    """The document served at /api/v1/openapi.json."""
    return build_openapi("Alert log API", "1.1.0", OPERATIONS, error_model=ErrorResponse)


def add_openapi_route(app: web.Application) -> None:
    """Serve the document (built once)."""
    document = openapi_document()

    async def serve(_: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/api/v1/openapi.json", serve)
