"""The transparency report over HTTP: JSON and CSV for supervisors and agencies, and the routes
of the console's and the public pages (`transparency_pages`).

`GET /api/v1/transparency?from=YYYY-MM-DD&to=YYYY-MM-DD[&format=csv]` (scope cases:read): the
period and the CSV are described in `transparency_query`. A supervisor gets every agency's
figures; an agency gets its own cases' figures only (every row names it).
"""

from __future__ import annotations

from aiohttp import web

from services.common import params
from services.common.http import error_body
from services.routing.actions import SUPERVISOR
from services.routing.api import ROUTING, authorize
from services.routing.apikeys import Scope
from services.routing.transparency_pages import (
    PUBLIC,
    PublicCache,
    console_download,
    console_page,
    public_json,
    public_page,
)
from services.routing.transparency_query import (
    PeriodError,
    download,
    load_report,
    parse_period,
    scope_of,
    this_month,
)
from services.routing.visibility import sees_sensitive


async def api_report(request: web.Request) -> web.Response:
    """GET /api/v1/transparency: the figures of a period, JSON or CSV (`format=csv`)."""
    principal = await authorize(request, Scope.CASES_READ)
    ctx = request.app[ROUTING]
    problems: list[params.ParamError] = []
    try:
        period = parse_period(request.query, this_month(ctx.clock()), blank_is_default=False)
    except PeriodError as exc:
        problems = exc.problems
    form = request.query.get("format", "json")
    if form not in ("json", "csv"):
        problems.append(params.ParamError("format", "json or csv"))
    if problems:
        body = error_body(422, "bad query", [p.detail() for p in problems])
        return web.json_response(body, status=422)
    report = await load_report(
        ctx, period, scope_of(principal), sensitive_detail=sees_sensitive(principal)
    )
    return download(report, principal if principal != SUPERVISOR else "all", form == "csv")


def add_transparency_routes(app: web.Application) -> None:
    """Register the transparency API, the console page and the public page."""
    app[PUBLIC] = PublicCache()
    app.router.add_get("/api/v1/transparency", api_report)
    app.router.add_get("/console/transparency", console_page)
    app.router.add_get("/console/transparency.{format:json|csv}", console_download)
    app.router.add_get("/transparency", public_page)
    app.router.add_get("/transparency.json", public_json)
