"""The one service runtime: every service's app is built, run and stopped here.

A service hands over its settings and a `wire` function; the runtime opens the database,
lets `wire` build the service's objects and register its outbox relays, queues, consumers,
loops and readiness probes, then connects to the broker in the background (HTTP is served
meanwhile; `/readyz` says the broker is not there yet) and runs every loop under one
supervisor. Every request is counted and timed by route (`services.common.metrics`), and
traced when an OTLP endpoint is configured (`services.common.tracing`). Shutdown is bounded
at every step, so a service exits within a few seconds of SIGTERM whether the broker and the
database are up, down or unreachable.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aio_pika.abc import AbstractRobustConnection
from aiohttp import web
from pymongo.asynchronous.collection import AsyncCollection

from services.common.amqp import (
    Batched,
    Consumer,
    Handler,
    Publisher,
    QueueSpec,
    Topology,
    connect,
    declare_queue,
    open_consumer_channel,
)
from services.common.asyncapi import asyncapi_document
from services.common.brokerpolicy import ManagementEndpoint
from services.common.clock import Clock, utcnow
from services.common.contracts import Event
from services.common.http import (
    ADMIN_LISTENER,
    READINESS,
    add_operational_routes,
    admin_app,
    admin_paths_on_admin_listener,
    json_errors,
)
from services.common.metrics import http_metrics
from services.common.mongo import MongoDatabase, close_client, make_client, ping
from services.common.outbox import OutboxRelay, change_streams_used, use_change_streams
from services.common.outbox_stream import ChangeStreamRelay, ensure_spill_index, keeps_oplog
from services.common.retention import RetentionLoop, Sweep
from services.common.runtime import Supervisor, bounded
from services.common.settings import CommonSettings
from services.common.tracing import configure_tracing

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[bool]]
Middleware = Callable[..., Awaitable[web.StreamResponse]]
BROKER_LOOP = "broker-connect"
# Shutdown budget per step, in seconds; their sum stays well under the 5 s a service has.
STOP_CONSUMING, FINISH_IN_FLIGHT, STOP_LOOPS, CLOSE_BROKER, CLOSE_DATABASE = 0.5, 1.5, 1.0, 0.5, 0.5
# How long aiohttp lets in-flight HTTP requests finish after SIGTERM.
HTTP_SHUTDOWN_SECONDS = 1.0
# From SIGTERM to the end of the process, whatever a library leaves running.
EXIT_DEADLINE_SECONDS = 4.5
# The cyclic garbage collector's thresholds in a service process (CPython's are 700, 10, 10):
# a young collection every 10,000 net allocations rather than 700. At 115 reports/s the
# default ran about 900 collections a minute in each service, about 1.5 s of its CPU, and
# full collections of the start-up heap paused a service for up to 150 ms (`python -m
# bench.throughput`, README "Performance").
GC_THRESHOLDS = (10_000, 20, 20)


Relay = OutboxRelay | ChangeStreamRelay


@dataclass
class _Loop:
    name: str
    factory: Callable[[], Awaitable[None]]
    needs_broker: bool


@dataclass
class Runtime:
    """What a service's `wire` function gets: the app, settings, database, clock, and the
    means to register outbox relays, queues to declare, consumers, loops and probes."""

    app: web.Application
    settings: CommonSettings
    db: MongoDatabase
    clock: Clock
    supervisor: Supervisor = field(default_factory=Supervisor)
    relays: list[Relay] = field(default_factory=list)
    queues: list[QueueSpec] = field(default_factory=list)
    handlers: list[tuple[QueueSpec, Mapping[str, Handler | Batched]]] = field(default_factory=list)
    loops: list[_Loop] = field(default_factory=list)
    probes: dict[str, Probe] = field(default_factory=dict)
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    connection: AbstractRobustConnection | None = None
    consumers: list[Consumer] = field(default_factory=list)
    policies_applied: bool = False  # every queue's policy is set (needs the management API)

    @property
    def management(self) -> ManagementEndpoint:
        """The broker's management API, where queue policies are set."""
        return ManagementEndpoint.of(self.settings.amqp_url, self.settings.rabbitmq_management_url)

    @property
    def topology(self) -> Topology:
        """Exchange and queue names of this deployment."""
        return Topology(self.settings.topology_prefix)

    def outbox(self, collection: AsyncCollection[dict[str, Any]]) -> Relay:
        """A relay for `collection`'s events: read from its change stream where the database
        keeps an oplog (from the start, spilling while the broker is away), else found as
        pending outboxes and cleared once published (run once the broker is connected)."""
        streamed = change_streams_used()
        relay = (ChangeStreamRelay if streamed else OutboxRelay)(
            collection,
            batch=self.settings.outbox_batch,
            poll_seconds=self.settings.outbox_poll_seconds,
            linger_seconds=self.settings.outbox_linger_seconds,
            clock=self.clock,
        )
        self.relays.append(relay)
        name = "outbox-relay" if len(self.relays) == 1 else f"outbox-relay-{collection.name}"
        self.loop(name, relay.run, needs_broker=not streamed)
        self.loop(f"{name}-backlog", relay.track_backlog)
        return relay

    def declare(self, specs: Iterable[QueueSpec]) -> None:
        """Queues to declare at start that this service does not consume (e.g. agencies')."""
        self.queues.extend(specs)

    def consume(self, spec: QueueSpec, handlers: Mapping[str, Handler | Batched]) -> None:
        """Consume `spec` once connected, dispatching events by type to `handlers`."""
        self.handlers.append((spec, handlers))

    def loop(
        self, name: str, factory: Callable[[], Awaitable[None]], *, needs_broker: bool = False
    ) -> None:
        """Run `factory()` under the supervisor (after the broker connects if `needs_broker`)."""
        self.loops.append(_Loop(name, factory, needs_broker))

    def retain(self, sweeps: Sequence[Sweep]) -> RetentionLoop:
        """Remove what `sweeps` name once past its retention, in the supervised loop
        `retention` (services.common.retention)."""
        every = self.settings.retention_interval_seconds
        retention = RetentionLoop(sweeps, clock=self.clock, every_seconds=every)
        self.loop("retention", retention.run)
        return retention

    def on_stop(self, close: Callable[[], Awaitable[Any]]) -> None:
        """Something to close once the loops have stopped (e.g. an HTTP client session)."""
        self.closers.append(close)

    def probe(self, name: str, check: Probe) -> None:
        """An extra readiness check shown in `/readyz` under `name`."""
        self.probes[name] = check

    def asyncapi(self, service: Service) -> dict[str, Any]:
        """The AsyncAPI document of what this service publishes, consumes and declares."""
        return asyncapi_document(
            service=service.name,
            topology=self.topology,
            publishes=service.publishes,
            consumes=[(spec, handlers.keys()) for spec, handlers in self.handlers],
            declares=self.queues,
        )

    async def readiness(self) -> dict[str, bool]:
        """Database, broker, every loop, and the service's own probes."""
        broker = (
            self.supervisor.finished(BROKER_LOOP)
            and self.connection is not None
            and not self.connection.is_closed
        )
        checks = {
            "database": await ping(self.db),
            "broker": broker,
            "broker-policies": self.policies_applied,
        }
        loops = self.supervisor.status()
        loops.pop(BROKER_LOOP, None)
        checks.update({f"loop:{name}": running for name, running in loops.items()})
        for name, check in self.probes.items():
            checks[name] = await check()
        return checks

    def start(self) -> None:
        """Start the loops that need no broker, and the broker connection in the background."""
        for item in self.loops:
            if not item.needs_broker:
                self.supervisor.spawn(item.name, item.factory)
        self.supervisor.spawn(BROKER_LOOP, self._connect_broker, once=True)

    async def _connect_broker(self) -> None:
        """Connect (retrying), declare, start relays and consumers; on failure start over."""
        try:
            self.connection = await connect(self.settings.amqp_url)
            publisher = await Publisher.open(self.connection, self.topology)
            for spec in self.queues:
                await declare_queue(
                    publisher.channel,
                    self.topology,
                    spec,
                    delivery_limit=self.settings.delivery_limit,
                    management=self.management,
                )
            for relay in self.relays:
                relay.publisher = publisher
            await self._start_consumers(self.connection)
            self.policies_applied = True
        except Exception:
            await self._disconnect()
            raise
        for item in self.loops:
            if item.needs_broker:
                self.supervisor.spawn(item.name, item.factory)
        log.info("connected to the broker", extra={"queues": [s.name for s, _ in self.handlers]})

    async def _start_consumers(self, connection: AbstractRobustConnection) -> None:
        for spec, handlers in self.handlers:
            consuming = await open_consumer_channel(
                connection,
                self.topology,
                spec,
                prefetch=self.settings.prefetch,
                delivery_limit=self.settings.delivery_limit,
                management=self.management,
            )
            consumer = Consumer(consuming.queue, handlers)
            await consumer.start()
            self.consumers.append(consumer)

    async def stop(self) -> None:
        """Stop consuming, let in-flight messages finish, stop loops, close; each step bounded."""
        for consumer in self.consumers:
            await bounded(consumer.cancel(), seconds=STOP_CONSUMING, what="stop consuming")
        for consumer in self.consumers:
            await consumer.drain(seconds=FINISH_IN_FLIGHT)
        await self.supervisor.stop(seconds=STOP_LOOPS)
        for close in self.closers:
            await bounded(close(), seconds=CLOSE_BROKER, what="close a client")
        await self._disconnect()

    async def _disconnect(self) -> None:
        self.consumers.clear()
        if self.connection is not None:
            await bounded(self.connection.close(), seconds=CLOSE_BROKER, what="close the broker")
            self.connection = None


Wire = Callable[[Runtime], Awaitable[None]]


@dataclass(frozen=True)
class Service:
    """What a service declares: its name, settings, how to wire it, and its HTTP shape."""

    name: str
    settings: CommonSettings
    wire: Wire
    clock: Clock = utcnow
    middlewares: Sequence[Middleware] = ()
    client_max_size: int = 1024**2
    publishes: Sequence[type[Event]] = ()


RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)


def create_service_app(service: Service) -> web.Application:
    """An aiohttp app whose lifespan is the runtime; the caller adds its routes."""
    configure_tracing(service.name)
    app = web.Application(
        middlewares=[
            http_metrics,
            json_errors,
            admin_paths_on_admin_listener,
            *service.middlewares,
        ],
        client_max_size=service.client_max_size,
    )
    app.cleanup_ctx.append(_lifespan(service))

    async def readiness() -> Mapping[str, bool]:
        runtime = app.get(RUNTIME)
        return await runtime.readiness() if runtime else {"started": False}

    add_operational_routes(app, readiness)

    async def asyncapi(request: web.Request) -> web.Response:
        """GET /api/v1/asyncapi.json: the events this service publishes and consumes."""
        return web.json_response(app[RUNTIME].asyncapi(service))

    app.router.add_get("/api/v1/asyncapi.json", asyncapi)
    return app


def _lifespan(service: Service) -> Callable[[web.Application], AsyncIterator[None]]:
    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        settings = service.settings
        client = make_client(settings.mongo_url, timeout_ms=settings.mongo_timeout_ms)
        try:
            db = client[settings.mongo_db]
            streamed = await keeps_oplog(db)
            use_change_streams(streamed)
            if streamed:
                await ensure_spill_index(db)
            runtime = Runtime(app, settings, db, service.clock)
            await service.wire(runtime)
            app[RUNTIME] = runtime
            runtime.start()
            log.info("service started")
            try:
                yield
            finally:
                await runtime.stop()
        finally:
            await close_client(client, timeout=CLOSE_DATABASE)

    return lifespan


def serve(app: web.Application, settings: CommonSettings) -> None:
    """Serve until SIGTERM/SIGINT, then shut down within the runtime's bounds; `/readyz` and
    `/metrics` on the admin listener only."""
    app.on_shutdown.append(_exit_by_deadline)
    app.on_startup.append(_settle_heap)  # after the runtime's start (its cleanup context)
    gc.set_threshold(*GC_THRESHOLDS)
    app[ADMIN_LISTENER] = True
    app.cleanup_ctx.insert(0, _admin_listener(settings))
    try:
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            print=None,
            shutdown_timeout=HTTP_SHUTDOWN_SECONDS,
        )
    except web.GracefulExit:
        # aiohttp's handler ran again after the shutdown had begun: a second SIGTERM or SIGINT
        # (exit status 1, as aiohttp gives it). What was acknowledged is stored.
        log.warning("signalled again while shutting down; exiting before it finished")
        raise
    log.info("stopped")


def _admin_listener(
    settings: CommonSettings,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Serve the admin app beside the public one, from before the runtime starts (so `/readyz`
    says what is not ready yet) until after it stops."""

    async def listener(app: web.Application) -> AsyncIterator[None]:
        runner = web.AppRunner(admin_app(app[READINESS]), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.admin_host, settings.admin_listener_port)
        await site.start()
        log.info("admin listener started", extra={"address": site.name})
        try:
            yield
        finally:
            await runner.cleanup()

    return listener


async def _settle_heap(_: web.Application) -> None:
    """Collect once, then freeze what start-up built (modules, schemas, policies, clients): the
    collector never walks it again, so a full collection scans only what came since."""
    gc.collect()
    gc.freeze()
    log.info("start-up heap frozen", extra={"objects": gc.get_freeze_count()})


async def _exit_by_deadline(_: web.Application) -> None:
    """Arm a deadline for the whole process once shutdown begins.

    Every step of ours is bounded, but after them aiohttp waits, without a bound, for every
    task left to finish cancelling; with the database gone a driver task was seen to take
    10 s doing so. Past the deadline the process ends anyway: what it acknowledged is stored.
    """
    log.info("shutting down", extra={"deadline_seconds": EXIT_DEADLINE_SECONDS})
    timer = threading.Timer(EXIT_DEADLINE_SECONDS, _exit_now)
    timer.daemon = True
    timer.start()


def _exit_now() -> None:
    log.warning(
        "shutdown still waiting on library tasks; exiting",
        extra={"after_seconds": EXIT_DEADLINE_SECONDS},
    )
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(0)
