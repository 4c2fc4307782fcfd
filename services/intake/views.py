"""The reporter's HTML pages: the form (CSRF, errors beside fields), the receipt, status lookup.

A valid form POST answers 303 to its receipt (Post/Redirect/Get), so refreshing the receipt
never sends the report again; the form's submission token makes a repeated POST of the same
form (a double tap, the back button) return the first report, like the API's Idempotency-Key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy
from pydantic import ValidationError

from services.common.contracts import ReporterKind
from services.common.csrf import CSRF_COOKIE
from services.common.http import repeated_fields
from services.common.i18n import request_language, switch_language_url, template_environment
from services.intake.api import status_view
from services.intake.appeals import AppealRefusal
from services.intake.context import INTAKE
from services.intake.evidence import FIELD as EVIDENCE_FIELD
from services.intake.evidence import CheckedFile, EvidenceRejected
from services.intake.evidence_views import (
    evidence_from_form,
    read_report_form,
    submit_with_evidence,
)
from services.intake.formfields import (
    CONTACT_KEPT_DAYS,
    FORM_TOKEN,
    SINGLE_VALUED,
    form_data,
    form_errors,
    form_values,
    new_form_token,
    place_choices,
    submission_key,
    text,
)
from services.intake.labels import CATEGORIES, PLATFORMS, REPORTER_KINDS, Language
from services.intake.models import MAX_APPEAL_REASON, AppealIn, ReportIn
from services.intake.receipt import usual_time
from services.intake.repository import IdempotencyConflict
from services.intake.security import RateLimiter
from services.intake.submission import ContentFlooded
from services.intake.texts import UI, texts
from services.intake.tracking import normalise_tracking_code

__all__ = ["SINGLE_VALUED", "add_form_routes", "form_data", "form_errors"]

TEMPLATES = template_environment("services.intake")
STATIC = Path(__file__).parent / "static"
# The receipt's URL names the tracking code: kept out of shared caches and other sites' logs.
RECEIPT_HEADERS = {"Cache-Control": "private, no-store", "Referrer-Policy": "same-origin"}
Errors = dict[str, list[str]]


def render(
    template: str,
    lang: Language,
    *,
    status: int = 200,
    request: web.Request | None = None,
    **context: Any,
) -> web.Response:
    """Render a page in `lang`; with `request`, its language link keeps the path and query."""
    if request is not None:
        context.setdefault("switch_url", switch_language_url(request, lang))
    html = TEMPLATES.get_template(template).render(lang=lang, t=texts(lang), **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def _form_page(
    request: web.Request, lang: Language, *, status: int = 200, **context: Any
) -> web.Response:
    ctx = request.app[INTAKE]
    nonce = request.cookies.get(CSRF_COOKIE) or ctx.csrf.new_nonce()
    values: dict[str, str] = context.pop("values", {})
    if submission_key(values.get(FORM_TOKEN, "")) is None:
        values[FORM_TOKEN] = new_form_token()
    page = render(
        "form.html",
        lang,
        status=status,
        csrf_token=ctx.csrf.token_for(nonce),
        categories=[(c.value, labels[lang]) for c, labels in CATEGORIES.items()],
        platforms=[(p.value, labels[lang]) for p, labels in PLATFORMS.items()],
        reporter_kinds=[(k.value, labels[lang]) for k, labels in REPORTER_KINDS.items()],
        places=place_choices(values),
        contact_kept_days=CONTACT_KEPT_DAYS,
        values=values,
        errors=context.pop("errors", {}),
        **context,
    )
    page.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="Strict", path="/")
    # Never stored: a re-rendered form holds what the reporter typed, and every page its own
    # submission token (services/intake/headers.py sends no-store on every page).
    return page


async def show_form(request: web.Request) -> web.Response:
    """GET /: the empty form, with a fresh submission token and no platform chosen."""
    return _form_page(
        request, request_language(request), values={"reporter_kind": ReporterKind.CITIZEN.value}
    )


async def submit_form(request: web.Request) -> web.StreamResponse:
    """POST /: re-render with errors beside fields, or store and answer 303 to the receipt.

    `action=refresh` (the no-JavaScript "choose commune" button) re-renders the form with the
    chosen province's communes and checks nothing."""
    ctx = request.app[INTAKE]
    lang = request_language(request)
    form = await read_report_form(request)
    values = form_values(form)
    page: dict[str, Any] = {"values": values, "files_dropped": _has_files(form)}
    if text(form, "action") == "refresh":
        return _form_page(request, lang, **page)
    if not ctx.csrf.valid(request.cookies.get(CSRF_COOKIE), text(form, "csrf_token")):
        return _form_page(request, lang, status=403, csrf_error=True, **page)
    if repeated := repeated_fields(form, SINGLE_VALUED):
        errors = {name: [UI["repeated_field"][lang]] for name in repeated}
        return _form_page(request, lang, status=422, errors=errors, **page)
    report, files, errors, status = await _checked(request, form, lang)
    if report is None:
        return _form_page(request, lang, status=status, errors=errors, **page)
    try:
        stored = await submit_with_evidence(
            request,
            report,
            files,
            channel="form",
            idempotency_key=submission_key(text(form, FORM_TOKEN)),
        )
    except IdempotencyConflict:  # the same form sent again after changes: not sent twice
        page["values"][FORM_TOKEN] = new_form_token()
        return _form_page(request, lang, status=409, already_sent=True, **page)
    except ContentFlooded as exc:  # kept as typed: nothing was stored
        shed = _form_page(request, lang, status=429, flooded=True, **page)
        shed.headers["Retry-After"] = RateLimiter.retry_after_header(exc.wait)
        return shed
    raise web.HTTPSeeOther(receipt_path(stored.document["tracking_code"], lang))


async def _checked(
    request: web.Request, form: MultiDictProxy[Any], lang: Language
) -> tuple[ReportIn | None, list[CheckedFile], Errors, int]:
    """The valid report and its files, or the errors of the fields and files and the status."""
    ctx = request.app[INTAKE]
    report, files, errors, status = None, [], {}, 422
    try:
        report = ctx.submission.validate(form_data(form, lang), channel="form")
    except ValidationError as exc:
        errors = form_errors(exc, lang)
    try:
        files = await evidence_from_form(request, form)
    except EvidenceRejected as exc:
        errors["evidence"] = [problem.message(lang) for problem in exc.problems]
        status = exc.status if report is not None else 422
        report = None
    return report, files, errors, status


def _has_files(form: MultiDictProxy[Any]) -> bool:
    """Whether the form carried chosen files (a re-rendered form cannot keep them)."""
    return any(
        isinstance(part, FileField) and part.filename for part in form.getall(EVIDENCE_FIELD, [])
    )


def receipt_path(code: str, lang: Language) -> str:
    """Where a stored form submission is acknowledged."""
    return f"/receipt/{code}?lang={lang}"


async def receipt_page(request: web.Request) -> web.Response:
    """GET /receipt/{code}: the tracking code, what happens next and how long it usually takes."""
    ctx = request.app[INTAKE]
    lang = request_language(request)
    code = normalise_tracking_code(request.match_info["code"])
    document = await ctx.repository.by_tracking_code(code) if code else None
    if document is None:
        return await status_response(request, lang, request.match_info["code"], None)
    page = render(
        "submitted.html",
        lang,
        request=request,
        code=document["tracking_code"],
        submitted_at=document["submitted_at"],
        category=status_view(document, lang).category_name,
        usual=usual_time(document["report"]["category"]),
    )
    page.headers.update(RECEIPT_HEADERS)
    return page


async def status_page(request: web.Request) -> web.Response:
    """GET /status and /status/{code}: look a report up by its tracking code (as typed)."""
    ctx = request.app[INTAKE]
    lang = request_language(request)
    typed = (request.match_info.get("code") or request.query.get("code") or "").strip()
    code = normalise_tracking_code(typed)
    document = await ctx.repository.by_tracking_code(code) if code else None
    return await status_response(request, lang, code or typed, document)


async def status_response(
    request: web.Request,
    lang: Language,
    code: str,
    document: Any,
    *,
    status: int | None = None,
    **context: Any,
) -> web.Response:
    """The status page for `code`: the report, the empty lookup, or 'not found' (404); with a
    decision that may be appealed, the appeal form, and while the report holds the reporter's
    contact, the form erasing it (both CSRF-protected like the report form)."""
    ctx = request.app[INTAKE]
    now = ctx.clock()
    holds = document is not None and await ctx.repository.holds_contact(document["_id"])
    report = status_view(document, lang, now=now, holds_contact=holds) if document else None
    nonce = request.cookies.get(CSRF_COOKIE) or ctx.csrf.new_nonce()
    context = {
        "csrf_error": False,
        "appeal_error": None,
        "reason": "",
        "erase_error": None,
        "erase_csrf_error": False,
        **context,
    }
    page = render(
        "status.html",
        lang,
        status=status or (200 if report or not code else 404),
        request=request,
        code=code,
        report=report,
        not_found=bool(code) and report is None,
        csrf_token=ctx.csrf.token_for(nonce),
        max_reason=MAX_APPEAL_REASON,
        appealed=request.query.get("appealed") == "1",
        now=now,
        **context,
    )
    can_appeal = report is not None and report.decision is not None and report.decision.can_appeal
    if can_appeal or (report is not None and report.can_erase_contact):
        page.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="Strict", path="/")
    return page


async def appeal_form(request: web.Request) -> web.StreamResponse:
    """POST /status/{code}/appeal: store the appeal and answer 303 to the status page, or show
    the page again with the reason kept and what went wrong."""
    ctx = request.app[INTAKE]
    lang = request_language(request)
    code = normalise_tracking_code(request.match_info["code"])
    document = await ctx.repository.by_tracking_code(code) if code else None
    if code is None or document is None:
        return await status_response(request, lang, request.match_info["code"], None)
    form = await request.post()
    reason = text(form, "reason")
    page = {"reason": reason}
    if not ctx.csrf.valid(request.cookies.get(CSRF_COOKIE), text(form, "csrf_token")):
        return await status_response(
            request, lang, code, document, status=403, csrf_error=True, **page
        )
    try:
        appeal = AppealIn.model_validate({"reason": reason})
    except ValidationError as exc:
        message = form_errors(exc, lang).get("reason", [UI["required"][lang]])[0]
        return await status_response(
            request, lang, code, document, status=422, appeal_error=message, **page
        )
    outcome = await ctx.appeals.appeal(document, appeal.reason)
    if isinstance(outcome, AppealRefusal):
        return await status_response(
            request,
            lang,
            code,
            document,
            status=outcome.http_status,
            appeal_error=outcome.message(lang),
            **page,
        )
    raise web.HTTPSeeOther(f"/status/{code}?lang={lang}&appealed=1")


def add_form_routes(app: web.Application) -> None:
    """Register the HTML pages and their script."""
    app.router.add_get("/", show_form)
    app.router.add_post("/", submit_form)
    app.router.add_get("/receipt/{code}", receipt_page)
    app.router.add_get("/status", status_page)
    app.router.add_get("/status/{code}", status_page)
    app.router.add_post("/status/{code}/appeal", appeal_form)
    app.router.add_static("/static/", STATIC)
