"""The agency API's split and merge: a supervisor regroups reports between cases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from services.common.http import json_error
from services.routing.actions import CaseNotFound, ConcurrentChange, UnreadableCase
from services.routing.api import ROUTING, caller, read_body, unreadable
from services.routing.apikeys import Scope
from services.routing.models import MergeBody, SplitBody, SplitResult, case_view
from services.routing.regrouping import InvalidRegrouping, NotSupervisor, RegroupConflict


async def split(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/split: a report out of the case into a case of its own."""
    principal, who = await caller(request, Scope.CASES_REASSIGN)
    ctx = request.app[ROUTING]
    body = await read_body(request, SplitBody)

    async def call() -> web.Response:
        case, new_case = await ctx.regrouping.split(
            request.match_info["case_id"], principal, body.report_id, body.reason, who
        )
        now = ctx.clock()
        result = SplitResult(
            case=case_view(case, principal, now), new_case=case_view(new_case, principal, now)
        )
        return web.json_response(result.model_dump(mode="json"))

    return await regrouped(call)


async def merge(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/merge: the case's reports into case `into`; it closes."""
    principal, who = await caller(request, Scope.CASES_REASSIGN)
    ctx = request.app[ROUTING]
    body = await read_body(request, MergeBody)

    async def call() -> web.Response:
        target = await ctx.regrouping.merge(
            request.match_info["case_id"], principal, body.into, body.reason, who
        )
        return web.json_response(case_view(target, principal, ctx.clock()).model_dump(mode="json"))

    return await regrouped(call)


async def regrouped(call: Callable[[], Awaitable[web.Response]]) -> web.Response:
    """The answer of a split or merge, its refusals mapped to 4xx."""
    try:
        return await call()
    except NotSupervisor as exc:
        return json_error(403, str(exc))
    except CaseNotFound:
        return json_error(404, "no such case")
    except UnreadableCase as exc:
        return unreadable(exc)
    except InvalidRegrouping as exc:
        # 409, not 422: the body is well formed; what it names does not fit the cases as
        # they stand (a report the case does not hold, a target that is no open case).
        error = {"field": exc.field, "message": str(exc), "type": "conflict"}
        return json_error(409, str(exc), [error])
    except RegroupConflict as exc:
        return json_error(409, str(exc))
    except ConcurrentChange:
        return json_error(409, "the case changed concurrently; read it again and retry")


def add_regroup_routes(app: web.Application) -> None:
    """Register split and merge."""
    app.router.add_post("/api/v1/cases/{case_id}/split", split)
    app.router.add_post("/api/v1/cases/{case_id}/merge", merge)
