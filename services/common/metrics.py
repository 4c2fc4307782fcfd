"""Prometheus metrics shared by every service's plumbing (one process runs one service),
and the middleware that counts and times every HTTP request by its route pattern."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import Counter, Gauge, Histogram

RequestHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MESSAGES_CONSUMED = Counter(
    "messages_consumed_total", "Messages consumed, by queue and outcome", ["queue", "outcome"]
)
OUTBOX_PUBLISHED = Counter(
    "outbox_published_total", "Events published from an outbox", ["collection"]
)
OUTBOX_BACKLOG = Gauge(
    "outbox_backlog_documents", "Documents with events not yet published", ["collection"]
)
PUBLISH_LATENCY = Histogram(
    "outbox_publish_latency_seconds",
    "From the event's occurrence to its confirmed publish",
    ["collection"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
PUBLISH_FAILURES = Counter(
    "outbox_publish_failures_total", "Relay batches that failed to publish", ["collection"]
)
LOOP_RESTARTS = Counter(
    "background_loop_restarts_total", "Background loops restarted after an error", ["loop"]
)
OUTBOX_HISTORY_LOST = Counter(
    "outbox_history_lost_total",
    "Times a change-stream relay's position had left the oplog (events may be unpublished)",
    ["collection"],
)
QUARANTINED = Counter(
    "quarantined_documents_total",
    "Documents (or outbox entries) a loop could not process, moved aside",
    ["collection"],
)

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by method, route pattern and status",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# Any other method is counted as `_OTHER`, so random methods cannot grow the label set.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CLIENT_GONE = 499  # the client went away before the answer (nginx's code for it)
UNMATCHED = "unmatched"  # the route label of a request no route matched (a 404 or 405)


@web.middleware
async def http_metrics(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
    """Count every request by method, route pattern and status, and time it by route."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = CLIENT_GONE
        raise
    finally:
        route = route_pattern(request)
        method = request.method if request.method in KNOWN_METHODS else "_OTHER"
        HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
        HTTP_DURATION.labels(route=route).observe(time.perf_counter() - started)


def route_pattern(request: web.Request) -> str:
    """The matched route's canonical pattern (`/api/v1/cases/{case_id}`), never the raw path."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED
