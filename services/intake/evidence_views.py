"""Evidence over HTTP: multipart submissions (API and form) and the signed download link.

A multipart body is read whole (bounded: the report part plus five files of 5 MB), then
everything is checked before anything is written: the report, then every file (cheap checks
on all, then decoding one file at a time in a worker thread). Files are stored first, as
pending, then the report that lists them (see services.intake.evidence_store for why no
half-stored submission is ever visible).
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDict, MultiDictProxy
from pydantic import ValidationError

from services.common import signedlinks
from services.common.http import decode_json_body, field_errors, json_error, read_form
from services.intake.context import EVIDENCE, INTAKE, IntakeContext
from services.intake.evidence import (
    FIELD,
    MAX_FILE_BYTES,
    MAX_FILES,
    CheckedFile,
    EvidenceRejected,
    Problem,
    Upload,
    check,
    clean_filename,
    download_name,
    first_problem,
)
from services.intake.models import ReportIn
from services.intake.repository import IdempotencyConflict, StoredReport, new_report_id
from services.intake.security import RateLimiter
from services.intake.submission import FLOODED, REPORTS_REJECTED, ContentFlooded

log = logging.getLogger(__name__)

REPORT_PART = "report"
MULTIPART_OVERHEAD = 64 * 1024  # part headers and boundaries
DECODING_AT_ONCE = 2  # files decoded at the same time per process (bounds memory)
NOT_VALID = "this evidence link is not valid or has expired; open the case again for a new link"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "sandbox",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
DECODING: web.AppKey[asyncio.Semaphore] = web.AppKey("evidence-decoding", asyncio.Semaphore)

Respond = Callable[[IntakeContext, StoredReport], web.Response]


def multipart_limit(max_body_bytes: int) -> int:
    """The largest multipart body taken: the report, five full files, and the part headers."""
    return max_body_bytes + MAX_FILES * MAX_FILE_BYTES + MULTIPART_OVERHEAD


def is_multipart(request: web.Request) -> bool:
    """Whether the body is multipart/form-data (the only kind that carries files)."""
    return request.content_type == "multipart/form-data"


async def read_report_form(request: web.Request) -> MultiDictProxy[Any]:
    """The form fields and files; a multipart body may be larger than the usual limit.

    Files are held in memory (the whole body is bounded) and aiohttp's temporary files closed
    at once, so no handler has to remember to close them."""
    if not is_multipart(request):
        return await read_form(request)
    max_body = request.app[INTAKE].settings.max_body_bytes
    form = await read_form(request.clone(client_max_size=multipart_limit(max_body)))
    return await asyncio.to_thread(_in_memory, form, max(max_body, MAX_FILE_BYTES) + 1)


def _in_memory(form: MultiDictProxy[Any], most: int) -> MultiDictProxy[Any]:
    """The form with each file's first `most` bytes in memory and its temporary file closed."""
    copied: MultiDict[Any] = MultiDict()
    for name, value in form.items():
        if isinstance(value, FileField):
            with value.file:
                data = io.BytesIO(value.file.read(most))
            value = FileField(name, value.filename, data, value.content_type, value.headers)
        copied.add(name, value)
    return MultiDictProxy(copied)


def _parts(form: MultiDictProxy[Any]) -> list[Any]:
    """The evidence parts that hold something (a browser sends an empty one for no file)."""
    return [
        p for p in form.getall(FIELD, []) if not (isinstance(p, str | bytes | bytearray) and not p)
    ]


def _read(part: Any, index: int) -> Upload:
    """One part's name and bytes (at most one byte past the limit; in memory, see
    read_report_form), from the start however often it is read."""
    if isinstance(part, FileField):
        part.file.seek(0)
        data = part.file.read(MAX_FILE_BYTES + 1)
        return Upload(index, clean_filename(part.filename, index), data)
    data = part.encode() if isinstance(part, str) else bytes(part)
    return Upload(index, clean_filename(None, index), data)


async def evidence_from_form(request: web.Request, form: MultiDictProxy[Any]) -> list[CheckedFile]:
    """The form's files, checked and cleaned; raises EvidenceRejected naming every bad file."""
    parts = _parts(form)
    if len(parts) > MAX_FILES:
        raise EvidenceRejected([Problem("evidence_count", None, "")])
    uploads = [_read(part, i) for i, part in enumerate(parts)]
    if problems := [p for u in uploads if (p := first_problem(u)) is not None]:
        raise EvidenceRejected(problems)
    checked, problems = [], []
    for upload in uploads:
        try:
            async with request.app[DECODING]:
                checked.append(await asyncio.to_thread(check, upload))
        except EvidenceRejected as refused:
            problems.extend(refused.problems)
    if problems:
        raise EvidenceRejected(problems)
    return checked


async def submit_with_evidence(
    request: web.Request,
    report: ReportIn,
    files: list[CheckedFile],
    *,
    channel: str,
    idempotency_key: str | None = None,
) -> StoredReport:
    """Store the files (pending), then the report listing them; a replay keeps the first."""
    ctx, store = request.app[INTAKE], request.app[EVIDENCE]
    client = ctx.client(request)
    if not files:
        return await ctx.submission.submit(
            report, channel=channel, idempotency_key=idempotency_key, client=client
        )
    ctx.submission.admit(report, channel=channel)  # before any file is stored
    report_id = new_report_id()
    stored_files = await store.store_pending(files, report_id)
    file_ids = [f.file_id for f in stored_files]
    try:
        stored = await ctx.submission.submit(
            report,
            channel=channel,
            idempotency_key=idempotency_key,
            report_id=report_id,
            evidence=stored_files,
            client=client,
            admitted=True,
        )
    except BaseException:
        await store.discard(file_ids)
        raise
    if stored.created:
        await store.attach(file_ids, report_id)
    else:  # an idempotent replay: the first report keeps its own files
        await store.discard(file_ids)
    return stored


class PartError(Exception):
    """A multipart part that cannot be used; answered with `status`, naming the part."""

    def __init__(self, status: int, message: str, field: str, kind: str) -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.kind = status, message, field, kind

    def response(self) -> web.Response:
        """The JSON error naming the part."""
        REPORTS_REJECTED.labels(channel="api", reason=self.kind).inc()
        detail = {"field": self.field, "message": self.message, "type": self.kind}
        return json_error(self.status, self.message, [detail])


async def report_part(form: MultiDictProxy[Any], max_bytes: int) -> Any:
    """The `report` part as parsed JSON; raises PartError (400/413/422) naming it."""
    if unknown := sorted(set(form.keys()) - {REPORT_PART, FIELD}):
        raise PartError(422, f"unknown part {unknown[0]!r}", unknown[0], "extra_forbidden")
    reports = form.getall(REPORT_PART, [])
    if len(reports) != 1:
        problem = "is required" if not reports else "must be sent once"
        raise PartError(422, f"the part 'report' {problem}", REPORT_PART, "report_part")
    part = reports[0]
    if isinstance(part, FileField):
        raw = part.file.read(max_bytes + 1)  # in memory (read_report_form)
    else:
        raw = part.encode() if isinstance(part, str) else bytes(part)
    if len(raw) > max_bytes:
        message = f"the part 'report' is larger than {max_bytes} bytes"
        raise PartError(413, message, REPORT_PART, "too_large")
    try:
        return decode_json_body(raw)
    except ValueError as exc:
        raise PartError(400, f"the part 'report': {exc}", REPORT_PART, "malformed") from None


async def create_report_with_evidence(
    request: web.Request, idempotency_key: str | None, respond: Respond
) -> web.Response:
    """POST /api/v1/reports as multipart/form-data: a `report` part and `evidence` parts."""
    ctx = request.app[INTAKE]
    try:
        form = await read_report_form(request)
        data = await report_part(form, ctx.settings.max_body_bytes)
        report = ctx.submission.validate(data, channel="api")
        files = await evidence_from_form(request, form)
        stored = await submit_with_evidence(
            request, report, files, channel="api", idempotency_key=idempotency_key
        )
    except PartError as exc:
        return exc.response()
    except ValidationError as exc:
        errors = [{**e, "field": f"{REPORT_PART}.{e['field']}"} for e in field_errors(exc)]
        return json_error(422, "the report has invalid fields", errors)
    except EvidenceRejected as exc:
        REPORTS_REJECTED.labels(channel="api", reason="evidence").inc()
        return json_error(exc.status, "evidence files refused; nothing was stored", exc.details())
    except IdempotencyConflict:
        REPORTS_REJECTED.labels(channel="api", reason="idempotency_conflict").inc()
        return json_error(409, "this Idempotency-Key was used with a different report")
    except ContentFlooded as exc:
        return flooded_response(exc)
    return respond(ctx, stored)


def flooded_response(exc: ContentFlooded) -> web.Response:
    """429 naming `content_urls`, with Retry-After: this content is reported too often now."""
    message = FLOODED["en"]
    detail = {"field": "content_urls", "message": message, "type": "content_flood"}
    retry = {"Retry-After": RateLimiter.retry_after_header(exc.wait)}
    return json_error(429, message, [detail], headers=retry)


def _link(request: web.Request) -> signedlinks.EvidenceLink | None:
    """The verified link the request carries, or None (no secret, bad, or expired)."""
    secret = request.app[INTAKE].settings.evidence_link_secret
    if secret is None:
        return None
    query = request.query
    return signedlinks.verify(
        secret.get_secret_value().encode(),
        case_id=query.get("case", ""),
        file_id=request.match_info["file_id"],
        agency=query.get("agency", ""),
        expires=query.get("expires", ""),
        signature=query.get("sig", ""),
        now=request.app[INTAKE].submission.clock(),
    )


async def serve_evidence(request: web.Request) -> web.Response:
    """GET /evidence/{file_id}: the file, for a valid link of the agency holding its case."""
    link = _link(request)
    if link is None:
        return json_error(403, NOT_VALID, headers=SECURITY_HEADERS)
    served = await request.app[EVIDENCE].for_case(
        link.file_id, case_id=link.case_id, agency=link.agency
    )
    if served is None:  # the same answer: it never says which check failed
        return json_error(403, NOT_VALID, headers=SECURITY_HEADERS)
    log.info(
        "evidence served",
        extra={"file_id": served.file_id, "case_id": link.case_id, "agency": link.agency},
    )
    name = download_name(served.filename, served.content_type)
    disposition = "attachment" if served.content_type == "application/pdf" else "inline"
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'{disposition}; filename="{_ascii(name)}"; '
        f"filename*=UTF-8''{quote(name, safe='')}",
    }
    return web.Response(body=served.data, content_type=served.content_type, headers=headers)


def _ascii(name: str) -> str:
    """A plain-ASCII stand-in for the filename (for clients without RFC 6266 support)."""
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)


def add_evidence_routes(app: web.Application) -> None:
    """Register the evidence download and the decoding bound."""
    app[DECODING] = asyncio.Semaphore(DECODING_AT_ONCE)
    app.router.add_get("/evidence/{file_id}", serve_evidence)
