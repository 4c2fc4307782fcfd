"""The routing app factory: report consumer, outbox relay, agency queues and the agency API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from services.common.amqp import (
    Consumer,
    Publisher,
    QueueSpec,
    Topology,
    agency_queue,
    connect,
    declare_queue,
    open_consumer_channel,
)
from services.common.clock import Clock, utcnow
from services.common.contracts import TRIAGE
from services.common.http import (
    Probes,
    add_operational_routes,
    connection_open,
    json_errors,
    readiness_of,
)
from services.common.mongo import mongo_database, ping
from services.common.outbox import OutboxRelay
from services.common.runtime import background
from services.routing.actions import SUPERVISOR, CaseActions
from services.routing.api import ROUTING, RoutingContext, add_api_routes
from services.routing.cases import CaseRepository
from services.routing.console import add_console_routes
from services.routing.openapi_doc import add_openapi_route
from services.routing.policy import Policy, load_policy
from services.routing.router import Router
from services.routing.sessions import Sessions
from services.routing.settings import RoutingSettings

log = logging.getLogger(__name__)

REPORTS_QUEUE = QueueSpec("routing.reports", ("report.submitted",))
ESCALATIONS_QUEUE = QueueSpec("routing.escalations", ("case.escalated.#",))


def create_app(
    settings: RoutingSettings, *, clock: Clock = utcnow, policy: Policy | None = None
) -> web.Application:
    """Build the routing app; the policy is loaded and validated here, before anything connects."""
    policy = policy or load_policy(settings.policy_path)
    _check_tokens(settings, policy)
    app = web.Application(middlewares=[json_errors], client_max_size=256 * 1024)
    state: Probes = {}
    app.cleanup_ctx.append(_resources(settings, policy, clock, state))
    add_api_routes(app)
    secret = settings.session_secret.get_secret_value() if settings.session_secret else None
    add_console_routes(
        app, Sessions(secret, settings.tokens, settings.session_hours * 3600), secret
    )
    add_openapi_route(app)
    add_operational_routes(app, readiness_of(state))
    return app


def _check_tokens(settings: RoutingSettings, policy: Policy) -> None:
    known = set(policy.agencies) | {SUPERVISOR}
    unknown = sorted(set(settings.tokens.values()) - known)
    if unknown:
        raise ValueError(
            f"ROUTING_TOKENS names unknown principals {unknown}; known: {sorted(known)}"
        )


def _resources(
    settings: RoutingSettings,
    policy: Policy,
    clock: Clock,
    state: Probes,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def resources(app: web.Application) -> AsyncIterator[None]:
        topology = Topology(settings.topology_prefix)
        async with mongo_database(
            settings.mongo_url, settings.mongo_db, timeout_ms=settings.mongo_timeout_ms
        ) as db:
            repository = CaseRepository(db)
            await repository.ensure_indexes()
            connection = await connect(settings.amqp_url)
            try:
                publisher = await Publisher.open(connection, topology)
                relay = OutboxRelay(
                    db.cases,
                    publisher,
                    batch=settings.outbox_batch,
                    poll_seconds=settings.outbox_poll_seconds,
                    linger_seconds=settings.outbox_linger_seconds,
                    clock=clock,
                )
                for agency in [*policy.agencies, TRIAGE]:
                    await declare_queue(
                        publisher.channel,
                        topology,
                        agency_queue(agency),
                        delivery_limit=settings.delivery_limit,
                    )
                app[ROUTING] = RoutingContext(
                    settings, repository, CaseActions(repository, policy, clock, relay.wake), clock
                )
                router = Router(repository, policy, clock, relay.wake)
                consumers = [
                    Consumer(
                        (
                            await open_consumer_channel(
                                connection,
                                topology,
                                spec,
                                prefetch=settings.prefetch,
                                delivery_limit=settings.delivery_limit,
                            )
                        ).queue,
                        handlers,
                    )
                    for spec, handlers in (
                        (REPORTS_QUEUE, {"report.submitted": router.on_report}),
                        (ESCALATIONS_QUEUE, {"case.escalated": router.on_escalation}),
                    )
                ]
                state["database"] = lambda: ping(db)
                state["broker"] = lambda: connection_open(connection)
                async with background("outbox-relay", relay.run()):
                    for consumer in consumers:
                        await consumer.start()
                    log.info("routing started", extra={"policy_version": policy.version})
                    yield
                    for consumer in consumers:
                        await consumer.stop()
            finally:
                await connection.close()

    return resources
