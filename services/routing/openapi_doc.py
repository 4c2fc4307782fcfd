"""Routing's OpenAPI 3.1 document, generated from its pydantic models."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from services.common.contracts import TRIAGE, CaseStatus, Category
from services.common.http import ErrorResponse
from services.common.openapi import Operation, Responses, build_openapi
from services.routing.api import ROUTING
from services.routing.assign_api import AssignBody
from services.routing.contact_api import contact_operations
from services.routing.legalhold_api import (
    document_legal_hold,
    legal_hold_operations,
    legal_hold_rules,
)
from services.routing.models import (
    CaseDetail,
    CaseList,
    MergeBody,
    NoteBody,
    OptionalNote,
    ReassignBody,
    RejectBody,
    ResolveBody,
    ReviewBody,
    SplitBody,
    SplitResult,
)
from services.routing.takedown_api import TakedownList, TakedownResult
from services.routing.takedown_terms import AnswerBody, DiscardBody, SendBody, TakedownBody
from services.routing.transparency_doc import document_transparency, transparency_operation

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
EXPLANATION = {"type": "string", "maxLength": 2000, "pattern": NOT_BLANK}
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
    404: (
        "No such case in the caller's scope (a `member_misconduct` case is in the scope of "
        "the party committee and supervisors only)",
        None,
    ),
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
        "review",
        "assign",
        "split",
        "merge",
    )
}
DECISION = (
    "The body is a statement of reasons: `outcome`, `legal_basis` (a code of the policy's "
    "`legal_bases` list; an unknown one is a 422 naming `legal_basis`), optional "
    "`legal_basis_text` (the exact provision; agencies only), `explanation` (1 to 2000 "
    "characters of plain words for the reporter: the status page shows it and it is e-mailed) "
    "and the internal note (`note` / `reason`), which the reporter never sees. `case.updated` "
    "carries the public part only (`decision`), with `appeal_until` (the reporter may appeal "
    "once until then)."
)
REVIEW = (
    "Only for an `appealed` case, and only by someone other than the one who made the decision "
    "appealed against (an agency's decision: a supervisor reviews it). `upheld` closes the "
    "case as it was, with the reviewer's explanation (outcome and legal basis default to the "
    "decision's); `reversed` names a new outcome and legal basis and closes the case with them "
    "(resolved or rejected by the outcome; `referred` keeps the earlier status). The reporter "
    "sees the result and cannot appeal again."
)
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

DESCRIPTIONS = {"resolve": DECISION, "reject": DECISION, "review": REVIEW}


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


def _action(
    name: str,
    summary: str,
    body: Any,
    *,
    body_required: bool = True,
    responses: Responses = ACTION_RESPONSES,
) -> Operation:
    return Operation(
        "POST",
        f"/api/v1/cases/{{case_id}}/{name}",
        summary,
        responses,
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
        _action(
            "resolve",
            "Resolve a case with a decision (outcome, legal basis, explanation) and a note",
            ResolveBody,
        ),
        _action(
            "reject",
            "Reject a case with a decision (outcome, legal basis, explanation) and a reason",
            RejectBody,
        ),
        _action(
            "review",
            "Review an appealed decision: uphold or reverse it with a decision",
            ReviewBody,
            responses={
                **ACTION_RESPONSES,
                403: (
                    "The caller made the decision under appeal (someone else reviews it), or "
                    "the API key lacks the scope (named in `missing_scope`)",
                    None,
                ),
            },
        ),
        _action(
            "reassign",
            "Send a case to another agency (supervisors: assign a triage case)",
            ReassignBody,
            responses={
                **ACTION_RESPONSES,
                409: (
                    "The case cannot go there as it stands: it is already with that agency, or "
                    "it is a `member_misconduct` case (sensitive) sent elsewhere than "
                    "`party_committee` (`sensitive: ...`, naming `agency`)",
                    None,
                ),
            },
        ),
        _action("notes", "Add a note to a case", NoteBody),
        _action(
            "assign",
            "Assign a case to an officer (or lead) of the agency holding it; the audit log "
            "names both",
            AssignBody,
            responses={
                **ACTION_RESPONSES,
                409: (
                    "The officer named (`errors` names `officer`) is not an active officer of "
                    "the agency holding the case; the case is closed or already theirs; a "
                    "concurrent change; a stored case that cannot be read",
                    None,
                ),
            },
        ),
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
        *takedown_operations(),
        *legal_hold_operations(CASE_ID, DATABASE_DOWN),
        *contact_operations(CASE_ID, DATABASE_DOWN),
        transparency_operation(DATABASE_DOWN),
    ]


REQUEST_ID = {"name": "request_id", "in": "path", "required": True, "schema": {"type": "string"}}
TAKEDOWN_RESPONSES: Responses = {
    200: ("The request after the step, and its case", TakedownResult),
    400: ("Body is not JSON", None),
    403: (
        "The caller is only informed of the case (it reads it, never acts), or the API key "
        "lacks cases:write (named in `missing_scope`)",
        None,
    ),
    404: ("No such case in the caller's scope, or no such request on it", None),
    409: (
        "Not allowed as the case or the request stands: a case closed, in triage or under "
        "appeal; a request not a draft (send, discard) or not awaiting an answer (answer); "
        "a concurrent change; a stored case that cannot be read",
        None,
    ),
    413: ("Body larger than the limit", None),
    415: ("Content-Type is not application/json", None),
    422: ("Invalid body, each field named (a time in the future: `sent_at`, `answered_at`)", None),
    503: DATABASE_DOWN,
}
RECORD_RESPONSES: Responses = {
    201: ("The request recorded, and its case", TakedownResult),
    **{code: answer for code, answer in TAKEDOWN_RESPONSES.items() if code != 200},
}
TAKEDOWNS = (
    "A request an agency sends to a platform (its portal for authorities, e-mail, phone, "
    "letter). A sent request's legal deadline is `sent_at` + the policy's `takedown_deadline` "
    "(24 h, calendar time); the case then waits on the platform (`waiting_on_platform`, its "
    "internal clock paused; an `assigned` case is taken up first). Notify alerts "
    "(`case.platform_overdue`) when the deadline passes without an answer. The answer to the "
    "last request awaiting one brings the case back `in_progress`, its internal clock resumed."
)


def takedown_operations() -> list[Operation]:
    """The takedown request routes."""
    base = "/api/v1/cases/{case_id}/takedowns"

    def step(name: str, summary: str, body: Any, required: bool = True) -> Operation:
        return Operation(
            "POST",
            f"{base}/{{request_id}}/{name}",
            summary,
            TAKEDOWN_RESPONSES,
            f"{name}Takedown",
            request=body,
            body_required=required,
            parameters=[CASE_ID, REQUEST_ID],
            secured=True,
            tags=("takedowns",),
        )

    return [
        Operation(
            "GET",
            base,
            "The case's requests to platforms, each with its legal clock",
            {
                200: ("The requests, oldest first", TakedownList),
                403: MISSING_SCOPE,
                404: ("No such case in the caller's scope", None),
                409: ("A stored case that cannot be read", None),
                503: DATABASE_DOWN,
            },
            "listTakedowns",
            parameters=[CASE_ID],
            secured=True,
            tags=("takedowns",),
        ),
        Operation(
            "POST",
            base,
            "Record a request sent to a platform (or a draft of one)",
            RECORD_RESPONSES,
            "recordTakedown",
            request=TakedownBody,
            parameters=[CASE_ID],
            secured=True,
            tags=("takedowns",),
        ),
        step("send", "Send a draft request (an empty body sends it now)", SendBody, False),
        step("answer", "Record the platform's answer to a request", AnswerBody),
        step("discard", "Set a draft aside, never sent", DiscardBody, False),
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


OPTIONAL_NOTE = {"anyOf": [NOTE, {"type": "null"}]}
# What the takedown bodies' validators check beyond their types: stripped texts not blank, no
# `sent_at` on a draft, a refusal's reason.
TEXT_200 = {"anyOf": [{"type": "string", "maxLength": 200, "pattern": NOT_BLANK}, {"type": "null"}]}
TEXT_2000 = {"anyOf": [EXPLANATION, {"type": "null"}]}
TAKEDOWN_RULES: dict[str, dict[str, Any]] = {
    "TakedownBody": {
        "properties": {"note": OPTIONAL_NOTE, "reference": TEXT_200},
        "if": {"properties": {"status": {"const": "draft"}}, "required": ["status"]},
        "then": {"properties": {"sent_at": {"type": "null"}}},
    },
    "SendBody": {"properties": {"note": OPTIONAL_NOTE, "reference": TEXT_200}},
    "AnswerBody": {
        "properties": {"note": OPTIONAL_NOTE, "reference": TEXT_200, "reason": TEXT_2000},
        "if": {"properties": {"status": {"const": "refused"}}, "required": ["status"]},
        "then": {"properties": {"reason": EXPLANATION}, "required": ["reason"]},
    },
    "DiscardBody": {"properties": {"note": OPTIONAL_NOTE}},
}


def openapi_document(agencies: list[str], legal_bases: list[str]) -> dict[str, Any]:
    """The document for a deployment whose policy names `agencies` and `legal_bases`."""
    note = {"properties": {"note": NOTE}}
    targets = [a for a in agencies if a != TRIAGE]  # a case is reassigned to a real agency
    basis = {"enum": legal_bases}
    decision = {"legal_basis": basis, "explanation": EXPLANATION}
    document = build_openapi(
        "Agency case API",
        "1.0.0",
        operations(agencies),
        error_model=ErrorResponse,
        rules={
            "OptionalNote": {"properties": {"note": {"anyOf": [NOTE, {"type": "null"}]}}},
            "ResolveBody": {"properties": {"note": NOTE, **decision}},
            "NoteBody": note,
            "RejectBody": {"properties": {"reason": NOTE, **decision}},
            "ReviewBody": {
                "properties": {
                    "note": {"anyOf": [NOTE, {"type": "null"}]},
                    "legal_basis": {"anyOf": [basis, {"type": "null"}]},
                    "explanation": EXPLANATION,
                }
            },
            "ReassignBody": {"properties": {"reason": NOTE, "agency": {"enum": targets}}},
            "SplitBody": {"properties": {"reason": NOTE}},
            "MergeBody": {"properties": {"reason": NOTE}},
            "AssignBody": {"properties": {"officer": {"type": "string", "pattern": NOT_BLANK}}},
            **TAKEDOWN_RULES,
            **legal_hold_rules(NOT_BLANK),
        },
    )
    document["components"]["securitySchemes"]["bearer"]["description"] = BEARER
    for name, text in DESCRIPTIONS.items():
        document["paths"][f"/api/v1/cases/{{case_id}}/{name}"]["post"]["description"] = text
    document["paths"]["/api/v1/cases/{case_id}/takedowns"]["post"]["description"] = TAKEDOWNS
    document_transparency(document)
    document_legal_hold(document)
    return document


def add_openapi_route(app: web.Application) -> None:
    """Serve the document at /api/v1/openapi.json (built on first use, from the policy)."""
    built: list[dict[str, Any]] = []

    async def serve(request: web.Request) -> web.Response:
        if not built:
            ctx = request.app[ROUTING]
            built.append(
                openapi_document(sorted(ctx.agencies), list(ctx.actions.policy.legal_bases))
            )
        return web.json_response(built[0])

    app.router.add_get("/api/v1/openapi.json", serve)
