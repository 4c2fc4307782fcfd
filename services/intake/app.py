"""The intake app: HTTP form and API, the reports' outbox relay, the case-status consumer."""

from __future__ import annotations

from aiohttp import web

from services.common.amqp import Batched, QueueSpec
from services.common.clock import Clock, utcnow
from services.common.contracts import ReportSubmitted
from services.common.csrf import CsrfTokens
from services.common.i18n import language_middleware
from services.common.service import Runtime, Service, create_service_app
from services.intake.api import add_api_routes
from services.intake.context import EVIDENCE, INTAKE, IntakeContext
from services.intake.evidence_store import EvidenceStore
from services.intake.evidence_views import add_evidence_routes
from services.intake.headers import add_security_headers_to
from services.intake.middleware import rate_limit
from services.intake.open311 import add_open311_routes, open311_errors
from services.intake.openapi_doc import add_openapi_route
from services.intake.places import add_places_routes
from services.intake.reporters import ReporterIds, reporter_key
from services.intake.repository import ReportRepository
from services.intake.security import RateLimiter
from services.intake.settings import IntakeSettings
from services.intake.status import StatusFollower
from services.intake.submission import Submission
from services.intake.views import add_form_routes

STATUS_QUEUE = QueueSpec("intake.case-status", ("case.assigned.#", "case.updated.#"))


def create_app(
    settings: IntakeSettings,
    *,
    clock: Clock = utcnow,
    rate_limiter: RateLimiter | None = None,
    submission_budget: RateLimiter | None = None,
) -> web.Application:
    """Build the intake app; reports are taken while the broker is still being reached."""
    limiter = rate_limiter or RateLimiter(
        per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst
    )
    budget = submission_budget or RateLimiter(
        per_minute=settings.submissions_per_minute, burst=settings.submissions_burst
    )

    async def wire(runtime: Runtime) -> None:
        repository = ReportRepository(
            runtime.db,
            commit_batch=settings.commit_batch,
            commit_linger_seconds=settings.commit_linger_seconds,
        )
        await repository.ensure_indexes()
        relay = runtime.outbox(runtime.db.reports)
        submission = Submission(repository, clock, relay.wake, ReporterIds(reporter_key(settings)))
        runtime.app[INTAKE] = IntakeContext(
            settings, repository, submission, limiter, budget, CsrfTokens(settings.csrf_secret)
        )
        evidence = EvidenceStore(runtime.db, clock=clock)
        await evidence.ensure_indexes()
        runtime.app[EVIDENCE] = evidence
        runtime.loop("evidence-sweep", evidence.sweep_forever)
        follower = StatusFollower(runtime.db)
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
            publishes=[ReportSubmitted],
        )
    )
    add_security_headers_to(app)
    add_api_routes(app)
    add_places_routes(app)
    add_form_routes(app)
    add_evidence_routes(app)
    add_open311_routes(app)
    add_openapi_route(app)
    return app
