"""The supervisors' split and merge forms on the case page."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ValidationError

from services.routing.actions import CaseNotFound, ConcurrentChange, UnreadableCase
from services.routing.api import ROUTING
from services.routing.console import case_page, form_text, may_change, read_only_refusal
from services.routing.console_pages import posted_form
from services.routing.models import MergeBody, SplitBody
from services.routing.regrouping import InvalidRegrouping, NotSupervisor, RegroupConflict

REGROUP_BODIES: dict[str, type[BaseModel]] = {"split": SplitBody, "merge": MergeBody}


async def regroup(request: web.Request) -> web.Response:
    """POST /console/cases/{case_id}/{split|merge}: a supervisor's split or merge from a form."""
    session, form = await posted_form(request)
    if not may_change(session):
        return await read_only_refusal(request)
    ctx, name = request.app[ROUTING], request.match_info["op"]
    model = REGROUP_BODIES[name]
    fields = {k: v for k in model.model_fields if (v := (form_text(form, k) or "").strip())}
    case_id = request.match_info["case_id"]
    person = session.person.audit_name if session.person else None
    try:
        await ctx.actions.load(case_id, session.principal, session.person)  # its scope
        body = model.model_validate(fields)
        if isinstance(body, SplitBody):
            _, new_case = await ctx.regrouping.split(
                case_id,
                session.principal,
                body.report_id,
                body.reason,
                person,
                scope=session.person,
            )
            raise web.HTTPSeeOther(f"/console/cases/{new_case.case_id}?done=split")
        if isinstance(body, MergeBody):
            target = await ctx.regrouping.merge(
                case_id,
                session.principal,
                body.into,
                body.reason,
                person,
                scope=session.person,
            )
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
