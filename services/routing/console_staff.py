"""The console's staff forms: a lead assigns a case to one of the agency's officers, and an
administrator lists the accounts and disables (or enables again) one."""

from __future__ import annotations

from aiohttp import web

from services.common.i18n import request_language
from services.routing import console_texts as texts
from services.routing.accounts import ACCOUNTS, AccountProblem
from services.routing.actions import CaseNotFound, ConcurrentChange, InformedOnly, UnreadableCase
from services.routing.api import ROUTING
from services.routing.assign_api import assign_case
from services.routing.assigning import AssignConflict, InvalidAssignee
from services.routing.console import FailedForm, case_page, error_page, form_text, render
from services.routing.console_pages import posted_form
from services.routing.people import Role
from services.routing.sessions import SESSIONS, Session, current


async def _posted(request: web.Request, field: str) -> tuple[Session, str]:
    """The session of a posted form (its CSRF token checked) and the form's `field`."""
    session, form = await posted_form(request)
    return session, (form_text(form, field) or "").strip()


async def assign(request: web.Request) -> web.Response:
    """POST /console/cases/{case_id}/assign: a lead assigns the case to an officer."""
    session, officer = await _posted(request, "officer")
    words = texts.words(texts.UI, request_language(request))
    person = session.person
    if person is None or person.role is not Role.LEAD:
        return await case_page(request, error=words["lead_only"], status=403)
    case_id = request.match_info["case_id"]
    try:
        await assign_case(
            request.app[ROUTING], request.app[ACCOUNTS], case_id, session.principal, officer, person
        )
    except (CaseNotFound, UnreadableCase):
        return await case_page(request)
    except InformedOnly as exc:
        return await case_page(request, error=str(exc), status=403)
    except InvalidAssignee as exc:
        failed = FailedForm("assign", {"officer": officer}, {"officer": str(exc)})
        return await case_page(request, error=words["field_problem"], status=422, failed=failed)
    except (AssignConflict, ConcurrentChange) as exc:
        return await case_page(request, error=str(exc) or type(exc).__name__, status=409)
    raise web.HTTPSeeOther(f"/console/cases/{case_id}?done=assign_officer")


def _admin(request: web.Request) -> tuple[Session, web.Response | None]:
    """The session, and the 403 page for anyone but an administrator."""
    session = current(request)
    if session.person is not None and session.person.role is Role.ADMIN:
        return session, None
    words = texts.words(texts.UI, request_language(request))
    return session, error_page(request, session, 403, words["admin_only"])


async def accounts_page(request: web.Request) -> web.Response:
    """GET /console/accounts: every account, with a button to disable or enable it."""
    session, refused = _admin(request)
    if refused is not None:
        return refused
    accounts = await request.app[ACCOUNTS].every()
    return render(
        request,
        "console_accounts.html",
        session=session,
        csrf_token=request.app[SESSIONS].csrf_token(session),
        accounts=accounts,
        now=request.app[ROUTING].clock(),
        done=request.query.get("done"),
    )


async def set_disabled(request: web.Request) -> web.Response:
    """POST /console/accounts/{disable|enable} (form field `account`): disabling an account
    ends its sessions at once."""
    session, refused = _admin(request)
    if refused is not None:
        return refused
    _, account_id = await _posted(request, "account")
    if session.person is not None and account_id == session.person.account_id:
        words = texts.words(texts.UI, request_language(request))
        return error_page(request, session, 409, words["not_yourself"])
    try:
        disable = request.match_info["state"] == "disable"
        await request.app[ACCOUNTS].set_disabled(account_id, disable)
    except AccountProblem as exc:
        return error_page(request, session, 404, str(exc))
    raise web.HTTPSeeOther(f"/console/accounts?done={request.match_info['state']}")
