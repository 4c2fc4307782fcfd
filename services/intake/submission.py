"""Accepting a report: validate, store it with its event in one write, wake the relay."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from pydantic import ValidationError

from services.common.clock import Clock
from services.intake.models import ReportIn
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

    def validate(self, data: Any, *, channel: str) -> ReportIn:
        """Validate a submission; raises pydantic.ValidationError (counted as rejected)."""
        try:
            return ReportIn.model_validate(data, context={"now": self.clock()})
        except ValidationError:
            REPORTS_REJECTED.labels(channel=channel, reason="validation").inc()
            raise

    async def submit(
        self, report: ReportIn, *, channel: str, idempotency_key: str | None = None
    ) -> StoredReport:
        """Store the report and its `report.submitted` event; return the stored document."""
        now = self.clock()
        event = report.to_event(
            report_id=new_report_id(), tracking_code=new_tracking_code(), now=now
        )
        stored = await self.repository.save(
            event,
            now=now,
            idempotency_key=idempotency_key,
            fingerprint=request_fingerprint(report.model_dump(mode="json")),
        )
        if stored.created:
            REPORTS_ACCEPTED.labels(channel=channel).inc()
            self.stored_hook()
        return stored
