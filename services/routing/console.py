"""The web console for agencies and supervisors: server-rendered pages over the same actions.

The case list and the case page with its action forms (decisions, reviews, notes, reassigning,
splitting and merging); sign-in is in `console_login`, the routes in `console_routes`. Every
form carries a CSRF token bound to the session (set at sign-in: HttpOnly, SameSite=Strict).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import BaseModel, ValidationError

from services.common import params
from services.common.contracts import CaseStatus, Category, shown_explanation
from services.common.i18n import (
    request_language,
)
from services.routing import console_texts as texts
from services.routing import transparency_texts as decision_texts
from services.routing.accounts import ACCOUNTS
from services.routing.actions import (
    SUPERVISOR,
    CaseNotFound,
    ConcurrentChange,
    InvalidReassignment,
    SensitiveReassignment,
    UnreadableCase,
    scope_criteria,
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
    without_contact,
)
from services.routing.console_pages import (
    TEMPLATES,
    FailedForm,
    error_page,
    failed_form,
    form_text,
    posted_form,
    render,
)
from services.routing.contacts import RevealedContact
from services.routing.decisions import EXPLANATION_MAX, InvalidDecision, ReviewerConflict
from services.routing.lifecycle import IllegalTransition
from services.routing.people import Role
from services.routing.sessions import SESSIONS, Session, current
from services.routing.sharing import InformedOnly, only_informed
from services.routing.visibility import hidden_categories, reassignment_problem

__all__ = [  # what the other console modules take from here
    "SESSIONS",
    "TEMPLATES",
    "FailedForm",
    "current",
    "error_page",
    "failed_form",
    "form_text",
    "render",
]


async def case_list(request: web.Request) -> web.Response:
    """GET /console/cases: the caller's cases, most urgent first, with filters."""
    session = current(request)
    ctx = request.app[ROUTING]
    now = ctx.clock()
    if not session.principal:
        words = texts.words(texts.UI, request_language(request))
        return error_page(request, session, 403, words["no_cases_role"])
    try:
        filters = _filters(request, session, ctx.agencies)
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


def _filters(request: web.Request, session: Session, agencies: frozenset[str]) -> CaseQuery:
    """The list filters of the form (within a supervisor's scope; "assigned to me"); an empty
    field means any, an unknown value a ParamError."""
    q, principal, person = request.query, session.principal, session.person
    supervisor = principal == SUPERVISOR
    mine = q.get("mine") == "1" and person is not None and not supervisor
    also = scope_criteria(person) + (({"assignee": person.account_id},) if mine and person else ())
    return CaseQuery(
        agency=_choice(q, "agency", agencies) if supervisor else None,
        reader=None if supervisor else principal,
        status=_choice(q, "status", {s.value for s in CaseStatus}),
        category=_choice(q, "category", {c.value for c in Category}),
        hidden_categories=hidden_categories(principal, auditor=bool(person and person.auditing)),
        overdue=True if q.get("overdue") == "1" else None,
        also=also,
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


async def case_page(
    request: web.Request,
    *,
    error: str | None = None,
    status: int = 200,
    failed: FailedForm | None = None,
    revealed: Mapping[str, RevealedContact] | None = None,
) -> web.Response:
    """GET /console/cases/{case_id}: report, links as text, contact if allowed, the two clocks,
    decisions, appeals and requests to platforms, audit, and the forms the officer may use."""
    session = current(request)
    ctx = request.app[ROUTING]
    lang = request_language(request)
    person = session.person
    try:
        case = await ctx.actions.load(request.match_info["case_id"], session.principal, person)
    except CaseNotFound:
        return error_page(request, session, 404, texts.words(texts.UI, lang)["no_such_case"])
    except UnreadableCase as exc:
        return error_page(request, session, 409, str(exc))
    now = ctx.clock()
    left, css = time_left(case, now)
    informed = only_informed(case, session.principal)
    changes = may_change(session)
    detail = detail_with_evidence(ctx, case, session.principal)
    leads = person is not None and person.role is Role.LEAD and person.agency == case.agency
    leads = leads and case.is_open and not informed
    return render(
        request,
        "console_case.html",
        status=status,
        session=session,
        csrf_token=request.app[SESSIONS].csrf_token(session),
        case=detail if person is None or person.sees_contact else without_contact(detail),
        read_only_role=not changes,
        officers=await request.app[ACCOUNTS].officers(case.agency) if leads else None,
        assignee_name=case.assignee_name,
        left=left,
        css=css,
        level=case.escalation_level,
        actions=form_actions(case, session.principal) if changes else [],
        informed_only=informed,
        informed=case.informed,
        review_withheld=review_withheld(case, session.principal),
        clocks=clock_views(case, now),
        takedowns=takedown_views(case, now),
        now=now,
        may_request=changes
        and not informed
        and case.is_open
        and case.status is not CaseStatus.APPEALED,
        choices=decision_choices(ctx.actions.policy, lang),
        outcome_names=decision_texts.words(decision_texts.DECISION_OUTCOMES, lang),
        results=decision_texts.words(decision_texts.APPEAL_RESULTS, lang),
        takedown_status=decision_texts.words(decision_texts.TAKEDOWN_STATUS, lang),
        channels=decision_texts.words(decision_texts.CHANNELS, lang),
        asked=decision_texts.words(decision_texts.ASKED, lang),
        explanation_max=EXPLANATION_MAX,
        shown_explanation=shown_explanation,
        regroup=changes and session.principal == SUPERVISOR and case.is_open,
        agencies=[
            agency
            for agency in ctx.actions.policy.agencies
            if agency != case.agency and reassignment_problem(case.category, agency) is None
        ],
        done=request.query.get("done"),
        error=error,
        failed=failed,
        revealed=revealed or {},  # contacts opened by a reveal (services/routing/console_contact)
    )


async def act(request: web.Request) -> web.Response:
    """POST /console/cases/{case_id}/{action}: one lifecycle action from a form."""
    session, form = await posted_form(request)
    if not may_change(session):
        return await read_only_refusal(request)
    ctx = request.app[ROUTING]
    name = request.match_info["action"]
    action, model = ACTION_BODIES[name]
    fields = {k: v for k in model.model_fields if (v := (form_text(form, k) or "").strip())}
    case_id = request.match_info["case_id"]
    try:
        body: BaseModel = model.model_validate(fields)
        await perform_action(ctx, case_id, session.principal, action, body, session.person)
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


def may_change(session: Session) -> bool:
    """Whether the signed-in person may act on cases (auditors and administrators may not)."""
    return session.person is None or session.person.may_change


async def read_only_refusal(request: web.Request) -> web.Response:
    """403: the case page again, saying the person's role reads cases only."""
    words = texts.words(texts.UI, request_language(request))
    return await case_page(request, error=words["read_only_role"], status=403)


async def _refused(request: web.Request, failed: FailedForm) -> web.Response:
    """The case page again, 422, the form as typed with each problem beside its field."""
    words = texts.words(texts.UI, request_language(request))
    return await case_page(request, error=words["field_problem"], status=422, failed=failed)


async def root(request: web.Request) -> web.Response:
    """GET /console: to the cases (or the sign-in page)."""
    session = current(request)
    raise web.HTTPSeeOther("/console/cases" if session.principal else "/console/accounts")
