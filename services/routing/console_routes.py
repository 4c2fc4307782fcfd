"""Every console route: sign-in, cases and their forms, the overview, the transparency page."""

from __future__ import annotations

from aiohttp import web

from services.common.csrf import CsrfTokens
from services.routing.api import ACTION_BODIES
from services.routing.console import SESSIONS, act, case_list, case_page, regroup, root, script
from services.routing.console_login import LOGIN_CSRF, login, login_page, logout
from services.routing.console_overview import overview
from services.routing.console_takedowns import add_takedown_forms
from services.routing.sessions import Sessions


def add_console_routes(app: web.Application, sessions: Sessions, csrf_secret: str | None) -> None:
    """Register the console pages."""
    app[SESSIONS] = sessions
    app[LOGIN_CSRF] = CsrfTokens(csrf_secret)
    app.router.add_get("/console", root)
    app.router.add_get("/console/", root)
    app.router.add_get("/console/login", login_page)
    app.router.add_post("/console/login", login)
    app.router.add_post("/console/logout", logout)
    app.router.add_get("/console/cases", case_list)
    app.router.add_get("/console/cases/{case_id}", case_page)
    actions = "|".join(ACTION_BODIES)
    app.router.add_post(f"/console/cases/{{case_id}}/{{action:{actions}}}", act)
    app.router.add_post("/console/cases/{case_id}/{op:split|merge}", regroup)
    add_takedown_forms(app)
    app.router.add_get("/console/overview", overview)
    app.router.add_get("/console/console.js", script)
