"""The JSON API: submit a report, look up its status, list categories, the OpenAPI document."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from services.common.http import decode_json_body, field_errors, json_error
from services.common.i18n import LANG_PARAM, negotiate
from services.common.labels import category_name
from services.common.mongo import Document
from services.intake.appeals import AppealRefusal, appeal_view, decision_view
from services.intake.context import INTAKE, IntakeContext
from services.intake.erasure import ERASED_AT, ERASURE_REASON
from services.intake.evidence_views import (
    create_report_with_evidence,
    flooded_response,
    is_multipart,
)
from services.intake.labels import (
    CATEGORIES,
    RECEIVED,
    Language,
    agency_label,
    outcome_label,
    status_label,
)
from services.intake.models import (
    AppealAccepted,
    AppealIn,
    CategoryInfo,
    CategoryList,
    Links,
    ReportCreated,
    ReportStatus,
    StatusChange,
)
from services.intake.repository import IdempotencyConflict, StoredReport
from services.intake.submission import REPORTS_REJECTED, ContentFlooded
from services.intake.tracking import normalise_tracking_code

BodyT = TypeVar("BodyT", bound=BaseModel)

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def _reject(status: int, message: str, reason: str, **kwargs: Any) -> web.Response:
    REPORTS_REJECTED.labels(channel="api", reason=reason).inc()
    return json_error(status, message, **kwargs)


async def create_report(request: web.Request) -> web.Response:
    """POST /api/v1/reports: 201 with the tracking code once the report is stored."""
    ctx = request.app[INTAKE]
    multipart = is_multipart(request)  # a `report` part and `evidence` files
    if not multipart and request.content_type != "application/json":
        return _reject(
            415, "Content-Type must be application/json or multipart/form-data", "content_type"
        )
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        return _reject(
            400, "Idempotency-Key must be 1-200 visible ASCII characters", "idempotency_key"
        )
    if multipart:
        return await create_report_with_evidence(request, key, created_response)
    try:
        data = decode_json_body(await request.read())
    except ValueError as exc:
        return _reject(400, str(exc), "malformed")
    try:
        report = ctx.submission.validate(data, channel="api")
    except ValidationError as exc:
        return json_error(422, "the report has invalid fields", field_errors(exc))
    try:
        stored = await ctx.submission.submit(
            report, channel="api", idempotency_key=key, client=ctx.client(request)
        )
    except IdempotencyConflict:
        return _reject(
            409, "this Idempotency-Key was used with a different report", "idempotency_conflict"
        )
    except ContentFlooded as exc:
        return flooded_response(exc)
    return created_response(ctx, stored)


def created_response(ctx: IntakeContext, stored: StoredReport) -> web.Response:
    """201 with the tracking code; a replayed submission says so."""
    body = created_body(ctx, stored.document["tracking_code"])
    headers = {} if stored.created else {"Idempotent-Replayed": "true"}
    return web.json_response(body.model_dump(mode="json"), status=201, headers=headers)


def created_body(ctx: IntakeContext, code: str) -> ReportCreated:
    """The answer to an accepted report."""
    base = ctx.settings.public_url.rstrip("/")
    return ReportCreated(
        tracking_code=code,
        status=RECEIVED,
        links=Links(status=f"{base}/api/v1/reports/{code}", status_page=f"{base}/status/{code}"),
    )


async def report_status(request: web.Request) -> web.Response:
    """GET /api/v1/reports/{tracking_code}: the reporter-visible status, or 404."""
    ctx = request.app[INTAKE]
    code = normalise_tracking_code(request.match_info["tracking_code"])
    document = await ctx.repository.by_tracking_code(code) if code else None
    if document is None:
        return json_error(404, "no report with this tracking code")
    language = negotiate(request.query.get(LANG_PARAM), None)
    holds_contact = await ctx.repository.holds_contact(document["_id"])
    view = status_view(document, language, now=ctx.clock(), holds_contact=holds_contact)
    return web.json_response(view.model_dump(mode="json"))


def status_view(
    document: Document,
    language: Language,
    *,
    now: datetime | None = None,
    holds_contact: bool = False,
) -> ReportStatus:
    """A report document as the reporter may see it, every code also in words in `language`;
    whether its decision may be appealed as of `now` (None: not said) and its contact erased
    (`holds_contact`: the report still holds one)."""
    case = document.get("case") or {}
    agency, outcome = case.get("agency"), case.get("outcome")
    erased_at = document.get(ERASED_AT)
    return ReportStatus(
        tracking_code=document["tracking_code"],
        status=document["status"],
        status_label=status_label(document["status"], language),
        category=document["report"]["category"],
        category_name=category_name(document["report"]["category"], language),
        agency=agency,
        agency_name=agency_label(agency, language),
        submitted_at=document["submitted_at"],
        updated_at=document["updated_at"],
        history=[
            StatusChange(**step, status_label=status_label(step["status"], language))
            for step in document["history"]
        ],
        outcome=outcome,
        outcome_label=outcome_label(outcome, language),
        language=language,
        decision=decision_view(document, language, now),
        appeal=appeal_view(document),
        contact_erased_at=erased_at,
        # Retention erased contacts before it recorded a reason.
        contact_erasure_reason=(document.get(ERASURE_REASON) or "retention") if erased_at else None,
        can_erase_contact=holds_contact and erased_at is None,
        anonymised_at=document.get("anonymised_at"),
    )


async def body_and_report(
    request: web.Request, model: type[BodyT], what: str
) -> tuple[BodyT, Document] | web.Response:
    """A reporter's request about their report: its JSON body as `model` and the report its
    tracking code names, or the answer refusing it (415 not JSON, 400 malformed, 422 naming
    each field of `what`, 404 for an unknown code)."""
    if request.content_type != "application/json":
        return json_error(415, "Content-Type must be application/json")
    try:
        body = model.model_validate(decode_json_body(await request.read()))
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            return json_error(422, f"{what} has invalid fields", field_errors(exc))
        return json_error(400, str(exc))
    code = normalise_tracking_code(request.match_info["tracking_code"])
    document = await request.app[INTAKE].repository.by_tracking_code(code) if code else None
    if document is None:
        return json_error(404, "no report with this tracking code")
    return body, document


async def appeal_report(request: web.Request) -> web.Response:
    """POST /api/v1/reports/{tracking_code}/appeal: 201 once the appeal is stored; 409 when
    the report cannot be appealed (no decision, appealed before), 410 past the window."""
    found = await body_and_report(request, AppealIn, "the appeal")
    if isinstance(found, web.Response):
        return found
    appeal, document = found
    outcome = await request.app[INTAKE].appeals.appeal(document, appeal.reason)
    if isinstance(outcome, AppealRefusal):
        message = outcome.message("en")
        refused = {"field": "tracking_code", "message": message, "type": outcome.value}
        return json_error(outcome.http_status, message, [refused])
    accepted = AppealAccepted(tracking_code=document["tracking_code"], appealed_at=outcome)
    return web.json_response(accepted.model_dump(mode="json"), status=201)


async def categories(_: web.Request) -> web.Response:
    """GET /api/v1/categories: every category with its labels in both languages."""
    listed = CategoryList(
        categories=[
            CategoryInfo(
                code=code,
                name_vi=labels["vi"][0],
                name_en=labels["en"][0],
                description_vi=labels["vi"][1],
                description_en=labels["en"][1],
            )
            for code, labels in CATEGORIES.items()
        ]
    )
    return web.json_response(listed.model_dump(mode="json"))


def add_api_routes(app: web.Application) -> None:
    """Register the JSON API."""
    app.router.add_post("/api/v1/reports", create_report)
    app.router.add_get("/api/v1/reports/{tracking_code}", report_status)
    app.router.add_post("/api/v1/reports/{tracking_code}/appeal", appeal_report)
    app.router.add_get("/api/v1/categories", categories)
