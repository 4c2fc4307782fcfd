"""The supervisors' overview page: triage queue, overdue cases by agency and escalation level,
the alert log, and the dashboard of a period."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from aiohttp import web

from services.common import params
from services.common.i18n import request_language
from services.common.labels import CATEGORIES, category_name
from services.routing import console_texts as texts
from services.routing.actions import SUPERVISOR, within_scope
from services.routing.api import ROUTING
from services.routing.case import Case
from services.routing.cases import CaseQuery
from services.routing.console import SESSIONS, current, error_page, may_change, render
from services.routing.dashboard import bar_chart, duration_text, figures, overdue_by_level
from services.routing.people import Role
from services.routing.visibility import may_see, sees_sensitive


async def overview(request: web.Request) -> web.Response:
    """GET /console/overview: triage queue, overdue by agency and level, alerts, dashboard;
    a supervisor's within their scope, an agency lead's of their agency (no triage queue)."""
    session = current(request)
    person = session.person
    lead_of = person.agency if person is not None and person.role is Role.LEAD else None
    if session.principal != SUPERVISOR and lead_of is None:
        raise web.HTTPSeeOther("/console/cases")

    auditor = person is not None and person.auditing

    def seen(case: Case) -> bool:
        return within_scope(case, person) and lead_of in (None, case.agency)

    def listed(case: Case) -> bool:
        return seen(case) and may_see(session.principal, case.category, auditor=auditor)

    ctx = request.app[ROUTING]
    now = ctx.clock()
    try:
        start, end = _period(request, now)
    except params.ParamError as exc:
        return error_page(request, session, 400, f"{exc.field}: {exc.message}")
    triage, _ = await ctx.repository.find(CaseQuery(status="triage", limit=100), now)
    overdue, _ = await ctx.repository.find(CaseQuery(agency=lead_of, overdue=True, limit=500), now)
    period = [case for case in await ctx.repository.created_between(start, end) if seen(case)]
    numbers = figures(period, sensitive_detail=sees_sensitive(session.principal, auditor=auditor))
    alerts = await ctx.repository.recent_escalations(limit=30, now=now)
    agencies = {lead_of} if lead_of else (person.scope_agencies if person else frozenset())
    lang = request_language(request)
    t = texts.words(texts.UI, lang)
    return render(
        request,
        "console_overview.html",
        session=session,
        csrf_token=request.app[SESSIONS].csrf_token(session),
        triage=[] if lead_of else [case for case in triage if listed(case)],
        may_act=may_change(session),
        agencies=list(ctx.actions.policy.agencies),
        overdue=[
            (agency, levels[0], levels[1], levels[2], sum(n for lv, n in levels.items() if lv >= 3))
            for agency, levels in sorted(
                overdue_by_level([case for case in overdue if listed(case)], now).items()
            )
        ],
        alerts=[alert for alert in alerts if not agencies or alert.agency in agencies],
        numbers=numbers,
        duration=duration_text,
        start=start.date().isoformat(),
        end=(end - timedelta(days=1)).date().isoformat(),
        category_chart=bar_chart(
            [(category_name(c.value, lang), numbers.by_category[c.value]) for c in CATEGORIES],
            title=t["by_category"],
        ),
    )


def _period(request: web.Request, now: datetime) -> tuple[datetime, datetime]:
    """The chosen [from, to] days (inclusive), the last 30 days by default."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = _day(request, "from") or today - timedelta(days=29)
    end = _day(request, "to") or today
    return start, end + timedelta(days=1)


def _day(request: web.Request, name: str) -> datetime | None:
    """A YYYY-MM-DD parameter as the start of that day in UTC; None when empty."""
    raw = request.query.get(name) or None
    if raw is None:
        return None
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 and raw.isascii() else None
    except ValueError:
        day = None
    if day is None:
        raise params.ParamError(name, "a day as YYYY-MM-DD")
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return params.check_datetime(moment, field=name)
