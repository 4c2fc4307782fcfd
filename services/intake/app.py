"""The intake app factory: HTTP form and API, the outbox relay, and the case-status consumer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aio_pika.abc import AbstractRobustConnection
from aiohttp import web

from services.common.amqp import (
    Consumer,
    Publisher,
    QueueSpec,
    Topology,
    connect,
    open_consumer_channel,
)
from services.common.clock import Clock, utcnow
from services.common.csrf import CsrfTokens
from services.common.http import add_operational_routes, json_errors
from services.common.mongo import MongoDatabase, mongo_database, ping
from services.common.outbox import OutboxRelay
from services.common.runtime import raise_if_cancelling
from services.intake.api import add_api_routes
from services.intake.context import INTAKE, IntakeContext
from services.intake.openapi_doc import add_openapi_route
from services.intake.repository import ReportRepository
from services.intake.security import RateLimiter
from services.intake.settings import IntakeSettings
from services.intake.status import StatusFollower
from services.intake.submission import Submission
from services.intake.views import add_form_routes

log = logging.getLogger(__name__)

STATUS_QUEUE = QueueSpec("intake.case-status", ("case.assigned.#", "case.updated.#"))
RATE_LIMITED = (
    ("POST", "/"),
    ("POST", "/api/v1/reports"),
    ("GET", "/api/v1/reports/"),
    ("GET", "/status"),
)


@dataclass
class BrokerLink:
    """The broker side of intake, connected in the background so reports are taken meanwhile."""

    connection: AbstractRobustConnection | None = None
    consumer: Consumer | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)


BROKER: web.AppKey[BrokerLink] = web.AppKey("broker", BrokerLink)
DATABASE: web.AppKey[MongoDatabase] = web.AppKey("database", MongoDatabase)


def create_app(
    settings: IntakeSettings,
    *,
    clock: Clock = utcnow,
    rate_limiter: RateLimiter | None = None,
) -> web.Application:
    """Build the intake app; resources open on startup and close on cleanup."""
    app = web.Application(
        middlewares=[json_errors, rate_limit], client_max_size=settings.max_body_bytes
    )
    limiter = rate_limiter or RateLimiter(
        per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst
    )
    app.cleanup_ctx.append(_resources(settings, clock, limiter))
    add_api_routes(app)
    add_form_routes(app)
    add_openapi_route(app)
    add_operational_routes(app, _readiness(app))
    return app


def _resources(
    settings: IntakeSettings, clock: Clock, limiter: RateLimiter
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def resources(app: web.Application) -> AsyncIterator[None]:
        async with mongo_database(
            settings.mongo_url, settings.mongo_db, timeout_ms=settings.mongo_timeout_ms
        ) as db:
            repository = ReportRepository(db)
            await repository.ensure_indexes()
            relay_wake = asyncio.Event()
            submission = Submission(repository, clock, relay_wake.set)
            app[DATABASE] = db
            app[INTAKE] = IntakeContext(
                settings, repository, submission, limiter, CsrfTokens(settings.csrf_secret)
            )
            app[BROKER] = link = BrokerLink()
            task = asyncio.create_task(_run_broker_side(settings, db, link, relay_wake, clock))
            try:
                yield
            finally:
                await _stop_broker_side(link, task)

    return resources


async def _run_broker_side(
    settings: IntakeSettings, db: MongoDatabase, link: BrokerLink, wake: asyncio.Event, clock: Clock
) -> None:
    """Connect (retrying), start the status consumer, then relay the outbox until cancelled."""
    topology = Topology(settings.topology_prefix)
    link.connection = await connect(settings.amqp_url)
    publisher = await Publisher.open(link.connection, topology)
    consuming = await open_consumer_channel(
        link.connection,
        topology,
        STATUS_QUEUE,
        prefetch=settings.prefetch,
        delivery_limit=settings.delivery_limit,
    )
    follower = StatusFollower(db)
    link.consumer = Consumer(
        consuming.queue,
        {"case.assigned": follower.apply, "case.updated": follower.apply},
    )
    await link.consumer.start()
    relay = OutboxRelay(
        db.reports,
        publisher,
        batch=settings.outbox_batch,
        poll_seconds=settings.outbox_poll_seconds,
        linger_seconds=settings.outbox_linger_seconds,
        clock=clock,
    )
    link.ready.set()
    log.info("connected to the broker; relaying reports")
    await asyncio.gather(relay.run(), _forward(wake, relay), _track_backlog(relay))


async def _forward(wake: asyncio.Event, relay: OutboxRelay) -> None:
    """Pass 'a report was stored' signals on to the relay."""
    while True:
        await wake.wait()
        wake.clear()
        relay.wake()


async def _track_backlog(relay: OutboxRelay, every_seconds: float = 5.0) -> None:
    """Keep the outbox backlog gauge current."""
    while True:
        try:
            await relay.backlog()
        except Exception:  # the gauge keeps its last value while the database is away
            raise_if_cancelling()
        await asyncio.sleep(every_seconds)


async def _stop_broker_side(link: BrokerLink, task: asyncio.Task[None]) -> None:
    """Stop consuming, let in-flight messages finish, stop the relay, close the connection."""
    if link.consumer is not None:
        await link.consumer.stop()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    if link.connection is not None:
        await link.connection.close()


def _readiness(app: web.Application) -> Callable[[], Awaitable[Mapping[str, bool]]]:
    async def check() -> Mapping[str, bool]:
        link = app[BROKER]
        broker = (
            link.ready.is_set() and link.connection is not None and not link.connection.is_closed
        )
        return {"database": await ping(app[DATABASE]), "broker": broker}

    return check


@web.middleware
async def rate_limit(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Answer 429 with Retry-After when one client submits or looks up too fast."""
    if not any(request.method == m and _matches(request.path, p) for m, p in RATE_LIMITED):
        return await handler(request)
    ctx = request.app[INTAKE]
    wait = ctx.rate_limiter.check(_client(request, ctx.settings.trust_forwarded_for))
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


def _client(request: web.Request, trust_forwarded_for: bool) -> str:
    forwarded = request.headers.get("X-Forwarded-For") if trust_forwarded_for else None
    return (forwarded.split(",")[0].strip() if forwarded else None) or request.remote or "unknown"
