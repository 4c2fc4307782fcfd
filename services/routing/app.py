"""The routing app: report consumer, outbox relay, agency queues, agency API and console."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from services.common.amqp import Batched, QueueSpec, agency_queue
from services.common.clock import Clock, utcnow
from services.common.contracts import TRIAGE, CaseAssigned, CaseShared, CaseUpdated
from services.common.mongo import MongoDatabase
from services.common.resealing import seal_clear_contacts
from services.common.service import Runtime, Service, create_service_app
from services.common.workcalendar import load_calendars
from services.routing.accounts import ACCOUNTS, Accounts
from services.routing.actions import SUPERVISOR, CaseActions
from services.routing.api import ROUTING, RoutingContext, add_api_routes
from services.routing.apikeys import ApiKeyStore
from services.routing.assign_api import add_assign_route
from services.routing.cases import CaseRepository
from services.routing.console_routes import add_console_routes
from services.routing.contact_api import add_contact_routes
from services.routing.contacts import CASE_CONTACTS
from services.routing.erasure import ContactErasures
from services.routing.legalhold_api import add_legal_hold_routes
from services.routing.openapi_doc import add_openapi_route
from services.routing.policy import Policy, load_policy
from services.routing.regroup_api import add_regroup_routes
from services.routing.regrouping import Regrouping
from services.routing.router import Router
from services.routing.sessions import SESSIONS, Sessions, console_sessions
from services.routing.settings import RoutingSettings
from services.routing.takedown_api import add_takedown_routes
from services.routing.transparency_api import add_transparency_routes

REPORTS_QUEUE = QueueSpec("routing.reports", ("report.submitted",))
ESCALATIONS_QUEUE = QueueSpec("routing.escalations", ("case.escalated.#",))
APPEALS_QUEUE = QueueSpec("routing.appeals", ("report.appealed",))
ERASURES_QUEUE = QueueSpec("routing.erasures", ("report.contact_erased",))
CONSUMER_QUEUES = (REPORTS_QUEUE, ESCALATIONS_QUEUE, APPEALS_QUEUE, ERASURES_QUEUE)


def create_app(
    settings: RoutingSettings, *, clock: Clock = utcnow, policy: Policy | None = None
) -> web.Application:
    """Build the routing app; the policy is loaded and validated here, before anything connects."""
    policy = (policy or load_policy(settings.policy_path)).with_calendars(
        load_calendars(settings.calendars_file)
    )
    _check_tokens(settings, policy)
    contact_keys = settings.contact_key_ring()

    async def wire(runtime: Runtime) -> None:
        repository = CaseRepository(runtime.db, clock=clock)
        await repository.ensure_indexes(clock())
        await seal_clear_contacts(runtime.db, CASE_CONTACTS, contact_keys, clock())
        relay = runtime.outbox(runtime.db.cases)
        # Agencies' queues exist from the start, so their cases wait even while nobody consumes.
        runtime.declare(agency_queue(agency) for agency in [*policy.agencies, TRIAGE])
        actions = CaseActions(repository, policy, clock, relay.wake)
        keys = ApiKeyStore(runtime.db, clock=clock, cache_seconds=settings.api_key_cache_seconds)
        await keys.ensure_indexes()
        runtime.loop("api-key-usage", keys.record_usage)
        runtime.on_stop(keys.flush_usage)
        regrouping = Regrouping(actions, repository, clock, relay.wake)
        runtime.app[ROUTING] = RoutingContext(
            settings, repository, actions, clock, keys, regrouping
        )
        router = Router(repository, policy, clock, relay.wake, contact_keys=contact_keys)
        runtime.consume(REPORTS_QUEUE, {"report.submitted": Batched(router.on_reports)})
        runtime.consume(ESCALATIONS_QUEUE, {"case.escalated": Batched(router.on_escalations)})
        runtime.consume(APPEALS_QUEUE, {"report.appealed": router.on_appeal})
        erasures = ContactErasures(repository, clock)
        runtime.consume(ERASURES_QUEUE, {"report.contact_erased": erasures.on_erased})
        await wire_staff(runtime.app, runtime.db)

    async def wire_staff(app: web.Application, db: MongoDatabase) -> None:
        """The console's server-side sessions and the built-in account store."""
        sessions = Sessions(
            db,
            clock=clock,
            lifetime=timedelta(hours=settings.session_hours),
            idle=timedelta(minutes=settings.session_idle_minutes),
        )
        await sessions.ensure_indexes()
        accounts = Accounts(db, clock=clock, sessions=sessions)
        await accounts.ensure_indexes()
        app[SESSIONS] = sessions
        app[ACCOUNTS] = accounts

    app = create_service_app(
        Service(
            "routing",
            settings,
            wire,
            clock=clock,
            client_max_size=256 * 1024,
            publishes=[CaseAssigned, CaseUpdated, CaseShared],
            middlewares=[console_sessions],
        )
    )
    add_api_routes(app)
    add_regroup_routes(app)
    add_takedown_routes(app)
    add_contact_routes(app, contact_keys)
    add_assign_route(app)
    add_legal_hold_routes(app)
    secret = settings.session_secret.get_secret_value() if settings.session_secret else None
    add_console_routes(app, secret, settings.login_per_minute)
    add_transparency_routes(app)
    add_openapi_route(app)
    return app


def _check_tokens(settings: RoutingSettings, policy: Policy) -> None:
    known = set(policy.agencies) | {SUPERVISOR}
    unknown = sorted(set(settings.tokens.values()) - known)
    if unknown:
        raise ValueError(
            f"ROUTING_TOKENS names unknown principals {unknown}; known: {sorted(known)}"
        )
