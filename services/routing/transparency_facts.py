"""What the transparency report reads of a case: the few stored fields it needs (`PROJECTION`),
as typed models, and the breakdown row a case counts in."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.common.contracts import AppealResult, Category, DecisionOutcome

ALL = "*"  # the value of a dimension a row is not broken down by
DIMENSIONS = ("agency", "province_code", "category")
# The stored fields the report reads, and nothing else (no text, contact or history).
PROJECTION = {
    "_id": 0,
    "agency": 1,
    "category": 1,
    "report.province_code": 1,
    "reports.report_id": 1,
    "reports.reporter_id": 1,
    "reports.reported_at": 1,
    "created_at": 1,
    "acknowledged_at": 1,
    "legal_due_at": 1,
    "decisions.outcome": 1,
    "decisions.decided_at": 1,
    "decisions.review": 1,
    "decisions.internal_due_at": 1,
    "decisions.legal_due_at": 1,
    "appeals.appealed_at": 1,
    "appeals.result": 1,
    "appeals.reviewed_at": 1,
    "takedowns.platform": 1,
    "takedowns.status": 1,
    "takedowns.sent_at": 1,
    "takedowns.legal_due_at": 1,
    "takedowns.answered_at": 1,
}


class _Facts(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ReportFacts(_Facts):
    """One report of a case: who made it, when."""

    report_id: str
    reporter_id: str | None = None
    reported_at: datetime | None = None

    @property
    def reporter_key(self) -> str:
        """Who counts as its reporter (as `CaseReportEntry.reporter_key`)."""
        return self.reporter_id or f"report:{self.report_id}"


class DecisionFacts(_Facts):
    """A decision: its outcome, when, and the deadlines in force then."""

    outcome: DecisionOutcome
    decided_at: datetime
    review: AppealResult | None = None
    internal_due_at: datetime | None = None
    legal_due_at: datetime | None = None


class AppealFacts(_Facts):
    """An appeal and its review."""

    appealed_at: datetime
    result: AppealResult | None = None
    reviewed_at: datetime | None = None


class TakedownFacts(_Facts):
    """A takedown request's clock and answer."""

    platform: str
    status: str
    sent_at: datetime | None = None
    legal_due_at: datetime | None = None
    answered_at: datetime | None = None


class FirstReport(_Facts):
    """Where the case's first report placed it."""

    province_code: str | None = None


class CaseFacts(_Facts):
    """What the transparency report needs of a case (a `PROJECTION` of its document)."""

    agency: str
    category: Category
    report: FirstReport = Field(default_factory=FirstReport)
    reports: list[ReportFacts] = Field(default_factory=list)
    created_at: datetime
    acknowledged_at: datetime | None = None
    legal_due_at: datetime | None = None
    decisions: list[DecisionFacts] = Field(default_factory=list)
    appeals: list[AppealFacts] = Field(default_factory=list)
    takedowns: list[TakedownFacts] = Field(default_factory=list)

    def key(self, grouping: tuple[str, ...]) -> tuple[str, str, str]:
        """The (agency, province_code, category) row this case counts in under `grouping`."""
        own = {
            "agency": self.agency,
            "province_code": self.report.province_code or "",
            "category": self.category.value,
        }
        agency, province, category = (own[d] if d in grouping else ALL for d in DIMENSIONS)
        return agency, province, category
