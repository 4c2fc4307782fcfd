"""Accepting a report: validate, store it with its event in one write, wake the relay."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter
from pydantic import ValidationError

from services.common.clock import Clock
from services.common.content import ContentUrlError, content_key
from services.common.contracts import EvidenceFile
from services.common.i18n import localised
from services.common.sealing import KeyRing, development_ring
from services.intake.models import ReportIn
from services.intake.reporters import ReporterIds
from services.intake.repository import (
    ReportRepository,
    StoredReport,
    new_report_id,
    new_tracking_code,
    request_fingerprint,
)

log = logging.getLogger(__name__)

REPORTS_ACCEPTED = Counter("intake_reports_accepted_total", "Reports stored", ["channel"])
REPORTS_REJECTED = Counter(
    "intake_reports_rejected_total", "Submissions refused", ["channel", "reason"]
)


class ContentFlooded(Exception):
    """Too many reports of this content came in the last minute: it is already being handled,
    try again after `wait` seconds."""

    def __init__(self, key: str, wait: float) -> None:
        super().__init__(f"too many reports of {key} in the last minute")
        self.key, self.wait = key, wait


FLOODED = localised(
    "This content has already been reported many times in the last minute; it is being "
    "handled. If you have something to add, try again in a minute."
)


def _unlimited(_: str) -> float:
    return 0.0


def report_content_key(report: ReportIn) -> str | None:
    """The content key of the report's first link (as routing groups reports), or None when
    the link cannot be keyed (such a report opens a case of its own)."""
    try:
        return str(content_key(str(report.content_urls[0])))
    except ContentUrlError:
        return None


@dataclass
class Submission:
    """The one path by which a report enters the system (API and form alike)."""

    repository: ReportRepository
    clock: Clock
    stored_hook: Callable[[], None]
    reporter_ids: ReporterIds = field(default_factory=lambda: ReporterIds(secrets.token_bytes(32)))
    # Takes one report of a content key: 0 when allowed, else the seconds to wait.
    content_limit: Callable[[str], float] = _unlimited
    # Seals the reporter's contact in the stored report and its event.
    contact_keys: KeyRing = field(default_factory=development_ring)

    def validate(self, data: Any, *, channel: str) -> ReportIn:
        """Validate a submission; raises pydantic.ValidationError (counted as rejected)."""
        try:
            return ReportIn.model_validate(data, context={"now": self.clock()})
        except ValidationError:
            REPORTS_REJECTED.labels(channel=channel, reason="validation").inc()
            raise

    async def submit(
        self,
        report: ReportIn,
        *,
        channel: str,
        idempotency_key: str | None = None,
        report_id: str | None = None,
        evidence: Sequence[EvidenceFile] = (),
        client: str | None = None,
        admitted: bool = False,
    ) -> StoredReport:
        """Store the report and its `report.submitted` event; return the stored document.

        `report_id` and `evidence` come from an upload that stored its files first
        (services.intake.evidence_views); a retry must send the same files to be a replay.
        `client` is the client's address, which identifies a reporter who left no contact.
        ContentFlooded when its content was reported too often in the last minute (unless
        `admitted` already counted it)."""
        if not admitted:
            self.admit(report, channel=channel)
        now = self.clock()
        event = report.to_event(
            report_id=report_id or new_report_id(),
            tracking_code=new_tracking_code(),
            now=now,
            keys=self.contact_keys,
        )
        event = event.model_copy(update={"reporter_id": self.reporter_id(report, client)})
        body = report.model_dump(mode="json")
        if evidence:
            event = event.model_copy(update={"evidence": list(evidence)})
            body["evidence"] = [f.sha256_received for f in evidence]
        stored = await self.repository.save(
            event,
            now=now,
            idempotency_key=idempotency_key,
            fingerprint=request_fingerprint(body, self.reporter_ids.key),
        )
        if stored.created:
            REPORTS_ACCEPTED.labels(channel=channel).inc()
            self.stored_hook()
        return stored

    def admit(self, report: ReportIn, *, channel: str) -> None:
        """Count the report against its content's budget; ContentFlooded past it."""
        key = report_content_key(report)
        if key is not None and (wait := self.content_limit(key)) > 0:
            REPORTS_REJECTED.labels(channel=channel, reason="content_flood").inc()
            log.warning("content flooded; report shed", extra={"content_key": key})
            raise ContentFlooded(key, wait)

    def reporter_id(self, report: ReportIn, client: str | None) -> str | None:
        """The pseudonymous id of the reporter: by contact when given, else by client address."""
        contact = None if report.anonymous else report.contact
        return self.reporter_ids.reporter_id(
            phone=contact.phone if contact else None,
            email=str(contact.email) if contact and contact.email else None,
            client=client,
        )
