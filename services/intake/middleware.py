"""Intake's own HTTP middleware: the per-client rate limit on submissions and lookups."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from services.intake.context import INTAKE
from services.intake.security import RateLimiter

log = logging.getLogger(__name__)

# Submissions: POST only (the form page itself, GET /, is not limited).
LIMITED_SUBMISSIONS = (("POST", "/"),)
# Submissions and lookups by tracking code: every method counts (HEAD answers 200/404 like GET,
# so an uncounted HEAD would be an oracle for guessing codes).
LIMITED_PATHS = (
    "/api/v1/reports",
    "/status",
    "/receipt/",  # a lookup by tracking code too
    "/open311/v2/requests",
)


SUBMISSION_PATHS = ("/", "/api/v1/reports")
ALL_CLIENTS = "all"


def is_submission(method: str, path: str) -> bool:
    """Whether the request submits a report (it counts against the global budget too)."""
    return method == "POST" and (
        path in SUBMISSION_PATHS or path.startswith("/open311/v2/requests")
    )


def is_rate_limited(method: str, path: str) -> bool:
    """Whether a request to `path` with `method` counts against the client's budget."""
    return path.startswith(LIMITED_PATHS) or (method, path) in LIMITED_SUBMISSIONS


@web.middleware
async def rate_limit(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Answer 429 with Retry-After when one client submits or looks up too fast."""
    if not is_rate_limited(request.method, request.path):
        return await handler(request)
    ctx = request.app[INTAKE]
    if (wait := ctx.rate_limiter.check(ctx.client(request))) > 0:
        raise _too_many(wait, "too many requests, slow down")
    submitting = is_submission(request.method, request.path)
    if submitting and (wait := ctx.submission_budget.check(ALL_CLIENTS)) > 0:
        log.warning("submission budget exhausted; shedding", extra={"path": request.path})
        raise _too_many(wait, "the service is receiving too many reports; try again shortly")
    return await handler(request)


def _too_many(wait: float, message: str) -> web.HTTPTooManyRequests:
    body = {"error": {"status": 429, "message": message}}
    return web.HTTPTooManyRequests(
        text=json.dumps(body),
        content_type="application/json",
        headers={"Retry-After": RateLimiter.retry_after_header(wait)},
    )
