"""The agency API's legal holds: a supervisor sets or lifts a case's hold; anyone who reads the
case may see whether it is held."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pymongo.asynchronous.collection import AsyncCollection

from services.common.http import error_body, json_error
from services.common.mongo import Document
from services.common.openapi import Operation, Responses
from services.routing.actions import SUPERVISOR
from services.routing.api import (
    ROUTING,
    authorize,
    caller,
    read_body,
    readable_case,
    unreadable,
)
from services.routing.apikeys import Scope
from services.routing.case import Case
from services.routing.cases import UnreadableCase
from services.routing.legalhold import (
    HOLD_LIFTED,
    HOLD_SET,
    LEGAL_HOLD,
    LegalHold,
    LegalHoldBody,
    LegalHoldView,
    hold_of,
    hold_record,
    lift_update,
    planned_hold,
    set_note,
    set_update,
    today,
    view_of,
)

log = logging.getLogger(__name__)

PATH = "/api/v1/cases/{case_id}/legal-hold"
NO_HOLD = "the case has no legal hold"
ATTEMPTS = 5  # a case whose status keeps changing under the write: 409 after these
# (the write is conditional on the status read, so the audit line's status is the case's)
Change = Callable[[Case, LegalHold | None], dict[str, Any] | None]


async def get_hold(request: web.Request) -> web.Response:
    """GET /api/v1/cases/{case_id}/legal-hold: the case's hold; 404 when it has none."""
    principal = await authorize(request, Scope.CASES_READ)
    case = await readable_case(request, principal)
    ctx = request.app[ROUTING]
    hold = await _stored_hold(ctx.repository.cases, case.case_id)
    if hold is None:
        return json_error(404, NO_HOLD)
    return _answer(view_of(case.case_id, hold, ctx.clock()))


async def put_hold(request: web.Request) -> web.Response:
    """PUT /api/v1/cases/{case_id}/legal-hold: set (or replace) the case's hold."""
    principal, who = await _supervisor(request)
    body = await read_body(request, LegalHoldBody)
    now = request.app[ROUTING].clock()
    if body.until is not None and body.until < today(now):
        message = f"must be today ({today(now).isoformat()}) or later"
        error = {"field": "until", "message": message, "type": "value_error"}
        return json_error(422, "invalid request body", [error])
    hold = planned_hold(body, principal, who, now)

    def change(case: Case, _: LegalHold | None) -> dict[str, Any]:
        record = hold_record(case, HOLD_SET, set_note(hold), principal, who, now)
        return set_update(hold, record)

    case_id, _ = await _write(request, principal, change, read_hold=False)  # mends a bad one
    log.info("legal hold set", extra={"case_id": case_id, "until": str(body.until)})
    return _answer(view_of(case_id, hold, now))


async def delete_hold(request: web.Request) -> web.Response:
    """DELETE /api/v1/cases/{case_id}/legal-hold: lift the case's hold (204); 404 when the
    case has none."""
    principal, who = await _supervisor(request)
    now = request.app[ROUTING].clock()

    def change(case: Case, hold: LegalHold | None) -> dict[str, Any] | None:
        if hold is None:
            return None
        note = f"set {hold.set_at:%Y-%m-%d} by {hold.person or hold.set_by}: {hold.reason}"
        return lift_update(hold_record(case, HOLD_LIFTED, note, principal, who, now))

    case_id, lifted = await _write(request, principal, change)
    if not lifted:
        return json_error(404, NO_HOLD)
    log.info("legal hold lifted", extra={"case_id": case_id})
    return web.Response(status=204)


async def _supervisor(request: web.Request) -> tuple[str, str]:
    """The caller, and how the audit log names its key or token, if a supervisor (a key
    needs cases:write); 403 for an agency."""
    principal, who = await caller(request, Scope.CASES_WRITE)
    if principal != SUPERVISOR:
        raise web.HTTPForbidden(
            text=json.dumps(error_body(403, "only a supervisor sets or lifts a legal hold")),
            content_type="application/json",
        )
    return principal, who


async def _write(
    request: web.Request, principal: str, change: Change, *, read_hold: bool = True
) -> tuple[str, bool]:
    """Apply `change` to the case as read (and to its stored hold, if `read_hold`),
    conditional on its status being still the one read (so the audit line's status is right);
    the case's id and whether there was a change to write. 404, 409 as `readable_case`; 409
    when the case kept changing or its stored hold is malformed."""
    cases = request.app[ROUTING].repository.cases
    for _ in range(ATTEMPTS):
        case = await readable_case(request, principal)
        hold = await _stored_hold(cases, case.case_id) if read_hold else None
        update = change(case, hold)
        if update is None:
            return case.case_id, False
        same = {"_id": case.case_id, "status": case.status.value}
        if (await cases.update_one(same, update)).matched_count:
            return case.case_id, True
    raise web.HTTPConflict(
        text=json.dumps(error_body(409, "the case changed concurrently; read it again and retry")),
        content_type="application/json",
    )


async def _stored_hold(cases: AsyncCollection[Document], case_id: str) -> LegalHold | None:
    """The case's stored hold; 409 as for an unreadable case when it is malformed."""
    stored = await cases.find_one({"_id": case_id}, {LEGAL_HOLD: 1}) or {}
    try:
        return hold_of(stored)
    except ValidationError as exc:
        where = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        error = f"legal_hold malformed ({type(exc).__name__} at {where})"  # never the values
        log.error("case stored malformed", extra={"case_id": case_id, "error": error})
        raise web.HTTPConflict(
            text=unreadable(UnreadableCase(case_id, None, error)).text,
            content_type="application/json",
        ) from None


def _answer(view: LegalHoldView) -> web.Response:
    return web.json_response(view.model_dump(mode="json"))


def add_legal_hold_routes(app: web.Application) -> None:
    """Register the legal hold routes."""
    app.router.add_get(PATH, get_hold)
    app.router.add_put(PATH, put_hold)
    app.router.add_delete(PATH, delete_hold)


# ---- the OpenAPI document's part ----

DESCRIPTION = (
    "A legal hold keeps the case's data from retention: `incidents-admin retention` neither "
    "erases the reporters' contacts nor anonymises the free text (descriptions, appeal "
    "reasons, notes, explanations, evidence file names) of a case whose hold is in force. "
    "It is in force until lifted or, with `until`, until that day (Asia/Ho_Chi_Minh) ends. "
    "Only supervisors set and lift holds; each change is a line on the case's audit log "
    "(`legal_hold_set`, `legal_hold_lifted`). Setting a hold again replaces it."
)


def legal_hold_operations(
    case_id: dict[str, Any], database_down: tuple[str, type[BaseModel] | None]
) -> list[Operation]:
    """The legal hold routes, documented."""
    found: Responses = {
        404: ("No such case in the caller's scope, or (GET, DELETE) it has no hold", None),
        409: ("A stored case that cannot be read, or a concurrent change", None),
        503: database_down,
    }
    only_supervisors: Responses = {
        403: ("Not a supervisor, or the API key lacks cases:write (`missing_scope`)", None),
        **found,
    }
    put: Responses = {
        200: ("The hold as set", LegalHoldView),
        400: ("Body is not JSON", None),
        413: ("Body larger than the limit", None),
        415: ("Content-Type is not application/json", None),
        422: ("Invalid body, each field named (`until` before today)", None),
        **only_supervisors,
    }

    def operation(method: str, summary: str, responses: Responses, name: str) -> Operation:
        return Operation(
            method,
            PATH,
            summary,
            responses,
            name,
            request=LegalHoldBody if method == "PUT" else None,
            parameters=[case_id],
            secured=True,
            tags=("cases",),
        )

    return [
        operation(
            "GET",
            "The case's legal hold, if any",
            {
                200: ("The hold", LegalHoldView),
                403: ("The API key lacks cases:read (named in `missing_scope`)", None),
                **found,
            },
            "getLegalHold",
        ),
        operation("PUT", "Supervisors: set or replace the case's legal hold", put, "setLegalHold"),
        operation(
            "DELETE",
            "Supervisors: lift the case's legal hold",
            {204: ("Lifted", None), **only_supervisors},
            "liftLegalHold",
        ),
    ]


def legal_hold_rules(not_blank: str) -> dict[str, dict[str, Any]]:
    """What LegalHoldBody's validators check beyond its types: a reason not blank, a day of
    the years the API knows."""
    day = {"type": "string", "format": "date", "pattern": "^2[0-9]{3}-[0-9]{2}-[0-9]{2}$"}
    reason = {"type": "string", "maxLength": 2000, "pattern": not_blank}
    return {
        "LegalHoldBody": {
            "properties": {"reason": reason, "until": {"anyOf": [day, {"type": "null"}]}}
        }
    }


def document_legal_hold(document: dict[str, Any]) -> None:
    """Add the routes' description to a built OpenAPI document."""
    for method in ("get", "put", "delete"):
        document["paths"][PATH][method]["description"] = DESCRIPTION
