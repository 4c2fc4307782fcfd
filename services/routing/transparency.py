"""The transparency report: what happened to reports and cases in a period, by agency, province
and category. Pure: figures from the few stored fields each case needs
(`transparency_facts.PROJECTION`).

Every figure counts what happened in the period `[start, end)` (whole days in
Asia/Ho_Chi_Minh), whenever the case was opened: a report received, a case opened, a case
acknowledged, a decision taken, an appeal lodged or reviewed, a takedown request sent. Each
case is counted under its agency, the province of its first report and its category.

Timeliness, on each clock, compares a decision with the deadline in force when it was taken
(`Decision.internal_due_at` / `legal_due_at`, snapshotted by the lifecycle): *early* (sớm hạn)
when taken on an earlier local day than the deadline's, *on time* (đúng hạn) on the
deadline's day and not after it, *late* (trễ hạn) after it, *no deadline* when none was in
force. Shares are of the decisions that had a deadline on that clock.

Takedown requests are counted by when they were sent. A request is *due* once the platform
answered or its legal deadline passed; it *complied* when the platform answered (done,
partial or refused, with its reason) by the legal deadline. Time to take down runs from
sending to a `done` answer.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.common.contracts import DecisionOutcome
from services.routing.transparency_facts import (
    ALL,
    DIMENSIONS,
    AppealFacts,
    CaseFacts,
    DecisionFacts,
    TakedownFacts,
)
from services.routing.visibility import is_sensitive

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
LONGEST_PERIOD = timedelta(days=366)
ANSWERED = ("done", "partial", "refused")  # the platform acted or said why not
# A sent request's status, as its count is named (`sent`: no answer recorded yet).
STATUS_NAMES = {"sent": "awaiting"}
TAKEDOWN_COUNTS = ("awaiting", "done", "partial", "refused", "no_answer")
# The breakdowns of the report: every combination present, each dimension alone, everything.
GROUPINGS: tuple[tuple[str, ...], ...] = (
    (),
    ("agency",),
    ("province_code",),
    ("category",),
    DIMENSIONS,
)
# Where a sensitive case counts for those who may not see it below the category level.
CATEGORY_LEVEL: tuple[tuple[str, ...], ...] = ((), ("category",))


@dataclass(frozen=True)
class Period:
    """Whole local days `[first, end)`: the report covers `first` up to the day before `end`."""

    first: date
    end: date

    @property
    def start_at(self) -> datetime:
        """The first instant of the period."""
        return datetime.combine(self.first, time(), LOCAL)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.end, time(), LOCAL)

    def holds(self, moment: datetime | None) -> bool:
        """Whether `moment` falls in the period."""
        return moment is not None and self.start_at <= moment < self.end_at


class Timeliness(StrEnum):
    """How a decision met a deadline (Vietnamese usage: sớm hạn, đúng hạn, trễ hạn)."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"
    NO_DEADLINE = "no_deadline"


def timeliness(decided_at: datetime, due_at: datetime | None) -> Timeliness:
    """Early on an earlier local day than the deadline's, on time on its day up to it, else
    late."""
    if due_at is None:
        return Timeliness.NO_DEADLINE
    if decided_at > due_at:
        return Timeliness.LATE
    if decided_at.astimezone(LOCAL).date() < due_at.astimezone(LOCAL).date():
        return Timeliness.EARLY
    return Timeliness.ON_TIME


@dataclass
class Tally:
    """What happened in the period to the cases of one row, before it becomes figures."""

    counts: Counter[str] = field(default_factory=Counter)
    reporters: set[str] = field(default_factory=set)
    seconds: dict[str, list[float]] = field(default_factory=dict)

    def add_time(self, name: str, start: datetime, end: datetime) -> None:
        """One duration towards the median `name`."""
        self.seconds.setdefault(name, []).append((end - start).total_seconds())

    def add_case(self, case: CaseFacts, period: Period, now: datetime) -> None:
        """Everything `case` did in the period."""
        received = [r for r in case.reports if period.holds(r.reported_at or case.created_at)]
        self.counts["reports_received"] += len(received)
        self.reporters.update(r.reporter_key for r in received)
        self.counts["cases"] += period.holds(case.created_at)
        if case.acknowledged_at is not None and period.holds(case.acknowledged_at):
            self.counts["acknowledged"] += 1
            self.add_time("median_acknowledge_s", case.created_at, case.acknowledged_at)
        for number, decision in enumerate(case.decisions):
            if period.holds(decision.decided_at):
                self._add_decision(case, decision, first=number == 0)
        for appeal in case.appeals:
            self._add_appeal(appeal, period)
        for request in case.takedowns:
            if request.sent_at is not None and period.holds(request.sent_at):
                self._add_takedown(request, now)

    def _add_decision(self, case: CaseFacts, decision: DecisionFacts, *, first: bool) -> None:
        self.counts["decisions"] += 1
        self.counts[f"decisions.{decision.outcome.value}"] += 1
        if first:
            self.counts["first_decisions"] += 1
            self.add_time("median_decide_s", case.created_at, decision.decided_at)
        legal_due = decision.legal_due_at or (case.legal_due_at if first else None)
        for clock, due_at in (("internal", decision.internal_due_at), ("legal", legal_due)):
            self.counts[f"{clock}.{timeliness(decision.decided_at, due_at).value}"] += 1

    def _add_appeal(self, appeal: AppealFacts, period: Period) -> None:
        self.counts["appeals"] += period.holds(appeal.appealed_at)
        if appeal.result is not None and period.holds(appeal.reviewed_at):
            self.counts["appeals_reviewed"] += 1
            self.counts[f"appeals_{appeal.result.value}"] += 1

    def _add_takedown(self, request: TakedownFacts, now: datetime) -> None:
        sent_at, legal_due_at = request.sent_at or now, request.legal_due_at
        answered_at = request.answered_at if request.status in ANSWERED else None
        due = answered_at is not None or (legal_due_at is not None and legal_due_at <= now)
        complied = answered_at is not None and (legal_due_at is None or answered_at <= legal_due_at)
        for scope in ("takedowns.", f"platform.{request.platform}."):
            self.counts[f"{scope}requests"] += 1
            self.counts[f"{scope}due"] += due
            self.counts[f"{scope}complied"] += complied
            if answered_at is not None:
                self.add_time(f"{scope}median_answer_s", sent_at, answered_at)
        self.counts[f"takedowns.{STATUS_NAMES.get(request.status, request.status)}"] += 1
        if request.status == "done" and answered_at is not None:
            self.add_time("takedowns.median_takedown_s", sent_at, answered_at)

    def figures(self) -> dict[str, float | int | None]:
        """The row's figures: counts, shares (0 to 1) and median seconds, by metric name."""
        values: dict[str, float | int | None] = {
            name: self.counts[name] for name in COUNTED if name != "reporters"
        }
        values["reporters"] = len(self.reporters)
        for clock in ("internal", "legal"):
            values.update(_shares(self.counts, clock))
        for name in MEDIANS:
            values[name] = _median(self.seconds.get(name, []))
        for platform in sorted(self._platforms()):
            prefix = f"platform.{platform}."
            values.update({f"{prefix}{n}": self.counts[f"{prefix}{n}"] for n in PLATFORM_COUNTS})
            values[f"{prefix}compliance_share"] = _share(
                self.counts[f"{prefix}complied"], self.counts[f"{prefix}due"]
            )
            values[f"{prefix}median_answer_s"] = _median(
                self.seconds.get(f"{prefix}median_answer_s", [])
            )
        values["takedowns.compliance_share"] = _share(
            self.counts["takedowns.complied"], self.counts["takedowns.due"]
        )
        return values

    def _platforms(self) -> set[str]:
        names = (n.removeprefix("platform.") for n in self.counts if n.startswith("platform."))
        return {name.rsplit(".", 1)[0] for name in names}


TIMELINESS_NAMES = [f"{c}.{t.value}" for c in ("internal", "legal") for t in Timeliness]
# Every count each row carries (zero included), in the order of the CSV.
COUNTED: tuple[str, ...] = (
    "reports_received",
    "reporters",
    "cases",
    "acknowledged",
    "decisions",
    *(f"decisions.{o.value}" for o in DecisionOutcome),
    "first_decisions",
    *TIMELINESS_NAMES,
    "appeals",
    "appeals_reviewed",
    "appeals_upheld",
    "appeals_reversed",
    "takedowns.requests",
    *(f"takedowns.{name}" for name in TAKEDOWN_COUNTS),
    "takedowns.due",
    "takedowns.complied",
)
MEDIANS = (
    "median_acknowledge_s",
    "median_decide_s",
    "takedowns.median_answer_s",
    "takedowns.median_takedown_s",
)
PLATFORM_COUNTS = ("requests", "due", "complied")


def _shares(counts: Counter[str], clock: str) -> dict[str, float | None]:
    """Early / on time / late as shares of the decisions that had a deadline on `clock`."""
    kinds = (Timeliness.EARLY, Timeliness.ON_TIME, Timeliness.LATE)
    with_deadline = sum(counts[f"{clock}.{k.value}"] for k in kinds)
    return {
        f"{clock}.{k.value}_share": _share(counts[f"{clock}.{k.value}"], with_deadline)
        for k in kinds
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _median(seconds: list[float]) -> float | None:
    return round(statistics.median(seconds), 1) if seconds else None


Row = tuple[str, str, str]


@dataclass(frozen=True)
class TransparencyReport:
    """The figures of a period: one row per (agency, province, category) breakdown."""

    period: Period
    generated_at: datetime
    rows: dict[Row, dict[str, float | int | None]]

    @property
    def totals(self) -> dict[str, float | int | None]:
        """The figures over every case."""
        return self.rows[(ALL, ALL, ALL)]

    def breakdown(self, dimension: str) -> Iterator[tuple[str, dict[str, float | int | None]]]:
        """The rows broken down by `dimension` alone, as (value, figures), in value order."""
        index = DIMENSIONS.index(dimension)
        for row, values in sorted(self.rows.items()):
            others = [v for i, v in enumerate(row) if i != index]
            if row[index] != ALL and others == [ALL, ALL]:
                yield row[index], values


class ReportBuilder:
    """Adds cases one at a time (as they are read) and makes the report of `period`: memory
    grows with the number of rows, not of cases.

    Without `sensitive_detail` (anyone but the party committee and supervisors, and the
    public), a sensitive case counts in the totals and its category's row only: in no row by
    agency or province (`visibility`)."""

    def __init__(self, period: Period, now: datetime, *, sensitive_detail: bool = False) -> None:
        self.period, self.now = period, now
        self.sensitive_detail = sensitive_detail
        self.tallies: dict[Row, Tally] = {(ALL, ALL, ALL): Tally()}

    def add(self, case: CaseFacts) -> None:
        """Count what `case` did in the period, in every breakdown it may be shown in."""
        for grouping in self.groupings(case):
            row = case.key(grouping)
            self.tallies.setdefault(row, Tally()).add_case(case, self.period, self.now)

    def groupings(self, case: CaseFacts) -> tuple[tuple[str, ...], ...]:
        """The breakdowns `case` counts in: all of them, or for a sensitive case shown without
        its detail, the totals and its category's row."""
        if self.sensitive_detail or not is_sensitive(case.category):
            return GROUPINGS
        return CATEGORY_LEVEL

    def report(self) -> TransparencyReport:
        """The report: the totals, and every row something happened in."""
        rows = {
            row: tally.figures()
            for row, tally in self.tallies.items()
            if row == (ALL, ALL, ALL) or any(tally.counts.values())
        }
        return TransparencyReport(self.period, self.now, rows)


def build_report(
    cases: Iterable[CaseFacts], period: Period, now: datetime, *, sensitive_detail: bool = True
) -> TransparencyReport:
    """The report of `period` over `cases` (any superset of the cases active in it), with every
    breakdown of sensitive cases unless `sensitive_detail` is False (see ReportBuilder)."""
    builder = ReportBuilder(period, now, sensitive_detail=sensitive_detail)
    for case in cases:
        builder.add(case)
    return builder.report()
