"""The alert log API: `GET /api/v1/alerts` for supervisors."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.common import params
from services.common.auth import require_principal
from services.common.http import json_error
from services.notify.alert_views import DELIVERY_STATUSES, MAX_LEVEL, Alert, AlertList
from services.notify.alerts import AlertLog
from services.notify.openapi_doc import add_openapi_route

ALERTS: web.AppKey[AlertLog] = web.AppKey("alerts", AlertLog)
SUPERVISOR_TOKENS: web.AppKey[dict[str, str]] = web.AppKey("supervisor_tokens", dict)


def _filters(request: web.Request) -> tuple[dict[str, Any], int, list[dict[str, str]]]:
    query, errors = request.query, []
    filters: dict[str, Any] = {
        key: query[key] for key in ("agency", "case_id", "tracking_code") if query.get(key)
    }
    try:
        if (level := query.get("level")) is not None:
            filters["level"] = params.parse_int(
                level, field="level", default=1, minimum=1, maximum=MAX_LEVEL
            )
    except params.ParamError as exc:
        errors.append(exc.detail())
    if (status := query.get("status")) is not None:
        if status in DELIVERY_STATUSES:
            filters["deliveries.status"] = status
        else:
            errors.append(
                {
                    "field": "status",
                    "message": f"one of {', '.join(DELIVERY_STATUSES)}",
                    "type": "enum",
                }
            )
    try:
        limit = params.parse_int(
            query.get("limit"), field="limit", default=50, minimum=1, maximum=200
        )
    except params.ParamError as exc:
        errors.append(exc.detail())
        limit = 50
    return filters, limit, errors


async def list_alerts(request: web.Request) -> web.Response:
    """GET /api/v1/alerts: filters agency, case_id, tracking_code, level, status; cursor paging."""
    require_principal(request, request.app[SUPERVISOR_TOKENS], realm="alert-log")
    filters, limit, errors = _filters(request)
    if errors:
        return json_error(422, "invalid query parameters", errors)
    docs, cursor = await request.app[ALERTS].page(filters, limit, request.query.get("cursor"))
    page = AlertList(alerts=[Alert(alert_id=d["_id"], **d) for d in docs], next_cursor=cursor)
    return web.json_response(text=page.model_dump_json())


def add_api_routes(app: web.Application) -> None:
    """Register the alert log route and its OpenAPI document."""
    app.router.add_get("/api/v1/alerts", list_alerts)
    add_openapi_route(app)
