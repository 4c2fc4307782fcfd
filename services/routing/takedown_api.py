"""The agency API's takedown requests: record, send, answer and discard requests to platforms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel

from services.common.http import json_error
from services.routing.actions import CaseNotFound, ConcurrentChange, UnreadableCase
from services.routing.api import (
    ROUTING,
    authorize,
    detail_with_evidence,
    read_body,
    readable_case,
    unreadable,
)
from services.routing.apikeys import Scope
from services.routing.case import Case
from services.routing.models import CaseDetail
from services.routing.planning import Plan
from services.routing.policy import Policy
from services.routing.sharing import InformedOnly
from services.routing.takedown_terms import (
    TakedownBody,
    TakedownView,
    new_request_id,
)
from services.routing.takedowns import (
    STEPS,
    InvalidTakedown,
    Planner,
    TakedownNotFound,
    TakedownRefused,
    plan_record,
)


class TakedownList(BaseModel):
    """A case's requests to platforms, oldest first."""

    takedowns: list[TakedownView]


class TakedownResult(BaseModel):
    """A request after a step, and its case as it now stands."""

    takedown: TakedownView
    case: CaseDetail


async def list_takedowns(request: web.Request) -> web.Response:
    """GET /api/v1/cases/{case_id}/takedowns: the case's requests and their legal clocks."""
    principal = await authorize(request, Scope.CASES_READ)
    case = await readable_case(request, principal)
    now = request.app[ROUTING].clock()
    page = TakedownList(takedowns=[TakedownView.of(t, now) for t in case.takedowns])
    return web.json_response(page.model_dump(mode="json"))


async def record_takedown(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/takedowns: a request sent to a platform, or a draft."""
    principal = await authorize(request, Scope.CASES_WRITE)
    body = await read_body(request, TakedownBody)
    request_id = new_request_id()

    def plan(case: Case, policy: Policy, now: datetime) -> Plan:
        return plan_record(
            case, body, actor=principal, request_id=request_id, policy=policy, now=now
        )

    return await _step(request, principal, request_id, plan, status=201)


async def takedown_step(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/takedowns/{request_id}/{send|answer|discard}."""
    principal = await authorize(request, Scope.CASES_WRITE)
    model, planner = STEPS[request.match_info["step"]]
    body = await _optional_body(request, model)
    request_id = request.match_info["request_id"]

    def plan(case: Case, policy: Policy, now: datetime) -> Plan:
        return planner(case, request_id, body, actor=principal, policy=policy, now=now)

    return await _step(request, principal, request_id, plan)


async def _step(
    request: web.Request, principal: str, request_id: str, plan: Planner, status: int = 200
) -> web.Response:
    """Perform a planned step on the case; its refusals as 4xx."""
    ctx = request.app[ROUTING]
    case_id = request.match_info["case_id"]
    refused = await _refusal(lambda: ctx.actions.change(case_id, principal, plan))
    if isinstance(refused, web.Response):
        return refused
    case = refused
    stored = next(t for t in case.takedowns if t.request_id == request_id)
    result = TakedownResult(
        takedown=TakedownView.of(stored, ctx.clock()),
        case=detail_with_evidence(ctx, case, principal),
    )
    return web.json_response(result.model_dump(mode="json"), status=status)


async def _refusal(call: Callable[[], Awaitable[Case]]) -> Case | web.Response:
    """The case the call stored, or the response refusing it."""
    try:
        return await call()
    except CaseNotFound:
        return json_error(404, "no such case")
    except TakedownNotFound as exc:
        return json_error(404, f"no takedown request {exc} on this case")
    except UnreadableCase as exc:
        return unreadable(exc)
    except InformedOnly as exc:
        return json_error(403, str(exc))
    except TakedownRefused as exc:
        return json_error(409, str(exc))
    except InvalidTakedown as exc:
        error = {"field": exc.field, "message": str(exc), "type": "value_error"}
        return json_error(422, f"{exc.field}: {exc}", [error])
    except ConcurrentChange:
        return json_error(409, "the case changed concurrently; read it again and retry")


async def _optional_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    """The body as `model`; an empty body is `model()` when every field of it is optional."""
    optional = not any(field.is_required() for field in model.model_fields.values())
    if optional and not await request.read():
        return model()
    return await read_body(request, model)


def add_takedown_routes(app: web.Application) -> None:
    """Register the takedown request endpoints."""
    base = "/api/v1/cases/{case_id}/takedowns"
    app.router.add_get(base, list_takedowns)
    app.router.add_post(base, record_takedown)
    steps = "|".join(STEPS)
    app.router.add_post(base + "/{request_id}/{step:(" + steps + ")}", takedown_step)
