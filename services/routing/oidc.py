"""Staff sign in to the console through their agency's OpenID Connect provider.

`GET /console/login/oidc/{provider}` sends the browser to the provider with a new flow (kept in
a short-lived HttpOnly, SameSite=Lax cookie: Strict would not come back with the provider's
redirect); `GET /console/oidc/callback` checks the state, exchanges the code, validates the ID
token (`oidc_client`), maps its claims to a `Person`, records them in the account store (where
an administrator can disable them) and starts a session. Anything wrong ends on the sign-in
page with a message in the reader's language (4xx), and the reason in the log.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Mapping, Set
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from services.common.i18n import localised, request_language
from services.routing import console_texts as texts
from services.routing.accounts import ACCOUNTS, AccountProblem, check_person
from services.routing.api import ROUTING
from services.routing.console_login import login_page, safe_next, signed_in
from services.routing.oidc_client import (
    FLOW_SECONDS,
    HTTP_TIMEOUT,
    START_PATH,
    Flow,
    RelyingParty,
    SignInFailed,
)
from services.routing.people import AGENCY_ROLES, Person, Role
from services.routing.settings import OidcProvider

log = logging.getLogger(__name__)

FLOW_COOKIE = "console_oidc_flow"
FLOW_PATH = "/console/oidc"
CALLBACK_PATH = "/console/oidc/callback"
SPENT_STATES_MAX = 10_000
MAX_NEXT = 500
ROLE_NAMES = frozenset(role.value for role in Role)
ALL = "*"  # a scope claim's value for "every agency" or "every province"

REFUSALS = {
    "no_provider": localised("There is no such way to sign in."),
    "idp_refused": localised(
        "Your identity provider did not sign you in. Try again, or ask your administrator."
    ),
    "bad_state": localised(
        "This sign-in did not start in this browser, or was already used. Please sign in again."
    ),
    "expired": localised("The sign-in took too long and expired. Please sign in again."),
    "provider_failed": localised(
        "Your identity provider cannot be reached right now. Please try again later."
    ),
    "bad_id_token": localised(
        "Your identity provider's answer could not be verified, so you are not signed in."
    ),
    "no_role": localised(
        "Your account has no role in this console. Ask your administrator to grant one."
    ),
    "unknown_agency": localised(
        "Your account names no agency this console knows. Ask your administrator."
    ),
    "disabled": localised("This account is disabled. Ask your administrator."),
}


@dataclass
class OidcSignIn:
    """The relying parties of the configured providers, their HTTP client, and the states
    already used here (a replayed callback is refused even with its cookie)."""

    http: aiohttp.ClientSession | None = None
    parties: dict[str, RelyingParty] = field(default_factory=dict)
    spent: dict[str, float] = field(default_factory=dict)

    def party(self, request: web.Request, name: str) -> RelyingParty | None:
        """The relying party of the provider called `name`, or None."""
        if name not in self.parties:
            ctx = request.app[ROUTING]
            provider = next((p for p in ctx.settings.oidc_providers if p.name == name), None)
            if provider is None or self.http is None:
                return None
            self.parties[name] = RelyingParty(provider, self.http, ctx.clock)
        return self.parties[name]

    def take(self, request: web.Request) -> tuple[Flow, RelyingParty]:
        """The flow the callback finishes (its cookie genuine and unexpired, its state the
        callback's, not used before) and the relying party of its provider."""
        name, _, sealed = request.cookies.get(FLOW_COOKIE, "").partition(".")
        party = self.party(request, name) if sealed else None
        flow = party.unseal(sealed) if party else None
        if flow is None or party is None:
            raise SignInFailed("expired", "no flow cookie, or forged or expired")
        state = request.query.get("state", "")
        if not secrets.compare_digest(state.encode(), flow.state.encode()):
            raise SignInFailed("bad_state", "the state is not the flow's")
        now = request.app[ROUTING].clock().timestamp()
        if self.spent.get(flow.state, 0.0) > now:
            raise SignInFailed("bad_state", "the state was used before")
        self._spend(flow.state, now + FLOW_SECONDS, now)
        return flow, party

    def _spend(self, state: str, until: float, now: float) -> None:
        """Remember a used state until its flow would have expired anyway (the oldest
        forgotten first when too many: the provider refuses a code used twice regardless)."""
        self.spent = {s: t for s, t in self.spent.items() if t > now}
        while len(self.spent) >= SPENT_STATES_MAX:
            del self.spent[next(iter(self.spent))]
        self.spent[state] = until


OIDC: web.AppKey[OidcSignIn] = web.AppKey("console_oidc", OidcSignIn)


def add_oidc_routes(app: web.Application) -> None:
    """Register the two routes of sign-in through OpenID Connect, and its HTTP client."""
    app[OIDC] = OidcSignIn()
    app.cleanup_ctx.append(_http_client)
    app.router.add_get(START_PATH.format(name="{provider}"), start)
    app.router.add_get(CALLBACK_PATH, callback)


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        app[OIDC].http = http
        yield
        app[OIDC].http = None
        app[OIDC].parties.clear()


async def start(request: web.Request) -> web.StreamResponse:
    """GET /console/login/oidc/{provider}: off to the provider with a new flow."""
    name = request.match_info["provider"]
    party = request.app[OIDC].party(request, name)
    if party is None:
        page = await _refused(request, SignInFailed("no_provider", name))
        page.set_status(404)
        return page
    flow = Flow.start(name, _next_path(request.query.get("next")))
    try:
        url = await party.authorization_url(flow, _redirect_uri(request), request_language(request))
    except SignInFailed as exc:
        return await _refused(request, exc)
    response = web.HTTPSeeOther(url)
    response.set_cookie(
        FLOW_COOKIE,
        party.seal(flow),
        max_age=FLOW_SECONDS,
        path=FLOW_PATH,
        httponly=True,
        samesite="Lax",
        secure=request.app[ROUTING].settings.cookie_secure,
    )
    raise response


async def callback(request: web.Request) -> web.StreamResponse:
    """GET /console/oidc/callback: the provider's answer; a session, or the sign-in page."""
    try:
        person, next_path = await _signed_person(request)
    except SignInFailed as exc:
        return await _refused(request, exc)
    response = await signed_in(request, person, next_path)
    response.del_cookie(FLOW_COOKIE, path=FLOW_PATH)
    log.info("signed in through oidc", extra={"account": person.account_id})
    raise response


async def _signed_person(request: web.Request) -> tuple[Person, str | None]:
    """The person the provider vouches for, as the account store knows them, and where to go."""
    query = request.query
    if "error" in query:
        raise SignInFailed("idp_refused", f"{query['error']}: {query.get('error_description')}")
    flow, party = request.app[OIDC].take(request)
    code = query.get("code")
    if not code:
        raise SignInFailed("idp_refused", "the provider sent no code")
    claims = await party.id_claims(code, flow, _redirect_uri(request))
    agencies = frozenset(request.app[ROUTING].actions.policy.agencies)
    person = person_from_claims(claims, party.provider, agencies)
    stored = await request.app[ACCOUNTS].provision_external(person)
    if stored is None:
        raise SignInFailed("disabled", person.account_id)
    return stored, flow.next_path


def person_from_claims(
    claims: Mapping[str, Any], provider: OidcProvider, agencies: Set[str]
) -> Person:
    """The person an ID token's claims describe; SignInFailed (`no_role`, `unknown_agency`)
    when the console cannot place them. A provider grants the roles it allows only (an
    agency's own provider officer and lead at most), and a supervisor only with a scope claim
    (`*`: everything)."""
    role = _role(claims.get(provider.role_claim))
    if (
        role is None
        or role.value not in provider.allowed_roles
        or (provider.agency is not None and role not in AGENCY_ROLES)
    ):
        raise SignInFailed("no_role", f"{provider.role_claim}={claims.get(provider.role_claim)!r}")
    supervisor = role is Role.SUPERVISOR
    scope_claims = (provider.scope_agencies_claim, provider.scope_provinces_claim)
    if supervisor and not any(_names(claims.get(name)) for name in scope_claims):
        raise SignInFailed("no_role", f"a supervisor without {' or '.join(scope_claims)}")
    subject = str(claims["sub"])
    person = Person(
        account_id=f"oidc:{provider.issuer}|{subject}",
        name=_text(claims.get("name")) or _text(claims.get("preferred_username")) or subject,
        role=role,
        agency=(provider.agency or _text(claims.get(provider.agency_claim)))
        if role in AGENCY_ROLES
        else None,
        scope_agencies=_scope(claims.get(provider.scope_agencies_claim), supervisor),
        scope_provinces=_scope(claims.get(provider.scope_provinces_claim), supervisor),
        via="oidc",
    )
    try:
        check_person(person, agencies)
    except AccountProblem as exc:
        raise SignInFailed("unknown_agency", f"{exc.field}: {exc}") from None
    return person


def _role(value: Any) -> Role | None:
    """The role a claim names: a string, or a list holding exactly one known role."""
    values = value if isinstance(value, list) else [value]
    known = {Role(v) for v in values if isinstance(v, str) and v in ROLE_NAMES}
    return known.pop() if len(known) == 1 else None


def _text(value: Any) -> str | None:
    """A claim as a short clean string, or None."""
    return value.strip()[:200] or None if isinstance(value, str) else None


def _names(value: Any, wanted: bool = True) -> frozenset[str]:
    """A claim listing names: a JSON list, or a string separated by commas (province names
    hold spaces)."""
    items = value.split(",") if isinstance(value, str) else value
    if not wanted or not isinstance(items, list):
        return frozenset()
    return frozenset(v.strip() for v in items if isinstance(v, str) and v.strip())


def _scope(value: Any, supervisor: bool) -> frozenset[str]:
    """A supervisor's scope claim: the names it lists; `*` (all) is no narrowing at all."""
    names = _names(value, supervisor)
    return frozenset() if ALL in names else names


def _next_path(path: str | None) -> str | None:
    """Where to go after signing in: a console path, short enough to travel in the cookie."""
    return safe_next(path) if path and len(path) <= MAX_NEXT else None


def _redirect_uri(request: web.Request) -> str:
    """The callback's address: from ROUTING_PUBLIC_URL, else from the request."""
    base = request.app[ROUTING].settings.public_url or str(request.url.origin())
    return f"{base}{CALLBACK_PATH}"


async def _refused(request: web.Request, failure: SignInFailed) -> web.Response:
    """The sign-in page saying why, the flow cookie dropped; the reason logged."""
    log.warning("oidc sign-in refused", extra={"reason": failure.reason, "detail": failure.detail})
    message = texts.words(REFUSALS, request_language(request))[failure.reason]
    page = await login_page(request, error=message)
    page.del_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return page
