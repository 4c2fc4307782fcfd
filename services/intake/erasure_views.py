"""A reporter erases their contact with the tracking code: the API and the status page's form.

Both answer the same way through `Erasures.erase`: done (the API's 200, the form's 303 back to
the status page), 409 when it was erased before or the report had none, 404 for an unknown
code. The status page's form is CSRF-protected and must have its box ticked; the API asks for
`{"confirm": true}`. Both paths are rate-limited per client like every lookup by code.
"""

from __future__ import annotations

from aiohttp import web

from services.common.csrf import CSRF_COOKIE
from services.common.http import json_error
from services.common.i18n import request_language
from services.intake.api import body_and_report
from services.intake.context import INTAKE
from services.intake.erasure import ErasureRefusal
from services.intake.formfields import text
from services.intake.models import ContactErased, ContactErasureIn
from services.intake.texts import UI
from services.intake.tracking import normalise_tracking_code
from services.intake.views import status_response

CONFIRMED = "yes"  # the value of the form's ticked box


async def erase_contact(request: web.Request) -> web.Response:
    """POST /api/v1/reports/{tracking_code}/erase-contact with `{"confirm": true}`: 200 once
    the reporter's contact is erased; 409 when it was erased before or there was none."""
    found = await body_and_report(request, ContactErasureIn, "the erasure request")
    if isinstance(found, web.Response):
        return found
    _, document = found
    outcome = await request.app[INTAKE].erasures.erase(document)
    if isinstance(outcome, ErasureRefusal):
        message = outcome.message("en")
        refused = {"field": "tracking_code", "message": message, "type": outcome.value}
        return json_error(409, message, [refused])
    done = ContactErased(tracking_code=document["tracking_code"], contact_erased_at=outcome)
    return web.json_response(done.model_dump(mode="json"))


async def erase_contact_form(request: web.Request) -> web.StreamResponse:
    """POST /status/{code}/erase-contact: erase the reporter's contact and answer 303 to the
    status page, or show the page again saying what went wrong (the box not ticked: 422;
    already erased or none left: 409)."""
    ctx = request.app[INTAKE]
    lang = request_language(request)
    code = normalise_tracking_code(request.match_info["code"])
    document = await ctx.repository.by_tracking_code(code) if code else None
    if code is None or document is None:
        return await status_response(request, lang, request.match_info["code"], None)
    form = await request.post()
    if not ctx.csrf.valid(request.cookies.get(CSRF_COOKIE), text(form, "csrf_token")):
        return await status_response(
            request, lang, code, document, status=403, erase_csrf_error=True
        )
    if text(form, "confirm") != CONFIRMED:
        error = UI["erase_confirm"][lang]
        return await status_response(request, lang, code, document, status=422, erase_error=error)
    outcome = await ctx.erasures.erase(document)
    if isinstance(outcome, ErasureRefusal):  # the page as it is now (erased in a race?)
        current = await ctx.repository.by_id(document["_id"]) or document
        error = outcome.message(lang)
        return await status_response(request, lang, code, current, status=409, erase_error=error)
    raise web.HTTPSeeOther(f"/status/{code}?lang={lang}&erased=1")


def add_erasure_routes(app: web.Application) -> None:
    """Register the erasure request of the API and of the status page."""
    app.router.add_post("/api/v1/reports/{tracking_code}/erase-contact", erase_contact)
    app.router.add_post("/status/{code}/erase-contact", erase_contact_form)
