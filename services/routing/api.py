"""The agency API: bearer-authenticated case list, case detail and actions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from services.common.auth import require_principal
from services.common.clock import Clock
from services.common.contracts import CaseStatus, Category
from services.common.http import field_errors, json_error
from services.routing.actions import (
    SUPERVISOR,
    ActionRequest,
    CaseActions,
    CaseNotFound,
    ConcurrentChange,
    InvalidReassignment,
    in_scope,
)
from services.routing.cases import BadCursor, CaseQuery, CaseRepository
from services.routing.lifecycle import Action, IllegalTransition
from services.routing.models import (
    CaseList,
    CaseSummary,
    NoteBody,
    OptionalNote,
    ReassignBody,
    RejectBody,
    ResolveBody,
    case_view,
    summary_fields,
)
from services.routing.settings import RoutingSettings


@dataclass
class RoutingContext:
    """What the API handlers need."""

    settings: RoutingSettings
    repository: CaseRepository
    actions: CaseActions
    clock: Clock


ROUTING: web.AppKey[RoutingContext] = web.AppKey("routing", RoutingContext)

ACTION_BODIES: dict[str, tuple[Action, type[BaseModel]]] = {
    "acknowledge": (Action.ACKNOWLEDGE, OptionalNote),
    "start": (Action.START, OptionalNote),
    "resolve": (Action.RESOLVE, ResolveBody),
    "reject": (Action.REJECT, RejectBody),
    "reassign": (Action.REASSIGN, ReassignBody),
    "notes": (Action.NOTE, NoteBody),
}


def authenticate(request: web.Request) -> str:
    """The caller's principal (agency id or 'supervisor'); 401 without a valid token."""
    return require_principal(request, request.app[ROUTING].settings.tokens, realm="agency-api")


def _query(request: web.Request, principal: str) -> CaseQuery:
    q = request.query
    errors = []
    values: dict[str, Any] = {}
    for name, parse in (("status", CaseStatus), ("category", Category)):
        if name in q:
            try:
                values[name] = parse(q[name]).value
            except ValueError:
                errors.append(
                    {"field": name, "message": f"unknown {name} {q[name]!r}", "type": "enum"}
                )
    for name in ("created_from", "created_to"):
        if name in q:
            try:
                parsed = datetime.fromisoformat(q[name])
                if parsed.tzinfo is None:
                    raise ValueError
                values[name] = parsed
            except ValueError:
                errors.append(
                    {"field": name, "message": "an ISO 8601 time with a zone", "type": "datetime"}
                )
    if "overdue" in q:
        if q["overdue"] not in ("true", "false"):
            errors.append({"field": "overdue", "message": "true or false", "type": "bool"})
        values["overdue"] = q["overdue"] == "true"
    limit = q.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= 200:
        errors.append({"field": "limit", "message": "a whole number from 1 to 200", "type": "int"})
    if errors:
        raise web.HTTPUnprocessableEntity(
            text=json.dumps({"error": {"status": 422, "message": "bad query", "errors": errors}}),
            content_type="application/json",
        )
    agency = principal if principal != SUPERVISOR else q.get("agency")
    return CaseQuery(agency=agency, cursor=q.get("cursor"), limit=int(limit), **values)


async def list_cases(request: web.Request) -> web.Response:
    """GET /api/v1/cases: the caller's cases, newest first, filtered, cursor-paginated."""
    principal = authenticate(request)
    ctx = request.app[ROUTING]
    now = ctx.clock()
    try:
        docs, next_cursor = await ctx.repository.find(_query(request, principal), now)
    except BadCursor:
        return json_error(400, "invalid cursor")
    page = CaseList(
        cases=[CaseSummary(**summary_fields(d, now)) for d in docs], next_cursor=next_cursor
    )
    return web.json_response(page.model_dump(mode="json"))


async def get_case(request: web.Request) -> web.Response:
    """GET /api/v1/cases/{case_id}: one case; another agency's case is 404."""
    principal = authenticate(request)
    ctx = request.app[ROUTING]
    case = await ctx.repository.get(request.match_info["case_id"])
    if not in_scope(case, principal):
        return json_error(404, "no such case")
    assert case is not None
    return web.json_response(case_view(case, principal, ctx.clock()).model_dump(mode="json"))


async def act(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/{action}: one lifecycle action."""
    principal = authenticate(request)
    ctx = request.app[ROUTING]
    action, model = ACTION_BODIES[request.match_info["action"]]
    body = await _body(request, model)
    try:
        case = await ctx.actions.perform(
            request.match_info["case_id"], principal, action_request(action, principal, body)
        )
    except CaseNotFound:
        return json_error(404, "no such case")
    except IllegalTransition as exc:
        return web.json_response(
            {
                "error": {
                    "status": 409,
                    "message": str(exc),
                    "allowed_actions": [a.value for a in exc.allowed],
                }
            },
            status=409,
        )
    except InvalidReassignment as exc:
        return json_error(
            422, str(exc), [{"field": "agency", "message": str(exc), "type": "value_error"}]
        )
    except ConcurrentChange:
        return json_error(409, "the case changed concurrently; read it again and retry")
    return web.json_response(case_view(case, principal, ctx.clock()).model_dump(mode="json"))


async def _body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    raw = await request.read()
    if not raw and model is OptionalNote:
        return OptionalNote()
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(
            text=json.dumps(
                {"error": {"status": 415, "message": "Content-Type must be application/json"}}
            ),
            content_type="application/json",
        )
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        status = 400 if any(e["type"] == "json_invalid" for e in exc.errors()) else 422
        raise _error(status, exc) from None


def _error(status: int, exc: ValidationError) -> web.HTTPException:
    error_class = web.HTTPBadRequest if status == 400 else web.HTTPUnprocessableEntity
    return error_class(
        text=json.dumps(
            {
                "error": {
                    "status": status,
                    "message": "invalid request body",
                    "errors": field_errors(exc),
                }
            }
        ),
        content_type="application/json",
    )


def action_request(action: Action, principal: str, body: BaseModel) -> ActionRequest:
    """The action request a validated body stands for."""
    fields = body.model_dump()
    return ActionRequest(
        action=action,
        actor=principal,
        note=fields.get("note") or fields.get("reason"),
        outcome=fields.get("outcome"),
        target_agency=fields.get("agency"),
    )


def add_api_routes(app: web.Application) -> None:
    """Register the agency API."""
    app.router.add_get("/api/v1/cases", list_cases)
    app.router.add_get("/api/v1/cases/{case_id}", get_case)
    actions = "|".join(ACTION_BODIES)
    app.router.add_post("/api/v1/cases/{case_id}/{action:(" + actions + ")}", act)
