"""Open311 GeoReport v2 on intake: the categories as services, service requests stored through
the same submission path as the JSON API, their status; errors as the spec's arrays."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import NoReturn

from aiohttp import web
from pydantic import ValidationError

from services.common.contracts import Category
from services.common.errortext import describe
from services.common.http import error_body, read_form
from services.common.labels import Language
from services.common.mongo import TRANSIENT_MONGO_ERRORS
from services.intake.api import IDEMPOTENCY_KEY
from services.intake.context import INTAKE
from services.intake.open311_form import (
    REQUEST_ID,
    Open311Refusal,
    map_form,
    message,
    report_errors,
    request_ids,
)
from services.intake.open311_models import (
    SPECIFICATION_URL,
    Discovery,
    Endpoint,
    Error,
    ErrorList,
    ServiceRequestList,
    request_created,
    service_definition,
    service_list,
    service_request,
)
from services.intake.open311_render import CONTENT_TYPES, Format, format_of, respond
from services.intake.repository import IdempotencyConflict
from services.intake.security import RateLimiter
from services.intake.submission import FLOODED, REPORTS_REJECTED, ContentFlooded

log = logging.getLogger(__name__)

ROOT = "/open311"
BASE = f"{ROOT}/v2"
FORMAT = "{format:json|xml}"
FORM_TYPES = ("application/x-www-form-urlencoded",)
CHANGESET = datetime(2026, 11, 29, tzinfo=UTC)  # when these endpoints last changed
CHANNEL = "open311"
# Answers that come from the plumbing (router, body limit, rate limit), in words.
PLUMBING = {
    404: "no such resource",
    405: "method not allowed",
    413: "body larger than the limit",
    429: "too many requests, slow down",
}
KEPT_HEADERS = ("Retry-After", "Allow")


def _format(request: web.Request) -> Format:
    return "xml" if request.match_info.get("format") == "xml" else "json"


def _language(request: web.Request) -> Language:
    """`?lang=vi|en` (Vietnamese when absent or empty); anything else is a 400."""
    chosen = request.query.get("lang", "")
    if chosen in ("", "vi", "en"):
        return "en" if chosen == "en" else "vi"
    raise Open311Refusal(400, [("lang", "phải là vi hoặc en (must be vi or en)")])


async def discovery(request: web.Request) -> web.Response:
    """GET /open311/discovery.{format}: the GeoReport v2 endpoint and its formats."""
    base = request.app[INTAKE].settings.public_url.rstrip("/")
    document = Discovery(
        changeset=CHANGESET,
        contact=f"{base}/",
        key_service="api_key is not needed (and not checked)",
        endpoints=[
            Endpoint(
                specification=SPECIFICATION_URL,
                url=f"{base}{BASE}",
                changeset=CHANGESET,
                type="production",
                formats=[CONTENT_TYPES["xml"], CONTENT_TYPES["json"]],
            )
        ],
    )
    return respond(document, "discovery", _format(request))


async def services(request: web.Request) -> web.Response:
    """GET services.{format}: the report categories as services."""
    return respond(service_list(_language(request)), "services", _format(request))


async def service(request: web.Request) -> web.Response:
    """GET services/{service_code}.{format}: the attributes a request for it carries."""
    lang = _language(request)
    try:
        category = Category(request.match_info["service_code"])
    except ValueError:
        raise Open311Refusal(404, [("service_code", message("unknown_service", lang))]) from None
    return respond(service_definition(category, lang), "service_definition", _format(request))


async def create_request(request: web.Request) -> web.Response:
    """POST requests.{format}: store a report from a form, exactly as POST /api/v1/reports."""
    ctx = request.app[INTAKE]
    lang = _language(request)
    if request.content_type not in FORM_TYPES:
        _reject("content_type", 415, "Content-Type", message("content_type", lang))
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        _reject("idempotency_key", 400, "Idempotency-Key", message("idempotency_key", lang))
    try:
        mapped = map_form(await read_form(request), lang)
    except Open311Refusal:
        REPORTS_REJECTED.labels(channel=CHANNEL, reason="parameters").inc()
        raise
    try:
        report = ctx.submission.validate(mapped.data, channel=CHANNEL)
    except ValidationError as exc:
        raise Open311Refusal(400, report_errors(exc, mapped.sources, lang)) from None
    try:
        stored = await ctx.submission.submit(
            report, channel=CHANNEL, idempotency_key=key, client=ctx.client(request)
        )
    except IdempotencyConflict:
        conflict = message("idempotency_conflict", lang)
        _reject("idempotency_conflict", 409, "Idempotency-Key", conflict)
    except ContentFlooded as exc:
        retry = {"Retry-After": RateLimiter.retry_after_header(exc.wait)}
        return error_response(429, [(None, FLOODED[lang])], _format(request), headers=retry)
    code = stored.document["tracking_code"]
    page = f"{ctx.settings.public_url.rstrip('/')}/status/{code}"
    created = request_created(
        code, account_id=mapped.account_id, lang=report.language, status_page=page
    )
    headers = {} if stored.created else {"Idempotent-Replayed": "true"}
    return respond(created, "service_requests", _format(request), status=201, headers=headers)


def _reject(reason: str, status: int, name: str, message: str) -> NoReturn:
    REPORTS_REJECTED.labels(channel=CHANNEL, reason=reason).inc()
    raise Open311Refusal(status, [(name, message)])


async def request_status(request: web.Request) -> web.Response:
    """GET requests/{service_request_id}.{format}: one request, or 404."""
    ctx = request.app[INTAKE]
    lang = _language(request)
    raw = request.match_info["service_request_id"]
    found = None
    if re.fullmatch(REQUEST_ID, raw):
        found = await ctx.repository.by_tracking_code(raw.upper())
    if found is None:
        raise Open311Refusal(404, [("service_request_id", message("unknown_request", lang))])
    requests = ServiceRequestList([service_request(found, lang)])
    return respond(requests, "service_requests", _format(request))


async def request_list(request: web.Request) -> web.Response:
    """GET requests.{format}?service_request_id=a,b: the requests named that exist. Only
    named ones: a tracking code is what lets its holder follow a report, so none is listed."""
    ctx = request.app[INTAKE]
    lang = _language(request)
    sent = request.query.getall("service_request_id", [])
    codes = request_ids(sent[0]) if len(sent) == 1 else None
    if codes is None:
        raise Open311Refusal(400, [("service_request_id", message("request_ids", lang))])
    found = [doc for code in codes if (doc := await ctx.repository.by_tracking_code(code))]
    requests = ServiceRequestList([service_request(doc, lang) for doc in found])
    return respond(requests, "service_requests", _format(request))


def error_response(
    status: int,
    errors: list[tuple[str | None, str]],
    fmt: Format,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """The spec's error answer: an array of {code, description}, each naming its field."""
    listed = ErrorList([Error(code=status, description=f"{n}: {m}" if n else m) for n, m in errors])
    return respond(listed, "errors", fmt, status=status, headers=headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def open311_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error under /open311/ in the spec's format, in the format the path asks for."""
    if not request.path.startswith(ROOT + "/"):
        return await handler(request)
    fmt = format_of(request.path)
    try:
        return await handler(request)
    except Open311Refusal as refusal:
        return error_response(refusal.status, list(refusal.errors), fmt)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = PLUMBING.get(exc.status) or exc.text or exc.reason
        kept = {k: v for k, v in exc.headers.items() if k in KEPT_HEADERS}
        return error_response(exc.status, [(None, message)], fmt, headers=kept)
    except TRANSIENT_MONGO_ERRORS as exc:
        log.warning("database unavailable", extra={"path": request.path, "error": describe(exc)})
        message = "database unavailable, try again shortly"
        return error_response(503, [(None, message)], fmt, headers={"Retry-After": "5"})
    except Exception:  # the service-wide JSON 500, as on every route of every service
        error_id = uuid.uuid4().hex
        log.exception("unexpected error", extra={"error_id": error_id, "path": request.path})
        answer = error_body(500, f"unexpected error; quote error id {error_id}")
        answer["error"]["error_id"] = error_id
        return web.json_response(answer, status=500)


def add_open311_routes(app: web.Application) -> None:
    """Register the GeoReport v2 endpoints and the discovery document."""
    app.router.add_get(f"{ROOT}/discovery.{FORMAT}", discovery)
    app.router.add_get(f"{BASE}/services.{FORMAT}", services)
    app.router.add_get(f"{BASE}/services/{{service_code}}.{FORMAT}", service)
    app.router.add_post(f"{BASE}/requests.{FORMAT}", create_request)
    app.router.add_get(f"{BASE}/requests.{FORMAT}", request_list)
    app.router.add_get(f"{BASE}/requests/{{service_request_id}}.{FORMAT}", request_status)
