"""Routing's OpenAPI 3.1 document, generated from its pydantic models."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from services.common.contracts import TRIAGE, CaseStatus, Category
from services.common.http import ErrorResponse
from services.common.openapi import Operation, Responses, build_openapi
from services.routing.api import ROUTING
from services.routing.models import (
    CaseDetail,
    CaseList,
    MergeBody,
    NoteBody,
    OptionalNote,
    ReassignBody,
    RejectBody,
    ResolveBody,
    SplitBody,
    SplitResult,
)

CASE_ID = {"name": "case_id", "in": "path", "required": True, "schema": {"type": "string"}}
# Times the service can store and compare (services.common.params bounds: 1900 to 9000).
TIME = {
    "type": "string",
    "format": "date-time",
    "maxLength": 64,
    "pattern": "^(19[0-9][1-9]|19[1-9]0|[2-8][0-9]{3})-",
}
# A stripped note of 1 to 5000 characters (see services.routing.models.Note): at least one
# character outside Unicode's White_Space set, which is what pydantic strips (`\S` would let
# U+0085 through, a space to pydantic but not to every regex dialect).
NOT_BLANK = "[^\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
NOTE = {"type": "string", "maxLength": 5000, "pattern": NOT_BLANK}
DATABASE_DOWN: tuple[str, type[BaseModel] | None] = ("Database unavailable; see Retry-After", None)
MISSING_SCOPE: tuple[str, type[BaseModel] | None] = (
    "The API key lacks the scope this operation needs (named in `missing_scope`)",
    None,
)
BEARER = (
    "An API key, `inc_<key id>_<secret>`, made with `incidents-admin keys create AGENCY "
    "--scope ...`; its scopes: `cases:read` (list and read cases), `cases:write` (acknowledge, "
    "start, resolve, reject, notes), `cases:reassign` (reassign). Rotated keys keep working "
    "until their grace period ends; a revoked key is refused within seconds. Bootstrap tokens "
    "listed (hashed) in ROUTING_TOKENS are also accepted, with every scope."
)
ACTION_RESPONSES: Responses = {
    200: ("The case after the action", CaseDetail),
    400: ("Body is not JSON", None),
    403: MISSING_SCOPE,
    404: ("No such case in the caller's scope", None),
    409: (
        "Not allowed in the case's status (allowed actions listed), a concurrent change, "
        "a stored case that cannot be read, or a reassignment to the agency that holds it",
        None,
    ),
    413: ("Body larger than the limit", None),
    415: ("Content-Type is not application/json", None),
    422: ("Invalid body, each field named", None),
    503: DATABASE_DOWN,
}
CASE_LINKS = {
    name: {
        "operationId": f"{name}Case",
        "parameters": {"case_id": "$response.body#/cases/0/case_id"},
    }
    for name in (
        "get",
        "acknowledge",
        "start",
        "resolve",
        "reject",
        "reassign",
        "notes",
        "split",
        "merge",
    )
}
REGROUP_RESPONSES: Responses = {
    **ACTION_RESPONSES,
    403: (
        "Not a supervisor (only supervisors split and merge), or the API key lacks "
        "cases:reassign (named in `missing_scope`)",
        None,
    ),
    409: (
        "What the body names does not fit the cases as they stand, the field named in "
        "`errors`: `report_id` not a report of the case (or the one that opened it), `into` "
        "not an open case in scope (or the case itself); or a closed case, a concurrent "
        "change, a stored case that cannot be read",
        None,
    ),
}


def list_params(agencies: list[str]) -> list[dict[str, Any]]:
    """The case list's query parameters; `agency` names the deployment's agencies."""
    return [
        {"name": "status", "in": "query", "schema": {"enum": [s.value for s in CaseStatus]}},
        {"name": "category", "in": "query", "schema": {"enum": [c.value for c in Category]}},
        {"name": "overdue", "in": "query", "schema": {"enum": ["true", "false"]}},
        {"name": "created_from", "in": "query", "schema": TIME},
        {"name": "created_to", "in": "query", "schema": TIME},
        {
            "name": "agency",
            "in": "query",
            "description": "supervisors only; ignored for an agency",
            "schema": {"enum": agencies},
        },
        {
            "name": "cursor",
            "in": "query",
            "description": "opaque: the next_cursor of the previous page, unchanged",
            "schema": {"type": "string"},
        },
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 200},
        },
    ]


def _action(name: str, summary: str, body: Any, *, body_required: bool = True) -> Operation:
    return Operation(
        "POST",
        f"/api/v1/cases/{{case_id}}/{name}",
        summary,
        ACTION_RESPONSES,
        f"{name}Case",
        request=body,
        body_required=body_required,
        parameters=[CASE_ID],
        secured=True,
        tags=("cases",),
    )


def operations(agencies: list[str]) -> list[Operation]:
    """Every documented route of the agency API."""
    return [
        Operation(
            "GET",
            "/api/v1/cases",
            "The caller's cases, most urgent first",
            {
                200: ("A page of cases", CaseList),
                403: MISSING_SCOPE,
                422: ("A bad filter or cursor, each named", None),
                503: DATABASE_DOWN,
            },
            "listCases",
            parameters=list_params(agencies),
            secured=True,
            tags=("cases",),
            links={200: CASE_LINKS},
        ),
        Operation(
            "GET",
            "/api/v1/cases/{case_id}",
            "One case with its report and audit log",
            {
                200: ("The case", CaseDetail),
                403: MISSING_SCOPE,
                404: ("No such case in the caller's scope", None),
                409: ("A stored case that cannot be read", None),
                503: DATABASE_DOWN,
            },
            "getCase",
            parameters=[CASE_ID],
            secured=True,
            tags=("cases",),
        ),
        _action("acknowledge", "Acknowledge an assigned case", OptionalNote, body_required=False),
        _action("start", "Start work on a case", OptionalNote, body_required=False),
        _action("resolve", "Resolve a case with an outcome and a note", ResolveBody),
        _action("reject", "Reject a case with a reason", RejectBody),
        _action(
            "reassign",
            "Send a case to another agency (supervisors: assign a triage case)",
            ReassignBody,
        ),
        _action("notes", "Add a note to a case", NoteBody),
        _regroup(
            "split",
            "Supervisors: take a wrongly joined report out of the case into a new case, "
            "routed by the policy from that report",
            SplitBody,
            ("The case without the report, and the new case", SplitResult),
        ),
        _regroup(
            "merge",
            "Supervisors: move the case's reports into the open case `into`; this case "
            "closes with outcome `merged` naming it",
            MergeBody,
            ("The case the reports moved into", CaseDetail),
        ),
    ]


def _regroup(
    name: str, summary: str, body: Any, ok: tuple[str, type[BaseModel] | None]
) -> Operation:
    return Operation(
        "POST",
        f"/api/v1/cases/{{case_id}}/{name}",
        summary,
        {**REGROUP_RESPONSES, 200: ok},
        f"{name}Case",
        request=body,
        parameters=[CASE_ID],
        secured=True,
        tags=("cases",),
    )


def openapi_document(agencies: list[str]) -> dict[str, Any]:
    """The document for a deployment whose policy names `agencies`."""
    note = {"properties": {"note": NOTE}}
    targets = [a for a in agencies if a != TRIAGE]  # a case is reassigned to a real agency
    document = build_openapi(
        "Agency case API",
        "1.0.0",
        operations(agencies),
        error_model=ErrorResponse,
        rules={
            "OptionalNote": {"properties": {"note": {"anyOf": [NOTE, {"type": "null"}]}}},
            "ResolveBody": note,
            "NoteBody": note,
            "RejectBody": {"properties": {"reason": NOTE}},
            "ReassignBody": {"properties": {"reason": NOTE, "agency": {"enum": targets}}},
            "SplitBody": {"properties": {"reason": NOTE}},
            "MergeBody": {"properties": {"reason": NOTE}},
        },
    )
    document["components"]["securitySchemes"]["bearer"]["description"] = BEARER
    return document


def add_openapi_route(app: web.Application) -> None:
    """Serve the document at /api/v1/openapi.json (built on first use, from the policy)."""
    built: list[dict[str, Any]] = []

    async def serve(request: web.Request) -> web.Response:
        if not built:
            built.append(openapi_document(sorted(request.app[ROUTING].agencies)))
        return web.json_response(built[0])

    app.router.add_get("/api/v1/openapi.json", serve)
