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
from services.common.contracts import EvidenceFile
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


@dataclass
class Submission:
    """The one path by which a report enters the system (API and form alike)."""

    repository: ReportRepository
    clock: Clock
    stored_hook: Callable[[], None]
    reporter_ids: ReporterIds = field(default_factory=lambda: ReporterIds(secrets.token_bytes(32)))

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
    ) -> StoredReport:
        """Store the report and its `report.submitted` event; return the stored document.

        `report_id` and `evidence` come from an upload that stored its files first
        (services.intake.evidence_views); a retry must send the same files to be a replay.
        `client` is the client's address, which identifies a reporter who left no contact."""
        now = self.clock()
        event = report.to_event(
            report_id=report_id or new_report_id(), tracking_code=new_tracking_code(), now=now
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
            fingerprint=request_fingerprint(body),
        )
        if stored.created:
            REPORTS_ACCEPTED.labels(channel=channel).inc()
            self.stored_hook()
        return stored

    def reporter_id(self, report: ReportIn, client: str | None) -> str | None:
        """The pseudonymous id of the reporter: by contact when given, else by client address."""
        contact = None if report.anonymous else report.contact
        return self.reporter_ids.reporter_id(
            phone=contact.phone if contact else None,
            email=str(contact.email) if contact and contact.email else None,
            client=client,
        )
