"""The alert log API for supervisors: `GET /api/v1/alerts`, and the manual re-send of one
delivery, `POST /api/v1/alerts/{alert_id}/deliveries/{n}/resend`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from services.common import params
from services.common.auth import bearer_token, hash_token, require_principal
from services.common.clock import Clock
from services.common.http import json_error
from services.notify.alert_views import (
    ALERT_KINDS,
    DELIVERY_STATUSES,
    MAX_DELIVERIES,
    MAX_LEVEL,
    Alert,
    AlertList,
    Delivery,
    ResendAccepted,
)
from services.notify.alerts import AlertLog
from services.notify.openapi_doc import add_openapi_route

ALERTS: web.AppKey[AlertLog] = web.AppKey("alerts", AlertLog)
SUPERVISOR_TOKENS: web.AppKey[dict[str, str]] = web.AppKey("supervisor_tokens", dict)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
WAKE_DELIVERY: web.AppKey[Callable[[], None]] = web.AppKey("wake_delivery")
TOKEN_ID_DIGITS = 12


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
    if (kind := query.get("kind")) is not None:
        if kind in ALERT_KINDS:
            filters["kind"] = kind
        else:
            errors.append(
                {"field": "kind", "message": f"one of {', '.join(ALERT_KINDS)}", "type": "enum"}
            )
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
    """GET /api/v1/alerts: filters agency, case_id, tracking_code, kind, level, status; cursor
    paging."""
    require_principal(request, request.app[SUPERVISOR_TOKENS], realm="alert-log")
    filters, limit, errors = _filters(request)
    if errors:
        return json_error(422, "invalid query parameters", errors)
    docs, cursor = await request.app[ALERTS].page(filters, limit, request.query.get("cursor"))
    page = AlertList(alerts=[Alert.from_document(d) for d in docs], next_cursor=cursor)
    return web.json_response(text=page.model_dump_json())


async def resend_delivery(request: web.Request) -> web.Response:
    """POST /api/v1/alerts/{alert_id}/deliveries/{n}/resend: queue one delivery again."""
    principal = require_principal(request, request.app[SUPERVISOR_TOKENS], realm="alert-log")
    alert_id = request.match_info["alert_id"]
    n = params.parse_int(
        request.match_info["n"], field="n", default=1, minimum=1, maximum=MAX_DELIVERIES
    )
    now = request.app[CLOCK]()
    asked = {
        "requested_by": principal,
        "token_id": hash_token(bearer_token(request) or "")[:TOKEN_ID_DIGITS],
        "requested_at": now,
    }
    outcome = await request.app[ALERTS].resend(alert_id, n, asked, now)
    if outcome.delivery is None:
        return json_error(outcome.status, outcome.message)
    request.app[WAKE_DELIVERY]()
    accepted = ResendAccepted(
        alert_id=alert_id, delivery=Delivery.model_validate({**outcome.delivery, "n": n})
    )
    return web.json_response(text=accepted.model_dump_json(), status=202)


def add_api_routes(app: web.Application) -> None:
    """Register the alert log routes and their OpenAPI document."""
    app.router.add_get("/api/v1/alerts", list_alerts)
    app.router.add_post("/api/v1/alerts/{alert_id}/deliveries/{n}/resend", resend_delivery)
    add_openapi_route(app)
