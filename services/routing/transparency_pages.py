"""The transparency pages: the console's report with charts and its downloads (signed in), and
the public page of a complete month's national figures (no sign-in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from services.common import geography, params
from services.common.http import error_body
from services.common.i18n import (
    Language,
    localise_response,
    request_language,
    switch_language_url,
    translate,
)
from services.common.labels import CATEGORIES, category_name, platform_name
from services.routing import transparency_texts as texts
from services.routing.actions import SUPERVISOR, scope_criteria
from services.routing.api import ROUTING, RoutingContext
from services.routing.console import SESSIONS, TEMPLATES, current, render
from services.routing.dashboard import bar_chart, duration_text, stacked_chart
from services.routing.sessions import Session
from services.routing.transparency import Period, Timeliness, TransparencyReport
from services.routing.transparency_public import (
    HIDDEN,
    UNDER,
    PublicFigures,
    month_period,
    public_figures,
)
from services.routing.transparency_query import (
    PeriodError,
    download,
    load_report,
    parse_period,
    scope_of,
    this_month,
    today,
)
from services.routing.visibility import sees_sensitive

PUBLIC_CACHE_SECONDS = 600
WIDE = {"width": 660, "label_width": 310}  # room for the longest outcome's name


async def console_download(request: web.Request) -> web.Response:
    """GET /console/transparency.{json,csv}: the page's figures for the signed-in officer."""
    session = current(request)
    ctx = request.app[ROUTING]
    try:
        period = parse_period(request.query, this_month(ctx.clock()))
    except PeriodError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    report = await _report_for(ctx, session, period)
    scope = "all" if session.principal == SUPERVISOR else session.principal
    if scope_criteria(session.person):
        scope = "scope"  # a supervisor's agencies and provinces only
    return download(report, scope, request.match_info["format"] == "csv")


async def _report_for(ctx: RoutingContext, session: Session, period: Period) -> TransparencyReport:
    """The figures the signed-in person may see: their agency's, or every agency's within a
    supervisor's scope (agencies and provinces)."""
    return await load_report(
        ctx,
        period,
        scope_of(session.principal),
        sensitive_detail=sees_sensitive(
            session.principal, auditor=bool(session.person and session.person.auditing)
        ),
        also=scope_criteria(session.person),
    )


async def console_page(request: web.Request) -> web.Response:
    """GET /console/transparency: the figures of a period with charts, and the downloads."""
    session = current(request)
    ctx = request.app[ROUTING]
    lang = request_language(request)
    error = None
    try:
        period = parse_period(request.query, this_month(ctx.clock()))
    except PeriodError as exc:
        period, error = this_month(ctx.clock()), str(exc)
    report = await _report_for(ctx, session, period)
    query = f"from={period.first.isoformat()}&to={period.end.isoformat()}"
    return render(
        request,
        "console_transparency.html",
        status=422 if error else 200,
        session=session,
        csrf_token=request.app[SESSIONS].csrf_token(session),
        report=report,
        totals=report.totals,
        period=period,
        error=error,
        query=query,
        charts=_charts(report, lang),
        by_agency=list(report.breakdown("agency")),
        by_province=[(p, _province_name(p), f) for p, f in report.breakdown("province_code")],
        platforms=_platform_rows(report.totals),
        outcomes=texts.words(texts.DECISION_OUTCOMES, lang),
        timeliness=texts.words(texts.TIMELINESS, lang),
        seconds=_seconds_text,
        percent=_percent,
    )


def _charts(report: TransparencyReport, lang: Language) -> dict[str, str]:
    """The page's charts, as inline SVG."""
    totals, outcomes = report.totals, texts.words(texts.DECISION_OUTCOMES, lang)
    by_category = dict(report.breakdown("category"))
    clocks = texts.words(texts.CLOCKS, lang)
    kinds = texts.words(texts.TIMELINESS, lang)
    return {
        "outcomes": bar_chart(
            [(name, int(totals.get(f"decisions.{o}") or 0)) for o, name in outcomes.items()],
            title=translate(lang, "Decisions by outcome"),
            **WIDE,
        ),
        "categories": bar_chart(
            [
                (category_name(c.value, lang), int(by_category.get(c.value, {}).get("cases") or 0))
                for c in CATEGORIES
            ],
            title=translate(lang, "Cases by category"),
            **WIDE,
        ),
        "timeliness": stacked_chart(
            [
                (
                    clocks[clock],
                    [
                        (kinds[t.value], _count(totals, f"{clock}.{t.value}"))
                        for t in (Timeliness.EARLY, Timeliness.ON_TIME, Timeliness.LATE)
                    ],
                )
                for clock in ("internal", "legal")
            ],
            title=translate(lang, "Decisions early, on time and late"),
        ),
        "platforms": stacked_chart(
            [
                (platform_name(p, lang), _compliance_parts(totals, p, lang))
                for p in _platforms(totals)
            ],
            title=translate(lang, "Platforms answering within the legal deadline"),
        ),
    }


def _count(figures: dict[str, float | int | None], name: str) -> int:
    return int(figures.get(name) or 0)


def _platforms(totals: dict[str, float | int | None]) -> list[str]:
    """The platforms the period's takedown requests went to."""
    suffix = ".requests"
    return sorted(
        name.removeprefix("platform.").removesuffix(suffix)
        for name in totals
        if name.startswith("platform.") and name.endswith(suffix)
    )


def _compliance_parts(
    totals: dict[str, float | int | None], platform: str, lang: Language
) -> list[tuple[str, int]]:
    """A platform's requests: answered in time, not in time, not yet due."""
    prefix = f"platform.{platform}."
    requests, due = _count(totals, f"{prefix}requests"), _count(totals, f"{prefix}due")
    complied = _count(totals, f"{prefix}complied")
    return [
        (translate(lang, "Answered within the deadline"), complied),
        (translate(lang, "Not answered within the deadline"), due - complied),
        (translate(lang, "Not yet due"), requests - due),
    ]


def _platform_rows(totals: dict[str, float | int | None]) -> list[dict[str, Any]]:
    """One table row per platform: requests, due, complied, share, median answer time."""
    rows = []
    for platform in _platforms(totals):
        prefix = f"platform.{platform}."
        rows.append(
            {
                "platform": platform,
                "requests": _count(totals, f"{prefix}requests"),
                "due": _count(totals, f"{prefix}due"),
                "complied": _count(totals, f"{prefix}complied"),
                "share": totals.get(f"{prefix}compliance_share"),
                "median": totals.get(f"{prefix}median_answer_s"),
            }
        )
    return rows


def _province_name(code: str) -> str:
    """A province's name from its code ("–" when the report named none)."""
    found = geography.province(code) if code else None
    return found.name if found else (code or "–")


def _seconds_text(value: float | int | None) -> str:
    return duration_text(None if value is None else timedelta(seconds=value))


def _percent(value: float | int | None) -> str:
    return "–" if value is None else f"{value * 100:.0f} %"


@dataclass
class PublicCache:
    """The public figures of recent months, each kept a few minutes (the page needs no login,
    so a burst of visits reads the cases once)."""

    months: dict[date, tuple[datetime, PublicFigures]] = field(default_factory=dict)

    async def figures(self, ctx: RoutingContext, month: date) -> PublicFigures:
        """The month's figures, from the cache while fresh."""
        now = ctx.clock()
        kept = self.months.get(month)
        if kept is not None and kept[0] > now:
            return kept[1]
        # The public never sees a sensitive case below its category (nor anything below the
        # category level: `public_figures` reads the totals and the category rows only).
        report = await load_report(ctx, month_period(month), None, sensitive_detail=False)
        figures = public_figures(report, month)
        expires = now + timedelta(seconds=PUBLIC_CACHE_SECONDS)
        self.months = {m: v for m, v in self.months.items() if v[0] > now} | {
            month: (expires, figures)
        }
        return figures


PUBLIC: web.AppKey[PublicCache] = web.AppKey("transparency_public", PublicCache)


def public_months(now: datetime) -> list[date]:
    """The months the public page offers: the twelve complete months before this one."""
    first = today(now).replace(day=1)
    months = []
    for _ in range(12):
        first = (first - timedelta(days=1)).replace(day=1)
        months.append(first)
    return months


def _month(raw: str | None, offered: list[date]) -> date:
    """The `month` parameter (YYYY-MM, one of the offered months); the latest by default."""
    if not raw:
        return offered[0]
    try:
        month = date.fromisoformat(f"{raw}-01") if len(raw) == 7 and raw.isascii() else None
    except ValueError:
        month = None
    if month not in offered:
        raise params.ParamError("month", "one of the last twelve complete months, as YYYY-MM")
    return month


async def public_json(request: web.Request) -> web.Response:
    """GET /transparency.json: the public figures of a complete month."""
    ctx = request.app[ROUTING]
    offered = public_months(ctx.clock())
    try:
        month = _month(request.query.get("month"), offered)
    except params.ParamError as exc:
        return web.json_response(error_body(422, "bad query", [exc.detail()]), status=422)
    figures = await request.app[PUBLIC].figures(ctx, month)
    return web.json_response(figures.as_json(), headers={"Cache-Control": "public, max-age=600"})


async def public_page(request: web.Request) -> web.Response:
    """GET /transparency: the public page of a complete month's national figures."""
    ctx = request.app[ROUTING]
    lang = request_language(request)
    offered = public_months(ctx.clock())
    status, error = 200, None
    try:
        month = _month(request.query.get("month"), offered)
    except params.ParamError:
        month, status = offered[0], 400
        error = translate(lang, "Choose one of the months in the list.")
    figures = await request.app[PUBLIC].figures(ctx, month)
    html = TEMPLATES.get_template("transparency_public.html").render(
        lang=lang,
        switch_url=switch_language_url(request, lang),
        figures=figures,
        month=month,
        months=offered,
        error=error,
        under=UNDER,
        hidden=HIDDEN,
        categories=[c.value for c in CATEGORIES],
        category_name=lambda c: category_name(c, lang),
        platform_name=lambda p: platform_name(p, lang),
        outcomes=texts.words(texts.DECISION_OUTCOMES, lang),
        timeliness=texts.words(texts.TIMELINESS, lang),
        results=texts.words(texts.APPEAL_RESULTS, lang),
        seconds=_seconds_text,
        percent=_percent,
    )
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    localise_response(request, response)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
