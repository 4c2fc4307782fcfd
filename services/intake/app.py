"""The intake app: HTTP form and API, the reports' outbox relay, the case-status consumer."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from aiohttp import web

from services.common.amqp import Batched, QueueSpec
from services.common.clock import Clock, utcnow
from services.common.contracts import ReportAppealed, ReportContactErased, ReportSubmitted
from services.common.csrf import CsrfTokens
from services.common.i18n import language_middleware
from services.common.mail import MailServer
from services.common.resealing import seal_clear_contacts
from services.common.service import Runtime, Service, create_service_app
from services.intake.api import add_api_routes
from services.intake.appeals import Appeals
from services.intake.context import EVIDENCE, INTAKE, IntakeContext
from services.intake.erasure import Erasures
from services.intake.erasure_views import add_erasure_routes
from services.intake.evidence_store import EvidenceStore
from services.intake.evidence_views import add_evidence_routes
from services.intake.headers import add_security_headers_to
from services.intake.mail_outbox import DecisionMails, drop_pending_mails
from services.intake.middleware import rate_limit
from services.intake.open311 import add_open311_routes, open311_errors
from services.intake.openapi_doc import add_openapi_route
from services.intake.places import add_places_routes
from services.intake.reporters import ReporterIds, reporter_key
from services.intake.repository import (
    REPORT_CONTACTS,
    ReportRepository,
    drop_unkeyed_request_hashes,
)
from services.intake.retention import intake_sweeps
from services.intake.security import RateLimiter
from services.intake.settings import IntakeSettings
from services.intake.status import StatusFollower
from services.intake.submission import Submission
from services.intake.views import add_form_routes

STATUS_QUEUE = QueueSpec("intake.case-status", ("case.assigned.#", "case.updated.#"))
CONSUMER_QUEUES = (STATUS_QUEUE,)


def create_app(
    settings: IntakeSettings,
    *,
    clock: Clock = utcnow,
    rate_limiter: RateLimiter | None = None,
    submission_budget: RateLimiter | None = None,
    content_limiter: RateLimiter | None = None,
) -> web.Application:
    """Build the intake app; reports are taken while the broker is still being reached."""
    limiter = rate_limiter or RateLimiter(
        per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst
    )
    budget = submission_budget or RateLimiter(
        per_minute=settings.submissions_per_minute, burst=settings.submissions_burst
    )
    per_content = content_limiter or RateLimiter(
        per_minute=settings.reports_per_content_per_minute,
        burst=settings.reports_per_content_burst,
        max_clients=10_000,
    )

    async def wire(runtime: Runtime) -> None:
        repository = ReportRepository(
            runtime.db,
            commit_batch=settings.commit_batch,
            commit_linger_seconds=settings.commit_linger_seconds,
        )
        await repository.ensure_indexes()
        contact_keys = settings.contact_key_ring()
        await seal_clear_contacts(runtime.db, REPORT_CONTACTS, contact_keys, clock())
        await drop_unkeyed_request_hashes(runtime.db, clock())
        relay = runtime.outbox(runtime.db.reports)
        submission = Submission(
            repository,
            clock,
            relay.wake,
            ReporterIds(reporter_key(settings)),
            per_content.check,
            contact_keys=contact_keys,
        )
        mails_of = partial(drop_pending_mails, runtime.db.mails)
        runtime.app[INTAKE] = IntakeContext(
            settings,
            repository,
            submission,
            limiter,
            budget,
            CsrfTokens(settings.csrf_secret),
            Appeals(repository, clock, relay.wake),
            Erasures(repository, clock, relay.wake, mails_of),
            clock,
        )
        evidence = EvidenceStore(runtime.db, clock=clock)
        await evidence.ensure_indexes()
        runtime.app[EVIDENCE] = evidence
        runtime.loop("evidence-sweep", evidence.sweep_forever)
        runtime.retain(
            intake_sweeps(
                runtime.db,
                idempotency=timedelta(days=settings.idempotency_retention_days),
                sent_mails=timedelta(days=settings.sent_mail_retention_days),
            )
        )
        mails = await decision_mails(runtime, settings, clock)
        follower = StatusFollower(runtime.db, decided=mails.queue if mails else None)
        follow = Batched(follower.apply_many)
        runtime.consume(STATUS_QUEUE, {"case.assigned": follow, "case.updated": follow})

    app = create_service_app(
        Service(
            "intake",
            settings,
            wire,
            clock=clock,
            middlewares=[open311_errors, rate_limit, language_middleware],
            client_max_size=settings.max_body_bytes,
            publishes=[ReportSubmitted, ReportAppealed, ReportContactErased],
        )
    )
    add_security_headers_to(app)
    add_api_routes(app)
    add_places_routes(app)
    add_form_routes(app)
    add_erasure_routes(app)
    add_evidence_routes(app)
    add_open311_routes(app)
    add_openapi_route(app)
    return app


async def decision_mails(
    runtime: Runtime, settings: IntakeSettings, clock: Clock
) -> DecisionMails | None:
    """The decision e-mails and their sending loop; None when no SMTP server is set."""
    if not settings.smtp_host:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    server = MailServer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=password,
        timeout_seconds=settings.smtp_timeout_seconds,
    )
    mails = DecisionMails(
        runtime.db,
        server,
        clock,
        settings.public_url,
        retry_seconds=settings.mail_retry_seconds,
        max_attempts=settings.mail_max_attempts,
        poll_seconds=settings.mail_poll_seconds,
        contact_keys=settings.contact_key_ring(),
    )
    await mails.ensure_indexes()
    runtime.loop("decision-mails", mails.run)
    return mails
