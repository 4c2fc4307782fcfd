"""One locale for intake and the console: negotiation, Babel catalogs for Jinja2, local times.

Vietnamese first: a page is English only when the visitor chose it (`?lang=en`, remembered in
the `lang` cookie); Accept-Language never switches the site. Texts are English msgids in one
gettext catalog per language (`services/common/locale/<lang>/LC_MESSAGES/messages.po`), compiled
in memory when first used; `scripts/i18n` extracts, updates and checks them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any, Literal

import jinja2
from aiohttp import web
from babel import Locale
from babel.dates import format_datetime, get_timezone
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from markupsafe import Markup

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")
DEFAULT_LANGUAGE: Language = "vi"
LANG_PARAM = "lang"
LANG_COOKIE = "lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
LOCAL_ZONE = get_timezone("Asia/Ho_Chi_Minh")
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
# Dates as each language writes them: vi 01/12/2026 (as in Vietnamese official documents),
# en Dec 1, 2026 (Babel's month names; no ambiguous 12/1).
DATE_PATTERNS: dict[Language, str] = {"vi": "dd/MM/yyyy", "en": "MMM d, y"}


def N_(message: str) -> str:
    """Mark `message` for extraction; it is translated later, where the language is known."""
    return message


def as_language(value: str | None) -> Language | None:
    """`value` as one of our languages, or None."""
    return "vi" if value == "vi" else "en" if value == "en" else None


def negotiate(query: str | None, cookie: str | None) -> Language:
    """The page's language: `?lang=` first, then the `lang` cookie, else Vietnamese."""
    return as_language(query) or as_language(cookie) or DEFAULT_LANGUAGE


def request_language(request: web.Request) -> Language:
    """The language of the page answering `request` (Accept-Language plays no part)."""
    return negotiate(request.query.get(LANG_PARAM), request.cookies.get(LANG_COOKIE))


def localise_response(
    request: web.Request, response: web.StreamResponse, *, cookie_path: str = "/"
) -> None:
    """Remember a `?lang=` choice in the cookie; state what the page's language depended on."""
    lang = request_language(request)
    chosen = as_language(request.query.get(LANG_PARAM))
    if chosen is not None and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(
            LANG_COOKIE,
            chosen,
            path=cookie_path,
            max_age=LANG_COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
        )
    if "Cookie" not in response.headers.getall("Vary", []):
        response.headers.add("Vary", "Cookie")
    response.headers.setdefault("Content-Language", lang)


@web.middleware
async def language_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Apply `localise_response` to every HTML page (and to HTML error pages raised)."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.content_type == "text/html":
            localise_response(request, exc)
        raise
    if response.content_type == "text/html":
        localise_response(request, response)
    return response


@cache
def translations(lang: Language) -> Translations:
    """The compiled catalog of `lang` (read from its .po file once, compiled in memory)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po_file:
        catalog = read_po(po_file, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def translate(lang: Language, message: str, **variables: Any) -> str:
    """`message` (an English msgid) in `lang`, with `%(name)s` placeholders filled."""
    text = translations(lang).gettext(message)
    return text % variables if variables else text


def translate_plural(
    lang: Language, singular: str, plural: str, count: int, **variables: Any
) -> str:
    """The form of `singular`/`plural` for `count` in `lang`; `%(num)d` is the count."""
    text = translations(lang).ngettext(singular, plural, count)
    return text % {"num": count, **variables}


def localised(message: str) -> dict[Language, str]:
    """`message` in every language (for tables that hold both, such as API labels)."""
    return {lang: translate(lang, message) for lang in LANGUAGES}


def local_time(moment: datetime, lang: Language, *, zone: bool = True) -> str:
    """`moment` in Vietnam's time zone, written the way `lang` writes it, zone stated."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    date = format_datetime(moment, DATE_PATTERNS[lang], tzinfo=LOCAL_ZONE, locale=lang)
    time = format_datetime(moment, "HH:mm", tzinfo=LOCAL_ZONE, locale=lang)
    pattern = str(Locale.parse(lang).datetime_formats["medium"])
    text = pattern.replace("{1}", date).replace("{0}", time)
    return f"{text} ({zone_name(lang, moment)})" if zone else text


def zone_name(lang: Language, moment: datetime | None = None) -> str:
    """The local time zone's name and offset at `moment`: 'Giờ Việt Nam, GMT+07:00'."""
    moment = moment or datetime.now(UTC)
    name = format_datetime(moment, "VVVV", tzinfo=LOCAL_ZONE, locale=lang)
    offset = format_datetime(moment, "ZZZZ", tzinfo=LOCAL_ZONE, locale=lang)
    return f"{name}, {offset}"


def duration_words(length: timedelta, lang: Language) -> str:
    """A length of time in words, its two largest units: '6 ngày 23 giờ', '2 hours 5 minutes'.

    The smaller unit is rounded to the nearest (6 days 23 h 40 min is '7 days').
    """
    minutes = (int(abs(length).total_seconds()) + 30) // 60
    if minutes == 0:
        return translate(lang, "less than a minute")
    if minutes >= 24 * 60:
        hours = (minutes + 30) // 60
        parts = [_days(lang, hours // 24), _hours(lang, hours % 24)]
    else:
        parts = [_hours(lang, minutes // 60), _minutes(lang, minutes % 60)]
    return format_list([p for p in parts if p], style="unit-narrow", locale=lang)


def _days(lang: Language, count: int) -> str:
    return translate_plural(lang, "%(num)d day", "%(num)d days", count) if count else ""


def _hours(lang: Language, count: int) -> str:
    return translate_plural(lang, "%(num)d hour", "%(num)d hours", count) if count else ""


def _minutes(lang: Language, count: int) -> str:
    return translate_plural(lang, "%(num)d minute", "%(num)d minutes", count) if count else ""


def time_left(length: timedelta, lang: Language) -> str:
    """Time until a deadline in words: 'còn 6 ngày 23 giờ', or '2 hours 5 minutes overdue'."""
    words = duration_words(length, lang)
    if length < timedelta(0):
        return translate(lang, "%(duration)s overdue", duration=words)
    return translate(lang, "%(duration)s left", duration=words)


@jinja2.pass_context
def _gettext(context: jinja2.runtime.Context, message: str) -> str:
    return translations(context["lang"]).gettext(message)


@jinja2.pass_context
def _ngettext(context: jinja2.runtime.Context, singular: str, plural: str, count: int) -> str:
    return translations(context["lang"]).ngettext(singular, plural, count)


@jinja2.pass_context
def _pgettext(context: jinja2.runtime.Context, msgctxt: str, message: str) -> str:
    return str(translations(context["lang"]).pgettext(msgctxt, message))


@jinja2.pass_context
def _npgettext(
    context: jinja2.runtime.Context, msgctxt: str, singular: str, plural: str, count: int
) -> str:
    return translations(context["lang"]).npgettext(msgctxt, singular, plural, count)


@jinja2.pass_context
def _local_time_filter(context: jinja2.runtime.Context, moment: datetime, zone: bool = True) -> str:
    return local_time(moment, context["lang"], zone=zone)


@jinja2.pass_context
def _time_left_filter(context: jinja2.runtime.Context, length: timedelta) -> str:
    return time_left(length, context["lang"])


@jinja2.pass_context
def _duration_filter(context: jinja2.runtime.Context, length: timedelta) -> str:
    return duration_words(length, context["lang"])


@jinja2.pass_context
def _zone_name(context: jinja2.runtime.Context) -> Markup:
    return Markup.escape(zone_name(context["lang"]))


def template_environment(package: str) -> jinja2.Environment:
    """A Jinja2 environment for `package`'s templates with gettext in the page's `lang`.

    Templates write `{{ _("English text") }}` (placeholders `{{ _("%(n)s left", n=x) }}`),
    and the filters `local_time`, `time_left`, `duration`; every render passes `lang`.
    """
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    environment.policies["ext.i18n.trimmed"] = True
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext
    )
    environment.filters.update(
        local_time=_local_time_filter, time_left=_time_left_filter, duration=_duration_filter
    )
    environment.globals["zone_name"] = _zone_name
    return environment


def other_language(lang: Language) -> Language:
    """The language the page's switch link offers."""
    return "en" if lang == "vi" else "vi"


def switch_language_url(request: web.Request, lang: Language) -> str:
    """This page in the other language: same path and query (a tracking code is kept)."""
    query = {**request.rel_url.query, LANG_PARAM: other_language(lang)}
    return str(request.rel_url.with_query(query))


def localised_in(context: str, message: str) -> dict[Language, str]:
    """`message` in every language, in a msgctxt where one English word has two translations."""
    return {lang: str(translations(lang).pgettext(context, message)) for lang in LANGUAGES}
