"""HTTP plumbing every service shares: JSON errors, health, readiness and metrics endpoints."""

from __future__ import annotations

import html
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field, ValidationError

from services.common.errortext import describe
from services.common.mongo import TRANSIENT_MONGO_ERRORS
from services.common.params import ParamError

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[Mapping[str, bool]]]
READINESS: web.AppKey[ReadinessCheck] = web.AppKey("readiness", ReadinessCheck)  # type: ignore[arg-type]


class FieldError(BaseModel):
    """One bad field: its dotted path, a message and the error type."""

    field: str
    message: str
    type: str
    suggestions: list[str] | None = Field(
        default=None, description="For an unknown place: up to five names that would do."
    )


class ErrorDetail(BaseModel):
    """The body of every error response."""

    status: int
    message: str
    errors: list[FieldError] | None = None
    error_id: str | None = Field(
        default=None, description="On a 500: quote it; the log has the error under it."
    )


class ErrorResponse(BaseModel):
    """`{"error": {...}}`: the shape of every 4xx/5xx JSON answer."""

    error: ErrorDetail


def error_body(
    status: int, message: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The one JSON error shape: `{"error": {"status", "message", "errors": [...]}}`."""
    body: dict[str, Any] = {"status": status, "message": message}
    if errors:
        body["errors"] = errors
    return {"error": body}


def json_error(
    status: int, message: str, errors: list[dict[str, Any]] | None = None, **kwargs: Any
) -> web.Response:
    """A JSON error response."""
    return web.json_response(error_body(status, message, errors), status=status, **kwargs)


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic errors as `{field, message, type}` items, the field a dotted path."""
    return [_field_error(err) for err in exc.errors(include_url=False)]


def _field_error(err: Any) -> dict[str, Any]:
    item = {
        "field": ".".join(str(p) for p in err["loc"]) or "body",
        "message": err["msg"],
        "type": err["type"],
    }
    if (suggestions := (err.get("ctx") or {}).get("suggestions")) is not None:
        item["suggestions"] = list(suggestions)
    return item


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Errors as JSON bodies on the API: a bad parameter is a 422 naming it, a database outage
    a 503, and anything unexpected a 500 carrying an error id that is also in the log."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if not _is_api(request) or exc.status < 400 or exc.content_type == "application/json":
            raise
        return json_error(exc.status, exc.reason, headers=_kept_headers(exc))
    except ParamError as exc:
        if not _is_api(request):
            return _html_error(400, f"{exc.field}: {exc.message}")
        return json_error(422, "invalid parameters", [exc.detail()])
    except TRANSIENT_MONGO_ERRORS as exc:
        log.warning("database unavailable", extra={"path": request.path, "error": describe(exc)})
        if not _is_api(request):
            return _html_error(503, "database unavailable, try again shortly")
        return json_error(
            503, "database unavailable, try again shortly", headers={"Retry-After": "5"}
        )
    except Exception:
        error_id = uuid.uuid4().hex
        log.exception("unexpected error", extra={"error_id": error_id, "path": request.path})
        message = f"unexpected error; quote error id {error_id}"
        if not _is_api(request):
            return _html_error(500, message)
        body = error_body(500, message)
        body["error"]["error_id"] = error_id
        return web.json_response(body, status=500)


def _html_error(status: int, message: str) -> web.Response:
    """A minimal error page for the HTML side (forms, console)."""
    text = html.escape(message)
    page = (
        f"<!doctype html><html lang=vi><meta charset=utf-8><title>{status}</title>"
        f"<h1>{status}</h1><p>{text}</p></html>"
    )
    return web.Response(status=status, text=page, content_type="text/html")


async def read_form(request: web.Request) -> MultiDictProxy[Any]:
    """The request's form fields; a body that is not a readable form is a 400, not a 500."""
    try:
        return await request.post()
    except UnicodeDecodeError:
        raise web.HTTPBadRequest(text="form data is not valid UTF-8") from None
    except ValueError as exc:  # e.g. multipart without a boundary, or a broken one
        raise web.HTTPBadRequest(text=f"form data cannot be read: {exc}") from None
    except LookupError:  # a charset Python does not know
        raise web.HTTPBadRequest(text="form data is in an unknown charset") from None


def repeated_fields(form: MultiDictProxy[Any], names: Iterable[str]) -> list[str]:
    """The single-valued fields a form sends more than once (ambiguous: refused, not guessed)."""
    return [name for name in names if len(form.getall(name, [])) > 1]


def decode_json_body(body: bytes) -> Any:
    """Parse a UTF-8 JSON body; raise ValueError with a message a client can act on (also for
    bodies nested too deep or numbers too long to convert)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError:
        raise ValueError("body is nested too deeply") from None
    except ValueError:
        raise ValueError("body holds a number too long to read") from None


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def _kept_headers(exc: web.HTTPException) -> dict[str, str]:
    return {
        k: v for k, v in exc.headers.items() if k in ("Retry-After", "Allow", "WWW-Authenticate")
    }


async def healthz(_: web.Request) -> web.Response:
    """Alive: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready: every dependency check passes (broker, database, ...)."""
    checks = dict(await request.app[READINESS]())
    ready = all(checks.values())
    return web.json_response(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


async def metrics_endpoint(_: web.Request) -> web.Response:
    """Prometheus text exposition."""
    response = web.Response(body=generate_latest())
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response


ADMIN_ONLY_PATHS = frozenset({"/readyz", "/metrics"})
# Set on an app served with an admin listener: its public port no longer answers those paths.
ADMIN_LISTENER: web.AppKey[bool] = web.AppKey("admin_listener", bool)


def add_operational_routes(app: web.Application, readiness: ReadinessCheck) -> None:
    """Register `/healthz`, `/readyz` and `/metrics`."""
    app[READINESS] = readiness
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)


def admin_app(readiness: ReadinessCheck) -> web.Application:
    """The admin listener's app: `/healthz`, `/readyz` and `/metrics` only."""
    app = web.Application()
    add_operational_routes(app, readiness)
    return app


@web.middleware
async def admin_paths_on_admin_listener(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """On an app served with an admin listener, `/readyz` and `/metrics` are 404 on the public
    port: what the service depends on and how busy it is are not for the public."""
    if request.path in ADMIN_ONLY_PATHS and request.app.get(ADMIN_LISTENER, False):
        raise web.HTTPNotFound(
            text=json.dumps(error_body(404, "not found")), content_type="application/json"
        )
    return await handler(request)


Probes = dict[str, Callable[[], Awaitable[bool]]]


def readiness_of(probes: Probes) -> ReadinessCheck:
    """A readiness check running each named probe (filled in once the resources exist)."""

    async def check() -> Mapping[str, bool]:
        return {name: await probe() for name, probe in probes.items()} or {"started": False}

    return check


async def connection_open(connection: object) -> bool:
    """True while an AMQP connection is open."""
    return not getattr(connection, "is_closed", True)
