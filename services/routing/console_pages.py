"""How the console renders its pages: the templates in the reader's language with the
console's headers, the error page, the refused form shown again, and the form's text fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import ValidationError

from services.common.http import read_form
from services.common.i18n import (
    localise_response,
    request_language,
    switch_language_url,
    template_environment,
)
from services.common.labels import category_name, platform_name
from services.routing import console_texts as texts
from services.routing.api import ROUTING
from services.routing.grouping_texts import GROUPING
from services.routing.sessions import SESSIONS, Session, current
from services.routing.visibility import SUPERVISOR

TEMPLATES = template_environment("services.routing")


def render(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    """A console page in the reader's language, never stored by the browser or a proxy (it
    shows cases and who is signed in)."""
    lang = request_language(request)
    ctx = request.app[ROUTING]
    html = TEMPLATES.get_template(template).render(
        lang=lang,
        t=texts.words(texts.UI, lang),
        statuses=texts.words(texts.STATUS, lang),
        action_names=texts.words(texts.ACTIONS, lang),
        priorities=texts.words(texts.PRIORITY, lang),
        agency_names={
            a.id: (a.name_vi if lang == "vi" else a.name_en)
            for a in ctx.actions.policy.agencies.values()
        }
        | {
            "triage": "Phân loại" if lang == "vi" else "Triage",
            SUPERVISOR: "Giám sát" if lang == "vi" else "Supervisor",
        },
        category_name=lambda c: category_name(c, lang),
        platform_name=lambda p: platform_name(p, lang),
        g=texts.words(GROUPING, lang),
        role_names=texts.words(texts.ROLES, lang),
        switch_url=switch_language_url(request, lang),
        **context,
    )
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    localise_response(request, response)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(request: web.Request, session: Session, status: int, message: str) -> web.Response:
    """A console page saying what went wrong, with the way back to the list."""
    csrf_token = request.app[SESSIONS].csrf_token(session)
    return render(
        request,
        "console_error.html",
        status=status,
        session=session,
        csrf_token=csrf_token,
        message=message,
    )


@dataclass(frozen=True)
class FailedForm:
    """A form that was refused: which one, what was typed, and the problem of each field
    (shown beside it when the page is rendered again)."""

    name: str
    values: Mapping[str, str]
    problems: Mapping[str, str]


def failed_form(name: str, values: Mapping[str, str], exc: ValidationError) -> FailedForm:
    """The refused form of a validation error, each message on its field."""
    problems: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else "form"
        problems.setdefault(field, error["msg"])
    return FailedForm(name, values, problems)


def form_text(form: MultiDictProxy[Any], name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


async def posted_form(request: web.Request) -> tuple[Session, MultiDictProxy[Any]]:
    """The signed-in session and the form it posted, its CSRF token checked (403 if not)."""
    session = current(request)
    form = await read_form(request)
    if not request.app[SESSIONS].csrf_valid(session, form_text(form, "csrf_token")):
        raise web.HTTPForbidden(text="invalid form token")
    return session, form
