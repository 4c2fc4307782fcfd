"""Routing's OpenAPI 3.1 document, generated from its pydantic models."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from services.common.http import ErrorResponse
from services.common.openapi import Operation, build_openapi
from services.routing.models import (
    CaseDetail,
    CaseList,
    NoteBody,
    OptionalNote,
    ReassignBody,
    RejectBody,
    ResolveBody,
)

CASE_ID = {"name": "case_id", "in": "path", "required": True, "schema": {"type": "string"}}
LIST_PARAMS = [
    {"name": "status", "in": "query", "schema": {"type": "string"}},
    {"name": "category", "in": "query", "schema": {"type": "string"}},
    {"name": "overdue", "in": "query", "schema": {"type": "boolean"}},
    {"name": "created_from", "in": "query", "schema": {"type": "string", "format": "date-time"}},
    {"name": "created_to", "in": "query", "schema": {"type": "string", "format": "date-time"}},
    {
        "name": "agency",
        "in": "query",
        "description": "supervisors only",
        "schema": {"type": "string"},
    },
    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
]
ACTION_RESPONSES: dict[int, tuple[str, type[BaseModel] | None]] = {
    200: ("The case after the action", CaseDetail),
    401: ("No valid bearer token", None),
    404: ("No such case in the caller's scope", None),
    409: (
        "Not allowed in the case's status (allowed actions listed), or a concurrent change",
        None,
    ),
    422: ("Invalid body, each field named", None),
}


def _action(name: str, summary: str, body: Any) -> Operation:
    return Operation(
        "POST",
        f"/api/v1/cases/{{case_id}}/{name}",
        summary,
        ACTION_RESPONSES,
        request=body,
        parameters=[CASE_ID],
        secured=True,
        tags=("cases",),
    )


OPERATIONS = [
    Operation(
        "GET",
        "/api/v1/cases",
        "The caller's cases, newest first",
        {
            200: ("A page of cases", CaseList),
            401: ("No valid bearer token", None),
            422: ("Bad filter", None),
        },
        parameters=LIST_PARAMS,
        secured=True,
        tags=("cases",),
    ),
    Operation(
        "GET",
        "/api/v1/cases/{case_id}",
        "One case with its report and audit log",
        {
            200: ("The case", CaseDetail),
            401: ("No valid bearer token", None),
            404: ("No such case in the caller's scope", None),
        },
        parameters=[CASE_ID],
        secured=True,
        tags=("cases",),
    ),
    _action("acknowledge", "Acknowledge an assigned case", OptionalNote),
    _action("start", "Start work on a case", OptionalNote),
    _action("resolve", "Resolve a case with an outcome and a note", ResolveBody),
    _action("reject", "Reject a case with a reason", RejectBody),
    _action(
        "reassign",
        "Send a case to another agency (supervisors: assign a triage case)",
        ReassignBody,
    ),
    _action("notes", "Add a note to a case", NoteBody),
]


def add_openapi_route(app: web.Application) -> None:
    """Serve the document at /api/v1/openapi.json (built once)."""
    document = build_openapi("Agency case API", "1.0.0", OPERATIONS, error_model=ErrorResponse)

    async def serve(_: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/api/v1/openapi.json", serve)
