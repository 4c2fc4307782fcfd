"""The notify app: deadline consumer, scanner, outbox relay, alert delivery, alert log and
its page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import aiohttp
from aiohttp import web

from services.common.amqp import QueueSpec
from services.common.clock import Clock, utcnow
from services.common.contracts import CaseEscalated, CaseWarning, PlatformDeadlineMissed
from services.common.mail import MailServer
from services.common.service import Runtime, Service, create_service_app
from services.common.workcalendar import CalendarBook, load_calendars
from services.notify.alerts import AlertLog
from services.notify.api import ALERTS, CLOCK, SUPERVISOR_TOKENS, WAKE_DELIVERY, add_api_routes
from services.notify.channels import HttpSender, WebhookSender
from services.notify.consumer import NotifyHandlers
from services.notify.deadlines import DeadlineStore
from services.notify.deliveries_page import add_page_routes
from services.notify.delivery import Deliverer, RetryPolicy, SendLimits
from services.notify.escalation import EscalationPolicy, load_escalation_policy
from services.notify.leases import AlertLeases
from services.notify.retention import notify_sweeps
from services.notify.scanner import Scanner
from services.notify.settings import NotifySettings
from services.notify.signing import SigningKeys, signing_keys

CASES_QUEUE = QueueSpec("notify.cases", ("case.assigned.#", "case.updated.#"))
ALERTS_QUEUE = QueueSpec(
    "notify.alerts", ("case.escalated.#", "case.warning.#", "case.platform_overdue.#")
)
CONSUMER_QUEUES = (CASES_QUEUE, ALERTS_QUEUE)


def create_app(
    settings: NotifySettings,
    *,
    clock: Clock = utcnow,
    policy: EscalationPolicy | None = None,
    calendars: CalendarBook | None = None,
) -> web.Application:
    """Build the notify app; the policy and the business calendars are loaded and validated
    here, before anything connects."""
    policy = policy or load_escalation_policy(settings.policy_path)
    calendars = calendars or load_calendars(settings.calendars_file)
    keys = webhook_keys(settings)
    if any(t.webhook for t in policy.targets) and keys is None:
        raise ValueError(
            "the escalation policy has webhook targets but neither NOTIFY_WEBHOOK_SECRETS"
            " nor NOTIFY_WEBHOOK_SECRET is set"
        )
    app = create_service_app(
        Service(
            "notify",
            settings,
            _wiring(settings, policy, calendars, keys, clock),
            clock=clock,
            publishes=[CaseEscalated, CaseWarning, PlatformDeadlineMissed],
        )
    )
    app[SUPERVISOR_TOKENS] = {digest: "supervisor" for digest in settings.supervisor_tokens}
    app[CLOCK] = clock
    add_api_routes(app)
    add_page_routes(app)
    return app


def webhook_keys(settings: NotifySettings) -> SigningKeys | None:
    """The webhook signing keys the settings name (newest first), or None for none."""
    legacy = settings.webhook_secret
    return signing_keys(
        [secret.get_secret_value() for secret in settings.webhook_secrets],
        legacy.get_secret_value() if legacy is not None else None,
    )


def smtp_settings(settings: NotifySettings) -> MailServer | None:
    """How to send e-mail, or None when no SMTP server is configured."""
    if not settings.smtp_host:
        return None
    return MailServer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        sender=settings.smtp_sender,
        timeout_seconds=settings.smtp_timeout_seconds,
    )


def _wiring(
    settings: NotifySettings,
    policy: EscalationPolicy,
    calendars: CalendarBook,
    keys: SigningKeys | None,
    clock: Clock,
) -> Callable[[Runtime], Awaitable[None]]:
    async def wire(runtime: Runtime) -> None:
        store = DeadlineStore(runtime.db, policy, clock, calendars)
        alerts = AlertLog(runtime.db)
        await store.ensure_indexes()
        await alerts.ensure_indexes()
        runtime.app[ALERTS] = alerts
        # One pool for every webhook and PagerDuty request, as wide as the deliverer sends.
        connector = aiohttp.TCPConnector(
            limit=settings.delivery_concurrency, limit_per_host=settings.delivery_per_host
        )
        session = aiohttp.ClientSession(connector=connector)
        runtime.on_stop(session.close)
        http = HttpSender(session, settings.webhook_timeout_seconds)
        deliverer = _deliverer(settings, alerts, store, http, keys, clock)
        runtime.app[WAKE_DELIVERY] = deliverer.wake
        relay = runtime.outbox(runtime.db.deadlines)
        scanner = Scanner(
            store,
            clock=clock,
            interval=settings.scan_interval_seconds,
            batch=settings.scan_batch,
            on_claimed=relay.wake,
        )
        store.on_due = scanner.wake_at  # a deadline stored here is looked at when it falls due
        handlers = NotifyHandlers(
            store,
            alerts,
            policy,
            clock,
            email_enabled=deliverer.smtp is not None,
            alert_recorded=deliverer.wake,
        )
        runtime.consume(CASES_QUEUE, handlers.case_handlers())
        runtime.consume(ALERTS_QUEUE, handlers.alert_handlers())
        runtime.loop("deadline-scanner", scanner.run)
        runtime.loop("alert-delivery", deliverer.run)
        runtime.loop("open-deadlines-gauge", scanner.track_open_deadlines)
        runtime.retain(
            notify_sweeps(
                runtime.db,
                clock,
                deadlines=timedelta(days=settings.closed_deadline_retention_days),
                alerts=timedelta(days=settings.alert_retention_days),
            )
        )

    return wire


def _deliverer(
    settings: NotifySettings,
    alerts: AlertLog,
    store: DeadlineStore,
    http: HttpSender,
    keys: SigningKeys | None,
    clock: Clock,
) -> Deliverer:
    retry = RetryPolicy(
        settings.retry_base_seconds,
        settings.retry_max_seconds,
        timedelta(seconds=settings.delivery_give_up_seconds),
    )
    return Deliverer(
        AlertLeases(alerts.collection),
        WebhookSender(http, keys) if keys is not None else None,
        http,
        smtp_settings(settings),
        retry,
        settings.case_url,
        clock,
        case_closed=store.is_closed,
        batch=settings.delivery_batch,
        limits=SendLimits(settings.delivery_concurrency, settings.delivery_per_host),
    )
