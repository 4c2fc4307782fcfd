"""The agency API: case list, case detail and actions, for API keys and bootstrap tokens.

A bearer credential is either an API key (`inc_<id>_<secret>`, from routing's key store, with
its own scopes) or a bootstrap token listed in ROUTING_TOKENS (every scope).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from services.common import params
from services.common.auth import (
    bearer_token,
    forbidden_scope,
    hash_token,
    principal_for,
    unauthorized,
)
from services.common.clock import Clock
from services.common.contracts import TRIAGE, CaseStatus, Category
from services.common.http import error_body, field_errors, json_error
from services.routing.actions import (
    SUPERVISOR,
    ActionRequest,
    AlreadyWithAgency,
    CaseActions,
    CaseNotFound,
    ConcurrentChange,
    InformedOnly,
    InvalidReassignment,
    SensitiveReassignment,
    UnreadableCase,
)
from services.routing.apikeys import ALL_SCOPES, ApiKeyStore, Scope, looks_like_key, missing_scope
from services.routing.appeals import plan_review
from services.routing.case import Case
from services.routing.cases import CaseQuery, CaseRepository
from services.routing.decisions import InvalidDecision, ReviewerConflict
from services.routing.evidence import EvidenceSigner
from services.routing.lifecycle import Action, IllegalTransition
from services.routing.models import (
    CaseDetail,
    CaseList,
    NoteBody,
    OptionalNote,
    ReassignBody,
    RejectBody,
    ResolveBody,
    ReviewBody,
    case_summary,
    case_view,
)
from services.routing.people import Person
from services.routing.planning import Plan
from services.routing.policy import Policy
from services.routing.regrouping import Regrouping
from services.routing.settings import RoutingSettings
from services.routing.visibility import hidden_categories


@dataclass
class RoutingContext:
    """What the API handlers need."""

    settings: RoutingSettings
    repository: CaseRepository
    actions: CaseActions
    clock: Clock
    keys: ApiKeyStore
    regrouping: Regrouping

    @property
    def agencies(self) -> frozenset[str]:
        """Every agency a case can be with: the policy's and triage."""
        return frozenset([*self.actions.policy.agencies, TRIAGE])


BodyT = TypeVar("BodyT", bound=BaseModel)
ROUTING: web.AppKey[RoutingContext] = web.AppKey("routing", RoutingContext)

REALM = "agency-api"
ACTION_BODIES: dict[str, tuple[Action, type[BaseModel]]] = {
    "acknowledge": (Action.ACKNOWLEDGE, OptionalNote),
    "start": (Action.START, OptionalNote),
    "resolve": (Action.RESOLVE, ResolveBody),
    "reject": (Action.REJECT, RejectBody),
    "reassign": (Action.REASSIGN, ReassignBody),
    "notes": (Action.NOTE, NoteBody),
    "review": (Action.REVIEW, ReviewBody),
}
# The scope each action needs; reading cases needs cases:read.
ACTION_SCOPES = {
    name: Scope.CASES_REASSIGN if action is Action.REASSIGN else Scope.CASES_WRITE
    for name, (action, _) in ACTION_BODIES.items()
}


async def authorize(request: web.Request, scope: Scope) -> str:
    """The caller's principal (agency id or 'supervisor'): 401 without a valid key or token,
    403 naming `scope` when the key lacks it."""
    return (await caller(request, scope))[0]


async def caller(request: web.Request, scope: Scope) -> tuple[str, str]:
    """The caller's principal and how the audit log names it (`key:<key id>`, or
    `token:<hash prefix>` for a bootstrap token), as `authorize` checks them."""
    ctx = request.app[ROUTING]
    token = bearer_token(request)
    if token is None:
        raise unauthorized(REALM)
    if looks_like_key(token):
        key = await ctx.keys.authenticate(token)
        if key is None or key.agency not in {*ctx.actions.policy.agencies, SUPERVISOR}:
            raise unauthorized(REALM)
        principal, scopes, who = key.agency, frozenset(key.scopes), f"key:{key.key_id}"
    else:
        legacy = principal_for(token, ctx.settings.tokens)
        if legacy is None:
            raise unauthorized(REALM)
        principal, scopes, who = legacy, ALL_SCOPES, f"token:{hash_token(token)[:12]}"
    if (lacking := missing_scope(scopes, scope)) is not None:
        raise forbidden_scope(lacking.value, realm=REALM)
    return principal, who


def _query(request: web.Request, principal: str, agencies: frozenset[str]) -> CaseQuery:
    """The case-list filters of a request; a bad one is a 422 naming it (every one at once)."""
    q, errors = request.query, []
    values: dict[str, Any] = {}
    for name, parse in (("status", CaseStatus), ("category", Category)):
        if name in q:
            try:
                values[name] = parse(q[name]).value
            except ValueError:
                errors.append(params.ParamError(name, f"unknown {name} {q[name]!r}"))
    for name in ("created_from", "created_to"):
        try:
            values[name] = params.parse_datetime(q.get(name), field=name)
        except params.ParamError as exc:
            errors.append(exc)
    if "overdue" in q:
        if q["overdue"] not in ("true", "false"):
            errors.append(params.ParamError("overdue", "true or false"))
        values["overdue"] = q["overdue"] == "true"
    try:
        limit = params.parse_int(q.get("limit"), field="limit", default=50, minimum=1, maximum=200)
    except params.ParamError as exc:
        errors.append(exc)
    asked = q.get("agency")
    if principal != SUPERVISOR and asked not in (None, principal):
        errors.append(
            params.ParamError("agency", f"an agency sees only its own cases ({principal})")
        )
    elif asked is not None and asked not in agencies:
        errors.append(params.ParamError("agency", f"one of {', '.join(sorted(agencies))}"))
    # An agency lists the cases it holds and those it is informed of; `?agency=` (itself, for
    # an agency) keeps the held ones only.
    agency, reader = asked, (None if principal == SUPERVISOR else principal)
    if errors:
        raise web.HTTPUnprocessableEntity(
            text=json.dumps(error_body(422, "bad query", [e.detail() for e in errors])),
            content_type="application/json",
        )
    return CaseQuery(
        agency=agency,
        reader=reader,
        hidden_categories=hidden_categories(principal),
        cursor=q.get("cursor"),
        limit=limit,
        **values,
    )


async def list_cases(request: web.Request) -> web.Response:
    """GET /api/v1/cases: the caller's cases, most urgent first, filtered, cursor-paginated."""
    principal = await authorize(request, Scope.CASES_READ)
    ctx = request.app[ROUTING]
    now = ctx.clock()
    query = _query(request, principal, ctx.agencies)
    cases, next_cursor = await ctx.repository.find(query, now)
    summaries = [case_summary(c, now, principal) for c in cases]
    page = CaseList(cases=summaries, next_cursor=next_cursor)
    return web.json_response(page.model_dump(mode="json"))


async def get_case(request: web.Request) -> web.Response:
    """GET /api/v1/cases/{case_id}: one case; another agency's case is 404."""
    principal = await authorize(request, Scope.CASES_READ)
    case = await readable_case(request, principal)
    detail = detail_with_evidence(request.app[ROUTING], case, principal)
    return web.json_response(detail.model_dump(mode="json"))


async def readable_case(request: web.Request, principal: str) -> Case:
    """The case the path names if `principal` may read it; else the error answer is raised:
    404 when it is not in scope, 409 when its stored record is unreadable."""
    try:
        return await request.app[ROUTING].actions.load(request.match_info["case_id"], principal)
    except CaseNotFound:
        raise web.HTTPNotFound(
            text=json.dumps(error_body(404, "no such case")), content_type="application/json"
        ) from None
    except UnreadableCase as exc:
        raise web.HTTPConflict(text=unreadable(exc).text, content_type="application/json") from None


def detail_with_evidence(ctx: RoutingContext, case: Case, principal: str) -> CaseDetail:
    """The case as `principal` sees it, with its evidence (signed links for the holder)."""
    now = ctx.clock()
    evidence = EvidenceSigner.from_settings(ctx.settings).views(case, principal, now)
    return case_view(case, principal, now).model_copy(update={"evidence": evidence})


async def act(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/{action}: one lifecycle action."""
    name = request.match_info["action"]
    principal, who = await caller(request, ACTION_SCOPES[name])
    action, model = ACTION_BODIES[name]
    ctx = request.app[ROUTING]
    body = await read_body(request, model)
    try:
        case_id = request.match_info["case_id"]
        case = await perform_action(ctx, case_id, principal, action, body, who=who)
    except CASE_REFUSALS as exc:
        return case_refusal(exc)
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
    except (AlreadyWithAgency, SensitiveReassignment) as exc:
        # Conflicts with the case as it stands (where it is, what it is about), not bad input.
        return json_error(
            409, str(exc), [{"field": "agency", "message": str(exc), "type": "value_error"}]
        )
    except InvalidReassignment as exc:
        return json_error(
            422, str(exc), [{"field": "agency", "message": str(exc), "type": "value_error"}]
        )
    except InvalidDecision as exc:
        return json_error(
            422, str(exc), [{"field": exc.field, "message": str(exc), "type": "value_error"}]
        )
    except ReviewerConflict as exc:
        return json_error(403, str(exc))
    return web.json_response(detail_with_evidence(ctx, case, principal).model_dump(mode="json"))


# What any change to a case may meet, whatever the change: answered alike by every endpoint.
CASE_REFUSALS = (CaseNotFound, UnreadableCase, InformedOnly, ConcurrentChange)


def case_refusal(exc: Exception) -> web.Response:
    """The JSON answer to one of CASE_REFUSALS: 404, 409 (unreadable, concurrent) or 403."""
    if isinstance(exc, UnreadableCase):
        return unreadable(exc)
    if isinstance(exc, InformedOnly):
        return json_error(403, str(exc))
    if isinstance(exc, ConcurrentChange):
        return json_error(409, "the case changed concurrently; read it again and retry")
    return json_error(404, "no such case")


async def perform_action(
    ctx: RoutingContext,
    case_id: str,
    principal: str,
    action: Action,
    body: BaseModel,
    person: Person | None = None,
    *,
    who: str | None = None,
) -> Case:
    """Do one action with its validated body (the API's and the console's one way in); the
    audit line names `person`, the one signed in to the console, or else `who`, the API key
    or token that called, when given.

    Raises what CaseActions raises, InvalidDecision and ReviewerConflict.
    """
    request = action_request(action, principal, body, person, who)
    if action is Action.REVIEW:

        def review(case: Case, policy: Policy, now: datetime) -> Plan:
            return plan_review(case, request, policy, now)

        return await ctx.actions.change(
            case_id, principal, review, action=action.value, person=person
        )
    return await ctx.actions.perform(case_id, principal, request, person)


def unreadable(exc: UnreadableCase) -> web.Response:
    """409: the case exists but its stored record is broken, so it cannot be shown or changed."""
    return json_error(
        409,
        f"case {exc.case_id} is stored incomplete or malformed and cannot be shown or changed; "
        "the operators have it in the service log",
    )


async def read_body(request: web.Request, model: type[BodyT]) -> BodyT:
    """The request's JSON body as `model`: 415 if not JSON, 400 if malformed, 422 per field."""
    raw = await request.read()
    if not raw and model is OptionalNote:
        return model()
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


def action_request(
    action: Action,
    principal: str,
    body: BaseModel,
    person: Person | None = None,
    who: str | None = None,
) -> ActionRequest:
    """The action request a validated body stands for."""
    fields = body.model_dump()
    decision = body.decision() if isinstance(body, ResolveBody | RejectBody | ReviewBody) else None
    return ActionRequest(
        action=action,
        actor=principal,
        note=fields.get("note") or fields.get("reason"),
        person=who if person is None else person.audit_name,
        target_agency=fields.get("agency"),
        decision=decision,
        review=body.result if isinstance(body, ReviewBody) else None,
    )


def add_api_routes(app: web.Application) -> None:
    """Register the agency API."""
    app.router.add_get("/api/v1/cases", list_cases)
    app.router.add_get("/api/v1/cases/{case_id}", get_case)
    actions = "|".join(ACTION_BODIES)
    app.router.add_post("/api/v1/cases/{case_id}/{action:(" + actions + ")}", act)
