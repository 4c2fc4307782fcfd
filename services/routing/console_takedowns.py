"""The console's forms for requests to platforms: record one (sent, or a draft), send a draft,
record the platform's answer, discard a draft. Same checks and plans as the API; CSRF on every
form, a redirect after success, the form again with each problem beside its field after a
refusal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import BaseModel, ValidationError

from services.common.i18n import request_language
from services.routing import console_texts as texts
from services.routing.actions import CaseNotFound, ConcurrentChange, UnreadableCase
from services.routing.api import ROUTING
from services.routing.case import Case
from services.routing.console import (
    FailedForm,
    case_page,
    failed_form,
    form_text,
    may_change,
    read_only_refusal,
)
from services.routing.console_pages import posted_form
from services.routing.lifecycle import IllegalTransition
from services.routing.planning import Plan
from services.routing.policy import Policy
from services.routing.sessions import Session
from services.routing.sharing import InformedOnly
from services.routing.takedown_terms import (
    TakedownBody,
    new_request_id,
)
from services.routing.takedowns import (
    STEPS,
    InvalidTakedown,
    Planner,
    TakedownNotFound,
    TakedownRefused,
    plan_record,
)
from services.routing.transparency import LOCAL

TIME_FIELDS = ("sent_at", "answered_at")


async def record(request: web.Request) -> web.Response:
    """POST /console/cases/{case_id}/takedowns: a request sent to the platform, or a draft."""
    session, form = await posted_form(request)
    if not may_change(session):
        return await read_only_refusal(request)
    fields = _fields(form, TakedownBody)
    try:
        body = TakedownBody.model_validate(_with_times(fields))
    except ValidationError as exc:
        return await _refused(request, failed_form("takedown", fields, exc))
    request_id = new_request_id()

    def plan(case: Case, policy: Policy, now: datetime) -> Plan:
        return plan_record(
            case, body, actor=session.principal, request_id=request_id, policy=policy, now=now
        )

    return await _change(request, session, plan, FailedForm("takedown", fields, {}))


async def step(request: web.Request) -> web.Response:
    """POST /console/cases/{case_id}/takedowns/{request_id}/{send|answer|discard}."""
    session, form = await posted_form(request)
    if not may_change(session):
        return await read_only_refusal(request)
    name, request_id = request.match_info["step"], request.match_info["request_id"]
    model, planner = STEPS[name]
    fields = _fields(form, model)
    form_name = f"{name}-{request_id}"
    try:
        body = model.model_validate(_with_times(fields))
    except ValidationError as exc:
        return await _refused(request, failed_form(form_name, fields, exc))

    def plan(case: Case, policy: Policy, now: datetime) -> Plan:
        return planner(case, request_id, body, actor=session.principal, policy=policy, now=now)

    return await _change(request, session, plan, FailedForm(form_name, fields, {}))


def _fields(form: MultiDictProxy[Any], model: type[BaseModel]) -> dict[str, str]:
    """The model's fields the form filled in (empty ones left out: they take their default)."""
    return {k: v for k in model.model_fields if (v := (form_text(form, k) or "").strip())}


def _with_times(fields: dict[str, str]) -> dict[str, str]:
    """The fields with a `datetime-local` time (YYYY-MM-DDTHH:MM, Vietnam time) given its zone;
    anything else is left for the model to refuse, beside its field."""
    given = dict(fields)
    for name in TIME_FIELDS:
        raw = given.get(name)
        if raw is None:
            continue
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            continue
        if moment.tzinfo is None:
            given[name] = moment.replace(tzinfo=LOCAL).isoformat()
    return given


async def _change(
    request: web.Request, session: Session, plan: Planner, form: FailedForm
) -> web.Response:
    """Store the planned change (its audit line naming the person) and go back to the case
    page; a refusal shown on it."""
    ctx = request.app[ROUTING]
    case_id = request.match_info["case_id"]
    try:
        await ctx.actions.change(
            case_id, session.principal, plan, action="takedown", person=session.person
        )
    except InvalidTakedown as exc:
        refused = FailedForm(form.name, form.values, {exc.field: str(exc)})
        return await _refused(request, refused)
    except (CaseNotFound, UnreadableCase):
        return await case_page(request)
    except TakedownNotFound as exc:
        return await case_page(request, error=f"no request {exc} on this case", status=404)
    except InformedOnly as exc:
        return await case_page(request, error=str(exc), status=403)
    except (TakedownRefused, IllegalTransition, ConcurrentChange) as exc:
        return await case_page(request, error=str(exc) or type(exc).__name__, status=409)
    done = request.match_info.get("step", "takedown")
    raise web.HTTPSeeOther(f"/console/cases/{case_id}?done={done}#takedowns-h")


async def _refused(request: web.Request, failed: FailedForm) -> web.Response:
    """The case page again, 422, with the form as typed and each problem beside its field."""
    words = texts.words(texts.UI, request_language(request))
    return await case_page(request, error=words["field_problem"], status=422, failed=failed)


def add_takedown_forms(app: web.Application) -> None:
    """Register the console's takedown request forms."""
    base = "/console/cases/{case_id}/takedowns"
    app.router.add_post(base, record)
    app.router.add_post(base + "/{request_id}/{step:" + "|".join(STEPS) + "}", step)
