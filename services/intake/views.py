"""The reporter's HTML pages: the form (CSRF, errors beside fields), receipt, status lookup."""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web
from multidict import MultiDictProxy
from pydantic import ValidationError

from services.common.contracts import Platform, ReporterKind
from services.common.csrf import CSRF_COOKIE
from services.common.http import read_form, repeated_fields
from services.intake.api import TRACKING_CODE, created_body, status_view
from services.intake.context import INTAKE
from services.intake.labels import CATEGORIES, PLATFORMS, REPORTER_KINDS, Language
from services.intake.texts import UI, error_message

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("services.intake", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)
VIETNAM_OFFSET = "+07:00"
# Form fields that hold one value; a form sending one twice is refused rather than guessed at.
SINGLE_VALUED = (
    "category",
    "platform",
    "description",
    "seen_at",
    "province",
    "district",
    "reporter_kind",
    "anonymous",
    "contact_name",
    "contact_phone",
    "contact_email",
    "content_urls",
    "evidence_links",
)


def language(request: web.Request) -> Language:
    """`?lang=` first, then the first of vi/en in Accept-Language, else Vietnamese."""
    if (chosen := request.query.get("lang")) in ("vi", "en"):
        return "en" if chosen == "en" else "vi"
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("vi"):
            return "vi"
    return "vi"


def render(template: str, lang: Language, *, status: int = 200, **context: Any) -> web.Response:
    """Render a page in `lang` with the shared texts."""
    text = {key: words[lang] for key, words in UI.items()}
    html = TEMPLATES.get_template(template).render(lang=lang, t=text, **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def _form_page(
    request: web.Request, lang: Language, *, status: int = 200, **context: Any
) -> web.Response:
    ctx = request.app[INTAKE]
    nonce = request.cookies.get(CSRF_COOKIE) or ctx.csrf.new_nonce()
    page = render(
        "form.html",
        lang,
        status=status,
        csrf_token=ctx.csrf.token_for(nonce),
        categories=[(c.value, labels[lang]) for c, labels in CATEGORIES.items()],
        platforms=[(p.value, label) for p, label in PLATFORMS.items()],
        reporter_kinds=[(k.value, labels[lang]) for k, labels in REPORTER_KINDS.items()],
        values=context.pop("values", {}),
        errors=context.pop("errors", {}),
        **context,
    )
    page.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="Strict", path="/")
    return page


async def show_form(request: web.Request) -> web.Response:
    """GET /: the empty form."""
    return _form_page(
        request,
        language(request),
        values={"reporter_kind": ReporterKind.CITIZEN.value, "platform": Platform.FACEBOOK.value},
    )


async def submit_form(request: web.Request) -> web.Response:
    """POST /: validate and re-render with errors beside fields, or store and show the code."""
    ctx = request.app[INTAKE]
    lang = language(request)
    form = await read_form(request)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    if not ctx.csrf.valid(request.cookies.get(CSRF_COOKIE), _text(form, "csrf_token")):
        return _form_page(request, lang, status=403, values=values, csrf_error=True)
    if repeated := repeated_fields(form, SINGLE_VALUED):
        errors = {name: [UI["repeated_field"][lang]] for name in repeated}
        return _form_page(request, lang, status=422, values=values, errors=errors)
    try:
        report = ctx.submission.validate(form_data(form, lang), channel="form")
    except ValidationError as exc:
        return _form_page(request, lang, status=422, values=values, errors=form_errors(exc, lang))
    stored = await ctx.submission.submit(report, channel="form")
    created = created_body(ctx, stored.document["tracking_code"])
    return render("submitted.html", lang, status=201, created=created)


async def status_page(request: web.Request) -> web.Response:
    """GET /status and /status/{code}: look a report up by its tracking code."""
    ctx = request.app[INTAKE]
    lang = language(request)
    code = (request.match_info.get("code") or request.query.get("code") or "").strip().upper()
    if not code:
        return render("status.html", lang, code="", report=None, not_found=False)
    document = await ctx.repository.by_tracking_code(code) if TRACKING_CODE.match(code) else None
    report = status_view(document, lang) if document else None
    return render(
        "status.html",
        lang,
        status=200 if report else 404,
        code=code,
        report=report,
        not_found=report is None,
    )


def _text(form: MultiDictProxy[Any], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def form_data(form: MultiDictProxy[Any], lang: Language) -> dict[str, Any]:
    """Form fields as an API body: empty fields left out (so they are 'missing'), lists split."""
    data: dict[str, Any] = {"language": lang}
    for name in ("category", "platform", "description", "province", "district", "reporter_kind"):
        if value := _text(form, name):
            data[name] = value
    for name in ("content_urls", "evidence_links"):
        if items := _lines(_text(form, name)):
            data[name] = items
    if seen_at := _text(form, "seen_at"):
        data["seen_at"] = seen_at + (VIETNAM_OFFSET if len(seen_at) == 16 else "")
    if (anonymous := _text(form, "anonymous")) in ("yes", "no"):
        data["anonymous"] = anonymous == "yes"
    contact = {k: v for k in ("name", "phone", "email") if (v := _text(form, f"contact_{k}"))}
    if contact:
        data["contact"] = contact
    return data


def form_errors(exc: ValidationError, lang: Language) -> dict[str, list[str]]:
    """Each error under the form field it belongs to (a contact sub-field, or the contact group)."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        field = "anonymous" if not loc else str(loc[0])
        if field == "contact" and len(loc) > 1:
            field = f"contact_{loc[1]}"
        message = error_message(dict(error), lang)
        if len(loc) > 1 and isinstance(loc[1], int):
            message = f"#{loc[1] + 1}: {message}"
        errors.setdefault(field, []).append(message)
    return errors


def add_form_routes(app: web.Application) -> None:
    """Register the HTML pages."""
    app.router.add_get("/", show_form)
    app.router.add_post("/", submit_form)
    app.router.add_get("/status", status_page)
    app.router.add_get("/status/{code}", status_page)
