"""The web console for agencies and supervisors: server-rendered pages over the same actions.

The case list and the case page with its action forms (decisions, reviews, notes, reassigning,
splitting and merging); sign-in is in `console_login`, the routes in `console_routes`. Every
form carries a CSRF token bound to the session (set at sign-in: HttpOnly, SameSite=Strict).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import BaseModel, ValidationError

from services.common import params
from services.common.contracts import CaseStatus, Category
from services.common.http import read_form
from services.common.i18n import (
    localise_response,
    request_language,
    switch_language_url,
    template_environment,
)
from services.common.labels import category_name, platform_name
from services.routing import console_texts as texts
from services.routing import transparency_texts as decision_texts
from services.routing.actions import (
    SUPERVISOR,
    CaseNotFound,
    ConcurrentChange,
    InvalidReassignment,
    SensitiveReassignment,
    UnreadableCase,
)
from services.routing.api import ACTION_BODIES, ROUTING, detail_with_evidence, perform_action
from services.routing.case import Case
from services.routing.cases import CaseQuery
from services.routing.console_case import (
    clock_views,
    decision_choices,
    form_actions,
    review_withheld,
    takedown_views,
)
from services.routing.decisions import EXPLANATION_MAX, InvalidDecision, ReviewerConflict
from services.routing.grouping_texts import GROUPING
from services.routing.lifecycle import IllegalTransition
from services.routing.models import MergeBody, SplitBody
from services.routing.regrouping import InvalidRegrouping, NotSupervisor, RegroupConflict
from services.routing.sessions import SESSION_COOKIE, Session, Sessions
from services.routing.sharing import InformedOnly, only_informed
from services.routing.visibility import hidden_categories, reassignment_problem

SESSIONS: web.AppKey[Sessions] = web.AppKey("console_sessions", Sessions)
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


async def case_list(request: web.Request) -> web.Response:
    """GET /console/cases: the caller's cases, most urgent first, with filters."""
    session = current(request)
    ctx = request.app[ROUTING]
    now = ctx.clock()
    try:
        filters = _filters(request, session.principal, ctx.agencies)
        cases, next_cursor = await ctx.repository.find(filters, now)
    except params.ParamError as exc:
        return error_page(request, session, 400, f"{exc.field}: {exc.message}")
    rows = [_row(case, now, session.principal) for case in cases]
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
    supervisor = principal == SUPERVISOR
    return CaseQuery(
        agency=_choice(q, "agency", agencies) if supervisor else None,
        reader=None if supervisor else principal,
        status=_choice(q, "status", {s.value for s in CaseStatus}),
        category=_choice(q, "category", {c.value for c in Category}),
        hidden_categories=hidden_categories(principal),
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


def _row(case: Case, now: datetime, principal: str) -> dict[str, Any]:
    left, css = time_left(case, now)
    informed = only_informed(case, principal)
    return {
        "case": case,
        "left": left,
        "css": css,
        "overdue": case.is_overdue(now),
        "informed": informed,
    }


def time_left(case: Case, now: datetime) -> tuple[timedelta | None, str]:
    """Time to the deadline (negative when overdue) and its colour class."""
    left = case.time_left(now)
    if left is None:
        return None, "none"
    if case.is_overdue(now):
        return left, "late"
    window = timedelta(seconds=case.acknowledge_within_s or 86400)
    return left, "soon" if left < window / 4 else "ok"


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


async def case_page(
    request: web.Request,
    *,
    error: str | None = None,
    status: int = 200,
    failed: FailedForm | None = None,
) -> web.Response:
    """GET /console/cases/{case_id}: report, links as text, contact if allowed, the two clocks,
    decisions, appeals and requests to platforms, audit, and the forms the officer may use."""
    session = current(request)
    ctx = request.app[ROUTING]
    lang = request_language(request)
    try:
        case = await ctx.actions.load(request.match_info["case_id"], session.principal)
    except CaseNotFound:
        return error_page(request, session, 404, texts.words(texts.UI, lang)["no_such_case"])
    except UnreadableCase as exc:
        return error_page(request, session, 409, str(exc))
    now = ctx.clock()
    left, css = time_left(case, now)
    informed = only_informed(case, session.principal)
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
        actions=form_actions(case, session.principal),
        informed_only=informed,
        informed=case.informed,
        review_withheld=review_withheld(case, session.principal),
        clocks=clock_views(case, now),
        takedowns=takedown_views(case, now),
        now=now,
        may_request=not informed and case.is_open and case.status is not CaseStatus.APPEALED,
        choices=decision_choices(ctx.actions.policy, lang),
        outcome_names=decision_texts.words(decision_texts.DECISION_OUTCOMES, lang),
        results=decision_texts.words(decision_texts.APPEAL_RESULTS, lang),
        takedown_status=decision_texts.words(decision_texts.TAKEDOWN_STATUS, lang),
        channels=decision_texts.words(decision_texts.CHANNELS, lang),
        asked=decision_texts.words(decision_texts.ASKED, lang),
        explanation_max=EXPLANATION_MAX,
        regroup=session.principal == SUPERVISOR and case.is_open,
        agencies=[
            agency
            for agency in ctx.actions.policy.agencies
            if agency != case.agency and reassignment_problem(case.category, agency) is None
        ],
        done=request.query.get("done"),
        error=error,
        failed=failed,
    )


async def act(request: web.Request) -> web.Response:
    """POST /console/cases/{case_id}/{action}: one lifecycle action from a form."""
    session = current(request)
    form = await read_form(request)
    if not request.app[SESSIONS].csrf_valid(session, form_text(form, "csrf_token")):
        raise web.HTTPForbidden(text="invalid form token")
    ctx = request.app[ROUTING]
    name = request.match_info["action"]
    action, model = ACTION_BODIES[name]
    fields = {k: v for k in model.model_fields if (v := (form_text(form, k) or "").strip())}
    case_id = request.match_info["case_id"]
    try:
        body: BaseModel = model.model_validate(fields)
        await perform_action(ctx, case_id, session.principal, action, body)
    except ValidationError as exc:
        return await _refused(request, failed_form(name, fields, exc))
    except InvalidDecision as exc:
        return await _refused(request, FailedForm(name, fields, {exc.field: str(exc)}))
    except SensitiveReassignment:
        words = texts.words(texts.UI, request_language(request))
        problem = {"agency": words["sensitive_agency"]}
        return await _refused(request, FailedForm(name, fields, problem))
    except (CaseNotFound, UnreadableCase):
        return await case_page(request)  # the page says which, with its 404 or 409
    except (ReviewerConflict, InformedOnly) as exc:
        return await case_page(request, error=str(exc) or type(exc).__name__, status=403)
    except (IllegalTransition, InvalidReassignment, ConcurrentChange) as exc:
        return await case_page(request, error=str(exc) or type(exc).__name__, status=409)
    back = request.query.get("back") == "overview" and session.principal == SUPERVISOR
    target = "/console/overview" if back else f"/console/cases/{case_id}?done={name}"
    raise web.HTTPSeeOther(target)


async def _refused(request: web.Request, failed: FailedForm) -> web.Response:
    """The case page again, 422, the form as typed with each problem beside its field."""
    words = texts.words(texts.UI, request_language(request))
    return await case_page(request, error=words["field_problem"], status=422, failed=failed)


REGROUP_BODIES: dict[str, type[BaseModel]] = {"split": SplitBody, "merge": MergeBody}


async def regroup(request: web.Request) -> web.Response:
    """POST /console/cases/{case_id}/{split|merge}: a supervisor's split or merge from a form."""
    session = current(request)
    form = await read_form(request)
    if not request.app[SESSIONS].csrf_valid(session, form_text(form, "csrf_token")):
        raise web.HTTPForbidden(text="invalid form token")
    ctx, name = request.app[ROUTING], request.match_info["op"]
    model = REGROUP_BODIES[name]
    fields = {k: v for k in model.model_fields if (v := (form_text(form, k) or "").strip())}
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


def form_text(form: MultiDictProxy[Any], name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


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
