"""The notify app factory: deadline consumer, scanner, outbox relay, alert delivery, alert log."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import aiohttp
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
from services.notify.alerts import AlertLog
from services.notify.api import ALERTS, SUPERVISOR_TOKENS, add_api_routes
from services.notify.channels import SmtpSettings, WebhookSender
from services.notify.consumer import NotifyHandlers
from services.notify.deadlines import DeadlineStore
from services.notify.delivery import Deliverer, RetryPolicy
from services.notify.escalation import EscalationPolicy, load_escalation_policy
from services.notify.scanner import Scanner
from services.notify.settings import NotifySettings

log = logging.getLogger(__name__)

CASES_QUEUE = QueueSpec("notify.cases", ("case.assigned.#", "case.updated.#"))
ALERTS_QUEUE = QueueSpec("notify.alerts", ("case.escalated.#",))


def create_app(
    settings: NotifySettings, *, clock: Clock = utcnow, policy: EscalationPolicy | None = None
) -> web.Application:
    """Build the notify app; the policy is loaded and validated here, before anything connects."""
    policy = policy or load_escalation_policy(settings.policy_path)
    if any(t.webhook for t in policy.targets) and settings.webhook_secret is None:
        raise ValueError(
            "the escalation policy has webhook targets but NOTIFY_WEBHOOK_SECRET is not set"
        )
    app = web.Application(middlewares=[json_errors])
    app[SUPERVISOR_TOKENS] = {digest: "supervisor" for digest in settings.supervisor_tokens}
    probes: Probes = {}
    app.cleanup_ctx.append(_resources(settings, policy, clock, probes))
    add_api_routes(app)
    add_operational_routes(app, readiness_of(probes))
    return app


def smtp_settings(settings: NotifySettings) -> SmtpSettings | None:
    """How to send e-mail, or None when no SMTP server is configured."""
    if not settings.smtp_host:
        return None
    return SmtpSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        sender=settings.smtp_sender,
        timeout_seconds=settings.smtp_timeout_seconds,
    )


def _resources(
    settings: NotifySettings, policy: EscalationPolicy, clock: Clock, probes: Probes
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def resources(app: web.Application) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            db = await stack.enter_async_context(
                mongo_database(
                    settings.mongo_url, settings.mongo_db, timeout_ms=settings.mongo_timeout_ms
                )
            )
            store, alerts = DeadlineStore(db, policy, clock), AlertLog(db)
            await store.ensure_indexes()
            await alerts.ensure_indexes()
            app[ALERTS] = alerts
            session = await stack.enter_async_context(aiohttp.ClientSession())
            deliverer = _deliverer(settings, alerts, session, clock)
            connection = await connect(settings.amqp_url)
            stack.push_async_callback(connection.close)
            topology = Topology(settings.topology_prefix)
            relay = OutboxRelay(
                db.deadlines,
                await Publisher.open(connection, topology),
                batch=settings.outbox_batch,
                poll_seconds=settings.outbox_poll_seconds,
                linger_seconds=settings.outbox_linger_seconds,
                clock=clock,
            )
            scanner = Scanner(
                store,
                clock=clock,
                interval=settings.scan_interval_seconds,
                batch=settings.scan_batch,
                on_claimed=relay.wake,
            )
            handlers = NotifyHandlers(
                store,
                alerts,
                policy,
                clock,
                email_enabled=deliverer.smtp is not None,
                deadline_changed=scanner.wake,
                alert_recorded=deliverer.wake,
            )
            consumers = []
            for spec, routes in (
                (
                    CASES_QUEUE,
                    {
                        "case.assigned": handlers.on_case_event,
                        "case.updated": handlers.on_case_event,
                    },
                ),
                (ALERTS_QUEUE, {"case.escalated": handlers.on_escalation}),
            ):
                channel = await open_consumer_channel(
                    connection,
                    topology,
                    spec,
                    prefetch=settings.prefetch,
                    delivery_limit=settings.delivery_limit,
                )
                consumers.append(Consumer(channel.queue, routes))
            probes["database"] = lambda: ping(db)
            probes["broker"] = lambda: connection_open(connection)
            for name, task in (
                ("outbox-relay", relay.run()),
                ("deadline-scanner", scanner.run()),
                ("alert-delivery", deliverer.run()),
                ("open-deadlines-gauge", scanner.track_open_deadlines()),
            ):
                await stack.enter_async_context(background(name, task))
            for consumer in consumers:
                await consumer.start()
                stack.push_async_callback(consumer.stop)
            log.info("notify started", extra={"policy_version": policy.version})
            yield

    return resources


def _deliverer(
    settings: NotifySettings, alerts: AlertLog, session: aiohttp.ClientSession, clock: Clock
) -> Deliverer:
    secret = settings.webhook_secret
    webhooks = (
        WebhookSender(session, secret.get_secret_value().encode(), settings.webhook_timeout_seconds)
        if secret is not None
        else None
    )
    retry = RetryPolicy(
        settings.retry_base_seconds,
        settings.retry_max_seconds,
        timedelta(seconds=settings.delivery_give_up_seconds),
    )
    return Deliverer(alerts, webhooks, smtp_settings(settings), retry, settings.case_url, clock)
