"""GET /api/v1/cases/{case_id}/contact: the agency holding a case opens its reporters' contacts.

A read that is audited: every answer with a contact adds a `contact_revealed` line naming the
caller (its API key's id) to the case's audit log before the contact leaves, and is never
cached. 404 when the case is not the caller's to see, 403 for an agency only informed of it
(unless the policy says `inform_contact`), 404 when the case holds no contact, 410 once it was
erased, 503 when a key the contact was sealed under is missing from CONTACT_KEYS. The audit
write matches only while the case still holds each contact as opened, so a contact erased
meanwhile is never handed out (410; 409 when it was re-sealed meanwhile: try again).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from services.common.http import json_error
from services.common.openapi import Operation, Responses
from services.common.sealing import KeyRing, SealingError
from services.routing.api import ROUTING, caller, readable_case
from services.routing.apikeys import Scope
from services.routing.case import Case
from services.routing.cases import CaseRepository
from services.routing.contacts import (
    ContactRefused,
    NoContact,
    Reveal,
    RevealedContacts,
    plan_reveal,
)
from services.routing.erasure import holds_contact
from services.routing.people import Person

log = logging.getLogger(__name__)

CONTACT_KEYS: web.AppKey[KeyRing] = web.AppKey("contact_keys", KeyRing)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class RevealFailed(Exception):
    """A reveal answered with an error: its status and message."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.field = status, field


async def reveal(
    request: web.Request,
    case: Case,
    principal: str,
    who: str | None,
    person: Person | None,
    report_id: str | None,
) -> Reveal:
    """Open the case's contacts and record the audit line first; RevealFailed otherwise.
    Shared by the API and the console."""
    ctx = request.app[ROUTING]
    keys = request.app[CONTACT_KEYS]
    try:
        planned = plan_reveal(case, principal, who, person, keys, ctx.clock(), report_id)
    except ContactRefused as exc:
        raise RevealFailed(403, str(exc)) from None
    except NoContact as exc:
        raise RevealFailed(410 if exc.erased else 404, str(exc), exc.field) from None
    except SealingError as exc:
        log.error("contact cannot be opened", extra={"case_id": case.case_id, "error": str(exc)})
        raise RevealFailed(503, "the contact cannot be opened now: a key is missing") from None
    if not await ctx.repository.record_audit(case.case_id, planned.audit, planned.still_held()):
        await _changed_meanwhile(ctx.repository, case.case_id, planned)
    log.info("contact revealed", extra={"case_id": case.case_id, "principal": principal})
    return planned


async def _changed_meanwhile(repository: CaseRepository, case_id: str, planned: Reveal) -> None:
    """The audit write missed, so nothing is revealed: the case is gone (404), a contact opened
    was erased meanwhile (410) or resealed under another key (409, try again)."""
    now = await repository.get(case_id)
    if now is None:
        raise RevealFailed(404, "no such case")
    if not all(holds_contact(now, report_id) for report_id in planned.opened):
        raise RevealFailed(410, "the reporter's contact was erased")
    raise RevealFailed(409, "the contact changed meanwhile; try again")


async def get_contact(request: web.Request) -> web.Response:
    """GET /api/v1/cases/{case_id}/contact[?report_id=]: the contacts of the case's reports
    (or of one), audited; `Cache-Control: no-store`."""
    principal, who = await caller(request, Scope.CASES_READ)
    case = await readable_case(request, principal)
    report_id = request.query.get("report_id") or None
    try:
        done = await reveal(request, case, principal, who, None, report_id)
    except RevealFailed as exc:
        named = [{"field": exc.field, "message": str(exc)}] if exc.field else None
        return json_error(exc.status, str(exc), named, headers=NO_STORE)
    return web.json_response(done.contacts.model_dump(mode="json"), headers=NO_STORE)


def contact_operations(
    case_id: dict[str, Any], database_down: tuple[str, type[BaseModel] | None]
) -> list[Operation]:
    """The reveal, documented."""
    report_id = {
        "name": "report_id",
        "in": "query",
        "required": False,
        "description": "Only this report's contact (default: every report's).",
        "schema": {"type": "string", "maxLength": 64},
    }
    responses: Responses = {
        200: ("The contacts, opened; the reveal is in the case's audit log", RevealedContacts),
        403: (
            "An agency only informed of the case (unless the policy says `inform_contact`), a "
            "supervisor, or an API key lacking cases:read (`missing_scope`)",
            None,
        ),
        404: ("No such case in the caller's scope, or no contact (or no such report)", None),
        409: (
            "A stored case that cannot be read, or a contact resealed meanwhile (try again)",
            None,
        ),
        410: ("The reporter's contact was erased", None),
        503: database_down,
    }
    return [
        Operation(
            "GET",
            "/api/v1/cases/{case_id}/contact",
            "Reveal the reporters' contacts (audited, never cached)",
            responses,
            "revealContact",
            parameters=[case_id, report_id],
            secured=True,
            tags=("cases",),
        )
    ]


def add_contact_routes(app: web.Application, keys: KeyRing) -> None:
    """Register the reveal on the agency API, with the ring that opens contacts."""
    app[CONTACT_KEYS] = keys
    app.router.add_get("/api/v1/cases/{case_id}/contact", get_contact)
