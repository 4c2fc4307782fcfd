"""Consumer handlers: every report becomes exactly one case; escalations land in the audit log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter, Histogram

from services.common.clock import Clock
from services.common.contracts import CaseEscalated, ReportSubmitted
from services.routing.cases import CaseRepository
from services.routing.planning import plan_new_case
from services.routing.policy import Policy

log = logging.getLogger(__name__)

CASES_CREATED = Counter("routing_cases_created_total", "Cases created", ["agency", "category"])
DUPLICATE_REPORTS = Counter("routing_duplicate_reports_total", "Reports that already had a case")
ROUTING_LATENCY = Histogram(
    "routing_latency_seconds",
    "From the report's acceptance to its case being stored",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


@dataclass
class Router:
    """Routes reports by the policy into the case store."""

    repository: CaseRepository
    policy: Policy
    clock: Clock
    stored_hook: Callable[[], None]

    async def on_report(self, event: ReportSubmitted) -> None:
        """Create the report's case (once: a repeated report changes nothing)."""
        now = self.clock()
        case, events = plan_new_case(event, self.policy, now)
        if not await self.repository.create(case, events, now):
            DUPLICATE_REPORTS.inc()
            log.info(
                "report already has a case; nothing to do", extra={"report_id": event.report_id}
            )
            return
        self.stored_hook()
        CASES_CREATED.labels(agency=case.agency, category=event.category.value).inc()
        ROUTING_LATENCY.observe(max((now - event.occurred_at).total_seconds(), 0.0))
        log.info(
            "case created",
            extra={
                "report_id": event.report_id,
                "case_id": case.case_id,
                "agency": case.agency,
                "rule_id": case.rule_id,
            },
        )

    async def on_escalation(self, event: CaseEscalated) -> None:
        """Record the escalation in the case's audit log (once per event)."""
        if await self.repository.record_escalation(event):
            log.info(
                "escalation recorded",
                extra={"case_id": event.case_id, "escalation_level": event.level},
            )
