"""Intake's own HTTP middleware: the per-client rate limit on submissions and lookups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from services.intake.context import INTAKE
from services.intake.security import RateLimiter

RATE_LIMITED = (
    ("POST", "/"),
    ("POST", "/api/v1/reports"),
    ("GET", "/api/v1/reports/"),
    ("GET", "/status"),
    ("GET", "/receipt/"),  # a lookup by tracking code too
    ("POST", "/open311/v2/requests"),
    ("GET", "/open311/v2/requests"),
)


@web.middleware
async def rate_limit(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Answer 429 with Retry-After when one client submits or looks up too fast."""
    if not any(request.method == m and _matches(request.path, p) for m, p in RATE_LIMITED):
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


def _matches(path: str, pattern: str) -> bool:
    return path == pattern if pattern == "/" else path.startswith(pattern)
