"""The web console for agencies and supervisors: server-rendered pages over the same actions.

Sign-in takes the agency's (or a supervisor's) bearer token and sets a signed session cookie
(HttpOnly, SameSite=Strict); every form carries a CSRF token bound to the session.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import BaseModel, ValidationError

from services.common import params
from services.common.contracts import CaseStatus, Category
from services.common.csrf import CSRF_COOKIE, CsrfTokens
from services.common.http import read_form
from services.common.i18n import (
    localise_response,
    request_language,
    switch_language_url,
    template_environment,
)
from services.common.labels import CATEGORIES, category_name, platform_name
from services.routing import console_texts as texts
from services.routing.actions import (
    SUPERVISOR,
    CaseNotFound,
    ConcurrentChange,
    InvalidReassignment,
    UnreadableCase,
)
from services.routing.api import ACTION_BODIES, ROUTING, action_request, detail_with_evidence
from services.routing.case import Case
from services.routing.cases import CaseQuery
from services.routing.dashboard import bar_chart, duration_text, figures, overdue_by_level
from services.routing.grouping_texts import GROUPING
from services.routing.lifecycle import IllegalTransition, allowed_actions
from services.routing.models import MergeBody, SplitBody
from services.routing.regrouping import InvalidRegrouping, NotSupervisor, RegroupConflict
from services.routing.sessions import SESSION_COOKIE, Session, Sessions

SESSIONS: web.AppKey[Sessions] = web.AppKey("console_sessions", Sessions)
LOGIN_CSRF: web.AppKey[CsrfTokens] = web.AppKey("console_login_csrf", CsrfTokens)
TEMPLATES = template_environment("services.routing")


def render(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    """A console page in the reader's language."""
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
    return response


def current(request: web.Request) -> Session:
    """The signed-in session, or a redirect to the sign-in page."""
    session = request.app[SESSIONS].check(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise web.HTTPSeeOther(f"/console/login?{urlencode({'next': request.path_qs})}")
    return session


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
        request.cookies.get(CSRF_COOKIE), _text(form, "csrf_token")
    ):
        return await login_page(request, error=t["expired_form"])
    signed = request.app[SESSIONS].sign_in(_text(form, "token") or "")
    if signed is None:
        return await login_page(request, error=t["bad_token"])
    principal, cookie = signed
    landing = "/console/overview" if principal == SUPERVISOR else "/console/cases"
    response = web.HTTPSeeOther(_safe_next(_text(form, "next")) or landing)
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
    if not request.app[SESSIONS].csrf_valid(session, _text(form, "csrf_token")):
        raise web.HTTPForbidden(text="invalid form token")
    response = web.HTTPSeeOther("/console/login")
    response.del_cookie(SESSION_COOKIE, path="/console")
    raise response


async def case_list(request: web.Request) -> web.Response:
    """GET /console/cases: the caller's cases, most urgent first, with filters."""
    session = current(request)
    ctx = request.app[ROUTING]
    now = ctx.clock()
    try:
        filters = _filters(request, session.principal, ctx.agencies)
        cases, next_cursor = await ctx.repository.find(filters, now)
    except params.ParamError as exc:
        return _error_page(request, session, 400, f"{exc.field}: {exc.message}")
    rows = [_row(case, now) for case in cases]
    template = "console_table.html" if request.query.get("partial") else "console_cases.html"
    kept = {k: v for k, v in request.query.items() if k not in ("cursor", "partial", "lang")}
    return render(
        request,
        template,
        session=session,
        csrf_token=request.app[SESSIONS].csrf_token(session),
        rows=rows,
        filters=filters,
        query=kept,
        next_url=f"/console/cases?{urlencode({**kept, 'cursor': next_cursor})}"
        if next_cursor
        else None,
        refresh_url=f"/console/cases?{urlencode({**kept, 'partial': '1'})}",
        categories=[c.value for c in Category],
        status_values=[s.value for s in CaseStatus],
    )


def _filters(request: web.Request, principal: str, agencies: frozenset[str]) -> CaseQuery:
    """The list filters of the form; an empty field means any, an unknown value a ParamError."""
    q = request.query
    agency = principal if principal != SUPERVISOR else _choice(q, "agency", agencies)
    return CaseQuery(
        agency=agency,
        status=_choice(q, "status", {s.value for s in CaseStatus}),
        category=_choice(q, "category", {c.value for c in Category}),
        overdue=True if q.get("overdue") == "1" else None,
        cursor=q.get("cursor") or None,
        limit=50,
    )


def _choice(query: Mapping[str, str], name: str, known: Set[str]) -> str | None:
    """A filter that must be one of `known`; empty means any."""
    value = query.get(name) or None
    if value is not None and value not in known:
        raise params.ParamError(name, f"one of {', '.join(sorted(known))}")
    return value


def _row(case: Case, now: datetime) -> dict[str, Any]:
    left, css = time_left(case, now)
    return {"case": case, "left": left, "css": css, "overdue": case.is_overdue(now)}


def time_left(case: Case, now: datetime) -> tuple[timedelta | None, str]:
    """Time to the deadline (negative when overdue) and its colour class."""
    left = case.time_left(now)
    if left is None:
        return None, "none"
    if case.is_overdue(now):
        return left, "late"
    window = timedelta(seconds=case.acknowledge_within_s or 86400)
    return left, "soon" if left < window / 4 else "ok"


def _error_page(request: web.Request, session: Session, status: int, message: str) -> web.Response:
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


async def case_page(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.Response:
    """GET /console/cases/{case_id}: report, links as text, contact if allowed, audit, actions."""
    session = current(request)
    ctx = request.app[ROUTING]
    try:
        case = await ctx.actions.load(request.match_info["case_id"], session.principal)
    except CaseNotFound:
        no_such_case = texts.words(texts.UI, request_language(request))["no_such_case"]
        return _error_page(request, session, 404, no_such_case)
    except UnreadableCase as exc:
        return _error_page(request, session, 409, str(exc))
    now = ctx.clock()
    left, css = time_left(case, now)
    return render(
        request,
        "console_case.html",
        status=status,
        session=session,
        csrf_token=request.app[SESSIONS].csrf_token(session),
        case=detail_with_evidence(ctx, case, session.principal),
        left=left,
        css=css,
        level=case.escalation_level,
        actions=[a.value for a in allowed_actions(case.status)],
        regroup=session.principal == SUPERVISOR and case.is_open,
        outcomes=texts.words(texts.OUTCOMES, request_language(request)),
        agencies=[a for a in ctx.actions.policy.agencies if a != case.agency],
        done=request.query.get("done"),
        error=error,
    )


async def act(request: web.Request) -> web.Response:
    """POST /console/cases/{case_id}/{action}: one lifecycle action from a form."""
    session = current(request)
    form = await read_form(request)
    if not request.app[SESSIONS].csrf_valid(session, _text(form, "csrf_token")):
        raise web.HTTPForbidden(text="invalid form token")
    ctx = request.app[ROUTING]
    name = request.match_info["action"]
    action, model = ACTION_BODIES[name]
    fields = {k: v for k in model.model_fields if (v := (_text(form, k) or "").strip())}
    case_id = request.match_info["case_id"]
    try:
        body: BaseModel = model.model_validate(fields)
        await ctx.actions.perform(
            case_id, session.principal, action_request(action, session.principal, body)
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return await case_page(request, error=problems, status=422)
    except (CaseNotFound, UnreadableCase):
        return await case_page(request)  # the page says which, with its 404 or 409
    except (IllegalTransition, InvalidReassignment, ConcurrentChange) as exc:
        return await case_page(request, error=str(exc) or type(exc).__name__, status=409)
    back = request.query.get("back") == "overview" and session.principal == SUPERVISOR
    target = "/console/overview" if back else f"/console/cases/{case_id}?done={name}"
    raise web.HTTPSeeOther(target)


REGROUP_BODIES: dict[str, type[BaseModel]] = {"split": SplitBody, "merge": MergeBody}


async def regroup(request: web.Request) -> web.Response:
    """POST /console/cases/{case_id}/{split|merge}: a supervisor's split or merge from a form."""
    session = current(request)
    form = await read_form(request)
    if not request.app[SESSIONS].csrf_valid(session, _text(form, "csrf_token")):
        raise web.HTTPForbidden(text="invalid form token")
    ctx, name = request.app[ROUTING], request.match_info["op"]
    model = REGROUP_BODIES[name]
    fields = {k: v for k in model.model_fields if (v := (_text(form, k) or "").strip())}
    case_id = request.match_info["case_id"]
    try:
        body = model.model_validate(fields)
        if isinstance(body, SplitBody):
            _, new_case = await ctx.regrouping.split(
                case_id, session.principal, body.report_id, body.reason
            )
            raise web.HTTPSeeOther(f"/console/cases/{new_case.case_id}?done=split")
        if isinstance(body, MergeBody):
            target = await ctx.regrouping.merge(case_id, session.principal, body.into, body.reason)
            raise web.HTTPSeeOther(f"/console/cases/{target.case_id}?done=merge")
        raise web.HTTPNotFound()  # the route names split and merge only
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return await case_page(request, error=problems, status=422)
    except InvalidRegrouping as exc:
        return await case_page(request, error=f"{exc.field}: {exc}", status=409)
    except NotSupervisor as exc:
        return await case_page(request, error=str(exc), status=403)
    except (CaseNotFound, UnreadableCase):
        return await case_page(request)
    except (RegroupConflict, ConcurrentChange) as exc:
        return await case_page(request, error=str(exc) or type(exc).__name__, status=409)


async def overview(request: web.Request) -> web.Response:
    """GET /console/overview: triage queue, overdue by agency and level, alerts, dashboard."""
    session = current(request)
    if session.principal != SUPERVISOR:
        raise web.HTTPSeeOther("/console/cases")
    ctx = request.app[ROUTING]
    now = ctx.clock()
    try:
        start, end = _period(request, now)
    except params.ParamError as exc:
        return _error_page(request, session, 400, f"{exc.field}: {exc.message}")
    triage, _ = await ctx.repository.find(CaseQuery(status="triage", limit=100), now)
    overdue, _ = await ctx.repository.find(CaseQuery(overdue=True, limit=500), now)
    period = await ctx.repository.created_between(start, end)
    numbers = figures(period)
    lang = request_language(request)
    t = texts.words(texts.UI, lang)
    return render(
        request,
        "console_overview.html",
        session=session,
        csrf_token=request.app[SESSIONS].csrf_token(session),
        triage=triage,
        agencies=list(ctx.actions.policy.agencies),
        overdue=[
            (agency, levels[0], levels[1], levels[2], sum(n for lv, n in levels.items() if lv >= 3))
            for agency, levels in sorted(overdue_by_level(overdue, now).items())
        ],
        alerts=await ctx.repository.recent_escalations(limit=30),
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


def _text(form: MultiDictProxy[Any], name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _safe_next(path: str | None) -> str | None:
    """Only a path inside the console (never another site) is followed after sign-in."""
    if path and path.startswith("/console/") and not path.startswith("//"):
        return path
    return None


async def root(request: web.Request) -> web.Response:
    """GET /console: to the cases (or the sign-in page)."""
    raise web.HTTPSeeOther("/console/cases")


async def script(_: web.Request) -> web.Response:
    """The console's only script: refresh the case list when it changes."""
    return web.Response(text=REFRESH_JS, content_type="application/javascript")


REFRESH_JS = """
(function () {
  var table = document.getElementById('case-table');
  var notice = document.getElementById('live-notice');
  if (!table) { return; }
  var url = table.getAttribute('data-refresh');
  function refresh() {
    fetch(url, {credentials: 'same-origin'}).then(function (reply) {
      if (!reply.ok) { return null; }
      return reply.text();
    }).then(function (html) {
      if (html === null || html === table.innerHTML) { return; }
      var before = table.querySelectorAll('tbody tr[data-case]').length;
      table.innerHTML = html;
      if (table.querySelectorAll('tbody tr[data-case]').length > before && notice) {
        notice.textContent = notice.getAttribute('data-new');
      }
    }).catch(function () {});
  }
  setInterval(refresh, 3000);
})();
"""


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
    app.router.add_get("/console/overview", overview)
    app.router.add_get("/console/console.js", script)
