"""Signing in to the console as oneself: login, password and the authenticator's code (the
built-in store), or an agency's OpenID Connect provider (`oidc`, which ends in `signed_in`).

A sign-in starts a server-side session (`sessions`) whose random id is the cookie (HttpOnly,
SameSite=Strict, Secure per `ROUTING_COOKIE_SECURE`, path /console); sign-out deletes it. The
sign-in form carries its own CSRF token, bound to a cookie nonce.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from services.common.csrf import CSRF_COOKIE, CsrfTokens
from services.common.http import read_form
from services.common.i18n import request_language
from services.routing import console_texts as texts
from services.routing.accounts import ACCOUNTS
from services.routing.api import ROUTING
from services.routing.console import SESSIONS, form_text, render
from services.routing.console_pages import posted_form
from services.routing.credentials import Credentials, SignInRefused
from services.routing.oidc_client import sign_in_options
from services.routing.people import Person, Role
from services.routing.sessions import SESSION_COOKIE
from services.routing.throttle import Throttle


@dataclass
class SignIns:
    """The app's sign-in checks: the credentials (made once the accounts are wired) and the
    per-address throttle of POST /console/login."""

    throttle: Throttle
    credentials: Credentials | None = None


LOGIN_CSRF: web.AppKey[CsrfTokens] = web.AppKey("console_login_csrf", CsrfTokens)
SIGN_INS: web.AppKey[SignIns] = web.AppKey("console_sign_ins", SignIns)
LANDING = {Role.SUPERVISOR: "/console/overview", Role.AUDITOR: "/console/overview"}
MAX_FIELD = 1024  # longer logins, passwords or codes are simply wrong


def add_sign_ins(app: web.Application, per_minute: int) -> None:
    """The sign-in checks; their credentials (a dummy argon2 hash made off the event loop, so
    that an unknown login costs what a known one does) are made when the app starts."""
    sign_ins = app[SIGN_INS] = SignIns(Throttle(per_minute))

    async def start(app: web.Application) -> None:  # after `wire` (a cleanup context)
        sign_ins.credentials = await Credentials.start(app[ACCOUNTS])

    app.on_startup.append(start)


async def login_page(
    request: web.Request, *, error: str | None = None, login: str = "", status: int = 401
) -> web.Response:
    """GET /console/login: the sign-in form (again with `error` and the login typed)."""
    csrf = request.app[LOGIN_CSRF]
    nonce = request.cookies.get(CSRF_COOKIE) or csrf.new_nonce()
    page = render(
        request,
        "console_login.html",
        status=status if error else 200,
        csrf_token=csrf.token_for(nonce),
        error=error,
        login=login,
        next_path=safe_next(request.query.get("next")),
        oidc_options=sign_in_options(
            request.app[ROUTING].settings.oidc_providers, request_language(request)
        ),
    )
    page.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="Strict", path="/console")
    return page


async def login(request: web.Request) -> web.Response:
    """POST /console/login: check login, password and code; start a session."""
    t = texts.words(texts.UI, request_language(request))
    sign_ins = request.app[SIGN_INS]
    if wait := sign_ins.throttle.check(request.remote or "unknown"):
        page = await login_page(request, error=t["too_many_sign_ins"], status=429)
        page.headers["Retry-After"] = str(wait)
        return page
    form = await read_form(request)
    if not request.app[LOGIN_CSRF].valid(
        request.cookies.get(CSRF_COOKIE), form_text(form, "csrf_token")
    ):
        return await login_page(request, error=t["expired_form"])
    login_name, password, code = (
        (form_text(form, name) or "")[:MAX_FIELD] for name in ("login", "password", "code")
    )
    if sign_ins.credentials is None:  # the app is not started
        raise web.HTTPServiceUnavailable()
    try:
        person = await sign_ins.credentials.sign_in(login_name, password, code)
    except SignInRefused:
        return await login_page(request, error=t["bad_sign_in"], login=login_name)
    raise await signed_in(request, person, form_text(form, "next"))


async def signed_in(
    request: web.Request, person: Person, next_path: str | None
) -> web.HTTPSeeOther:
    """Start the server-side session of `person`, set its cookie and return the redirect to
    `next_path` (when it is a console path) or the role's landing page."""
    sessions = request.app[SESSIONS]
    if earlier := request.cookies.get(SESSION_COOKIE):  # whoever was signed in here before
        await sessions.end(earlier)
    session_id = await sessions.start(person)
    # Disabling writes the flag, then deletes the sessions: a session started before that
    # deletion is deleted by it, and one started after it sees the flag here.
    account = await request.app[ACCOUNTS].get(person.account_id)
    if account is None or account.disabled:
        await sessions.end(session_id)
        return web.HTTPSeeOther("/console/login")
    response = web.HTTPSeeOther(safe_next(next_path) or landing(person))
    settings = request.app[ROUTING].settings
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="Strict",
        path="/console",
        secure=settings.cookie_secure,
        max_age=int(settings.session_hours * 3600),
    )
    return response


def landing(person: Person) -> str:
    """Where a person lands after signing in."""
    return LANDING.get(person.role, "/console/cases")


async def logout(request: web.Request) -> web.Response:
    """POST /console/logout: the session is deleted (its cookie is worthless from now on)."""
    session, _ = await posted_form(request)
    await request.app[SESSIONS].end(session.cookie)
    response = web.HTTPSeeOther("/console/login")
    response.del_cookie(SESSION_COOKIE, path="/console")
    raise response


def safe_next(path: str | None) -> str | None:
    """Only a path inside the console (never another site) is followed after sign-in."""
    if path and path.startswith("/console/") and not path.startswith("//") and "\\" not in path:
        return path
    return None
