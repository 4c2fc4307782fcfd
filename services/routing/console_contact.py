"""The console's reveal: POST /console/cases/{case_id}/contact (a form with the session's CSRF
token, optionally naming one report) opens the reporters' contacts for an officer of the
agency holding the case, records a `contact_revealed` line naming the person in the case's
audit log, and shows them on the case page it returns (never cached). The case page shows
only that a contact exists until then (templates/console_contact.html)."""

from __future__ import annotations

from aiohttp import web

from services.common.i18n import request_language
from services.routing import console_texts as texts
from services.routing.actions import CaseNotFound, UnreadableCase
from services.routing.api import ROUTING
from services.routing.console import case_page, form_text
from services.routing.console_pages import posted_form
from services.routing.contact_api import NO_STORE, RevealFailed, reveal

# The words on the case page for each refusal of a reveal.
REFUSALS = {403: "contact_hidden", 404: "contact_none", 410: "contact_erased"}


async def reveal_contact(request: web.Request) -> web.Response:
    """Open the case's contacts (or the one of `report_id`) and show the case page with them."""
    session, form = await posted_form(request)
    ctx = request.app[ROUTING]
    person = session.person
    try:
        case = await ctx.actions.load(request.match_info["case_id"], session.principal, person)
    except (CaseNotFound, UnreadableCase):
        return await case_page(request)  # the page says which, with its 404 or 409
    who = person.audit_name if person is not None else None
    report_id = form_text(form, "report_id") or None
    try:
        done = await reveal(request, case, session.principal, who, person, report_id)
    except RevealFailed as exc:
        words = texts.words(texts.UI, request_language(request))
        message = words[REFUSALS.get(exc.status, "contact_unavailable")]
        response = await case_page(request, error=message, status=exc.status)
    else:
        opened = {contact.report_id: contact for contact in done.contacts.contacts}
        response = await case_page(request, revealed=opened)
    response.headers.update(NO_STORE)
    return response


def add_contact_form(app: web.Application) -> None:
    """Register the console's reveal."""
    app.router.add_post("/console/cases/{case_id}/contact", reveal_contact)
