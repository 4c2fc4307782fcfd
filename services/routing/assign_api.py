"""Assigning a case to an officer of the agency holding it: the API's
`POST /api/v1/cases/{case_id}/assign` and the one way in the console's lead form shares."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.common.http import json_error
from services.routing.accounts import ACCOUNTS, Accounts
from services.routing.api import (
    CASE_REFUSALS,
    ROUTING,
    RoutingContext,
    authorize,
    case_refusal,
    detail_with_evidence,
    read_body,
)
from services.routing.apikeys import Scope
from services.routing.assigning import ASSIGN_OFFICER, AssignConflict, InvalidAssignee, plan_assign
from services.routing.case import Case
from services.routing.people import Person
from services.routing.planning import Plan
from services.routing.policy import Policy


class AssignBody(BaseModel):
    """Whom to assign the case to."""

    model_config = ConfigDict(extra="forbid")

    officer: str = Field(
        min_length=1,
        max_length=300,
        description="The account id of an active officer or lead of the agency holding the "
        "case (`incidents-admin accounts list` shows them).",
    )


async def assign_case(
    ctx: RoutingContext,
    accounts: Accounts,
    case_id: str,
    principal: str,
    officer_id: str,
    person: Person | None = None,
) -> Case:
    """Assign the case to the officer; CaseNotFound, UnreadableCase, InformedOnly,
    InvalidAssignee (no such active officer of the agency), AssignConflict, ConcurrentChange."""
    await ctx.actions.load(case_id, principal, person)  # an unseen case is a 404 first
    officer = await accounts.get(officer_id)
    if officer is None or officer.disabled:
        raise InvalidAssignee(officer_id)

    def plan(case: Case, policy: Policy, now: datetime) -> Plan:
        return plan_assign(case, officer.person, actor=principal, person=person, now=now)

    return await ctx.actions.change(case_id, principal, plan, action=ASSIGN_OFFICER, person=person)


async def assign(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/assign: the case to one of the agency's officers."""
    principal = await authorize(request, Scope.CASES_WRITE)
    ctx = request.app[ROUTING]
    body = await read_body(request, AssignBody)
    try:
        case = await assign_case(
            ctx, request.app[ACCOUNTS], request.match_info["case_id"], principal, body.officer
        )
    except CASE_REFUSALS as exc:
        return case_refusal(exc)
    except InvalidAssignee as exc:
        # 409, not 422: the body is well formed; the officer it names does not fit the case.
        error = {"field": "officer", "message": str(exc), "type": "conflict"}
        return json_error(409, str(exc), [error])
    except AssignConflict as exc:
        return json_error(409, str(exc))
    return web.json_response(detail_with_evidence(ctx, case, principal).model_dump(mode="json"))


def add_assign_route(app: web.Application) -> None:
    """Register the assignment."""
    app.router.add_post("/api/v1/cases/{case_id}/assign", assign)
