"""Signing in to the console: the agency's (or a supervisor's) bearer token sets a signed
session cookie (HttpOnly, SameSite=Strict); the sign-in form carries its own CSRF token."""

from __future__ import annotations

from aiohttp import web

from services.common.csrf import CSRF_COOKIE, CsrfTokens
from services.common.http import read_form
from services.common.i18n import request_language
from services.routing import console_texts as texts
from services.routing.actions import SUPERVISOR
from services.routing.api import ROUTING
from services.routing.console import SESSIONS, current, form_text, render
from services.routing.sessions import SESSION_COOKIE

LOGIN_CSRF: web.AppKey[CsrfTokens] = web.AppKey("console_login_csrf", CsrfTokens)


async def login_page(request: web.Request, *, error: str | None = None) -> web.Response:
    """GET /console/login: the token form."""
    csrf = request.app[LOGIN_CSRF]
    nonce = request.cookies.get(CSRF_COOKIE) or csrf.new_nonce()
    page = render(
        request,
        "console_login.html",
        status=401 if error else 200,
        csrf_token=csrf.token_for(nonce),
        error=error,
        next_path=_safe_next(request.query.get("next")),
    )
    page.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="Strict", path="/console")
    return page


async def login(request: web.Request) -> web.Response:
    """POST /console/login: check the token, start a session."""
    form = await read_form(request)
    t = texts.words(texts.UI, request_language(request))
    if not request.app[LOGIN_CSRF].valid(
        request.cookies.get(CSRF_COOKIE), form_text(form, "csrf_token")
    ):
        return await login_page(request, error=t["expired_form"])
    signed = request.app[SESSIONS].sign_in(form_text(form, "token") or "")
    if signed is None:
        return await login_page(request, error=t["bad_token"])
    principal, cookie = signed
    landing = "/console/overview" if principal == SUPERVISOR else "/console/cases"
    response = web.HTTPSeeOther(_safe_next(form_text(form, "next")) or landing)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="Strict",
        path="/console",
        secure=request.app[ROUTING].settings.cookie_secure,
        max_age=int(request.app[ROUTING].settings.session_hours * 3600),
    )
    raise response


async def logout(request: web.Request) -> web.Response:
    """POST /console/logout."""
    session = current(request)
    form = await read_form(request)
    if not request.app[SESSIONS].csrf_valid(session, form_text(form, "csrf_token")):
        raise web.HTTPForbidden(text="invalid form token")
    response = web.HTTPSeeOther("/console/login")
    response.del_cookie(SESSION_COOKIE, path="/console")
    raise response


def _safe_next(path: str | None) -> str | None:
    """Only a path inside the console (never another site) is followed after sign-in."""
    if path and path.startswith("/console/") and not path.startswith("//"):
        return path
    return None
