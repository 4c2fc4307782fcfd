"""Intake's own HTTP middleware: the per-client rate limit on submissions and lookups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from services.intake.context import INTAKE
from services.intake.security import RateLimiter

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
    wait = ctx.rate_limiter.check(ctx.client(request))
    if wait > 0:
        retry_after = RateLimiter.retry_after_header(wait)
        raise web.HTTPTooManyRequests(
            text='{"error": {"status": 429, "message": "too many requests, slow down"}}',
            content_type="application/json",
            headers={"Retry-After": retry_after},
        )
    return await handler(request)
