"""Consumer handlers: reports open or join the case of their content; appeals reopen a decided
case for review; escalations are audited.

Reports come in batches. Each round reads the open cases of the batch's content keys and which
of its reports a case holds already (two reads), then writes the new cases in one insert and
the joins in one bulk write, each join conditional on the version it was planned from. A
report that lost a race (another replica opened the content's case, or joined the same case
first) is planned again in the next round, so replicas need no transactions.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import Counter, Histogram
from pymongo.errors import DuplicateKeyError

from services.common.clock import Clock
from services.common.contracts import AnyEvent, CaseEscalated, ReportAppealed, ReportSubmitted
from services.common.sealing import KeyRing, development_ring, sealed_report
from services.routing.appeals import AppealRefused, already_handled, plan_appeal, refusal_record
from services.routing.case import Case, CaseReportEntry
from services.routing.cases import CaseRepository
from services.routing.grouping import (
    REPORTS_BUDGET,
    JoinPlan,
    plan_join,
    stored_size,
    successor_id,
)
from services.routing.planning import plan_case_of, report_content_key, report_entry
from services.routing.policy import Policy
from services.routing.visibility import grouping_key

log = logging.getLogger(__name__)

CASES_CREATED = Counter("routing_cases_created_total", "Cases created", ["agency", "category"])
REPORTS_JOINED = Counter("routing_reports_joined_total", "Reports that joined an open case")
APPEALS = Counter("routing_appeals_total", "Appeals taken or refused", ["result"])
DUPLICATE_REPORTS = Counter("routing_duplicate_reports_total", "Reports that already had a case")
FULL_CASES = Counter(
    "routing_cases_closed_to_reports_total",
    "Cases that took no more reports: their document could not hold another (16 MB)",
)
ROUTING_LATENCY = Histogram(
    "routing_latency_seconds",
    "From the report's acceptance to its case being stored",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


@dataclass(frozen=True)
class Arrival:
    """A report on its way into a case, with its content key."""

    event: ReportSubmitted
    entry: CaseReportEntry
    key: str

    @property
    def group_key(self) -> str:
        """The open case it joins is the one of this key: its content, and whether it is
        sensitive (a misconduct report never joins another kind of case, nor the reverse)."""
        return grouping_key(self.key, self.entry.category)


@dataclass
class RoutingRound:
    """What one round decides: new cases to insert, joins to write, reports already held."""

    new_cases: list[tuple[Case, list[AnyEvent], list[Arrival]]] = field(default_factory=list)
    joins: list[tuple[JoinPlan, list[Arrival]]] = field(default_factory=list)
    held: list[Arrival] = field(default_factory=list)
    # Open cases past their budget for reports: closed to them before the new cases open.
    full: list[tuple[Case, list[Arrival]]] = field(default_factory=list)
    # (a full case, the open case of its content another router opened first, under an id of
    # its own, in place of the successor the full case names): the two are to name each other.
    continued_elsewhere: list[tuple[str, str]] = field(default_factory=list)


def plan_round(
    arrivals: list[Arrival],
    open_cases: dict[str, Case],
    held: set[str],
    policy: Policy,
    now: datetime,
    new_id: Callable[[], str],
    budget: int = REPORTS_BUDGET,
    closed: Mapping[str, str] | None = None,
) -> RoutingRound:
    """Pure: per content key (and sensitivity: `Arrival.group_key`, the key `open_cases` is
    by), the reports join its open case, or the first opens one and the others of the batch
    join it at once; reports a case holds already change nothing. An open case whose reports
    would pass `budget` bytes takes none: it is closed to reports, and they open its successor
    (`successor_id`), which names it (`continues`), as it names the case `closed` by key in an
    earlier round; if another router opened the content's case first, under another id, the
    reports join that one, and it and the closed case are to name each other."""
    plan = RoutingRound()
    by_key: dict[str, list[Arrival]] = {}
    for arrival in arrivals:
        if arrival.event.report_id in held:
            plan.held.append(arrival)
        else:
            by_key.setdefault(arrival.group_key, []).append(arrival)
    for key, group in by_key.items():
        entries = [a.entry for a in group]
        continued = (closed or {}).get(key)
        if (case := open_cases.get(key)) is not None:
            if continued and case.continues is None:
                plan.continued_elsewhere.append((continued, case.case_id))
            join = plan_join(case, entries, policy, now)
            if join is None:
                continue
            if join.case.reports_bytes <= budget:
                plan.joins.append((join, group))
                continue
            plan.full.append((case, group))
            continued = case.case_id
        case_id = successor_id(continued) if continued else new_id()
        opened, events = plan_case_of(entries[0], group[0].key, policy, now, case_id=case_id)
        size = stored_size(opened.reports[0])
        opened = opened.model_copy(update={"reports_bytes": size, "continues": continued})
        join = plan_join(opened, entries[1:], policy, now)
        if join is not None:
            opened = join.case.model_copy(update={"audit": [*opened.audit, *join.audit]})
            events = [*events, *join.events]
        plan.new_cases.append((opened, events, group))
    return plan


@dataclass
class Router:
    """Routes reports by the policy into the case store, one case per open content."""

    repository: CaseRepository
    policy: Policy
    clock: Clock
    stored_hook: Callable[[], None]
    max_rounds: int = 20
    contact_keys: KeyRing = field(default_factory=development_ring)
    reports_budget: int = REPORTS_BUDGET  # bytes of reports a case takes (grouping.py)

    async def on_reports(self, events: Sequence[ReportSubmitted]) -> list[BaseException | None]:
        """Open or join the case of each report (once: a repeated report changes nothing)."""
        # A report sent before contacts were sealed has its contact sealed here, on receipt.
        sealed = [sealed_report(e, self.contact_keys) for e in events]
        pending = [Arrival(e, report_entry(e), report_content_key(e)) for e in sealed]
        closed: dict[str, str] = {}  # the case each key's reports could not join, by key
        for _ in range(self.max_rounds):
            if not pending:
                return [None] * len(events)
            pending = await self._round(pending, closed)
        left = {a.event.report_id for a in pending}
        return [
            RuntimeError(f"report {e.report_id} kept losing races for its case")
            if e.report_id in left
            else None
            for e in events
        ]

    async def on_report(self, event: ReportSubmitted) -> None:
        """One report (the batch of one)."""
        (outcome,) = await self.on_reports([event])
        if outcome is not None:
            raise outcome

    async def _round(self, arrivals: list[Arrival], closed: dict[str, str]) -> list[Arrival]:
        """One round; the arrivals to plan again (they lost a race, or their case was full:
        then in `closed`, by key, so the case they open names it)."""
        # Open cases first, then membership: a report that joined a case which has closed
        # since is then always seen as held, never as the first of a new case.
        open_cases = await self.repository.open_cases({a.group_key for a in arrivals})
        held = await self.repository.held_reports({a.event.report_id for a in arrivals})
        now = self.clock()
        plan = plan_round(
            arrivals,
            open_cases,
            held,
            self.policy,
            now,
            lambda: uuid.uuid4().hex,
            self.reports_budget,
            closed,
        )
        for arrival in plan.held:
            DUPLICATE_REPORTS.inc()
            log.info("report already has a case", extra={"report_id": arrival.event.report_id})
        for case, group in plan.full:
            await self._close_to_reports(case, group, now, closed)
        for full, taken_by in plan.continued_elsewhere:
            await self.repository.continue_elsewhere(full, taken_by)
        again = await self._insert(plan, now)
        joins = [(join, group[0].event) for join, group in plan.joins]
        outcome = await self.repository.write_joins(joins, now)
        stored = []
        for index, (join, group) in enumerate(plan.joins):
            if index in outcome.full:
                await self._close_to_reports(join.before, group, now, closed)
                again += group
            elif outcome.lost_race:
                again += group
            else:
                stored.append((join, group))
        self._joined(stored, now)
        if plan.new_cases or plan.joins:
            self.stored_hook()
        return again

    async def _insert(self, plan: RoutingRound, now: datetime) -> list[Arrival]:
        """Insert the new cases; the arrivals of those whose content or report was taken."""
        outcomes = await self.repository.insert_cases(
            [(case, events, group[0].event) for case, events, group in plan.new_cases], now
        )
        again: list[Arrival] = []
        for (case, _, group), outcome in zip(plan.new_cases, outcomes, strict=True):
            if isinstance(outcome, DuplicateKeyError):
                again += group
            elif outcome is not None:
                raise outcome
            else:
                self._created(case, group, now)
        return again

    def _created(self, case: Case, group: list[Arrival], now: datetime) -> None:
        CASES_CREATED.labels(agency=case.agency, category=case.category.value).inc()
        REPORTS_JOINED.inc(len(group) - 1)
        for arrival in group:
            _observe(arrival.event, now)
        log.info(
            "case created",
            extra={
                "report_id": case.report_id,
                "case_id": case.case_id,
                "agency": case.agency,
                "rule_id": case.rule_id,
                "content_key": case.content_key,
                "reporters": case.reporters,
            },
        )

    async def _close_to_reports(
        self, case: Case, group: list[Arrival], now: datetime, closed: dict[str, str]
    ) -> None:
        """The case cannot take these reports (past its budget, or its document would pass
        16 MB): it takes no more, and they open a case of their own (in this round, or when
        planned again) that later reports of the content join. It goes into `closed` under
        their key, so a round that plans them again names it from the case they go to."""
        closed.update({arrival.group_key: case.case_id for arrival in group})
        closed_now = await self.repository.close_to_reports(case, now)
        if closed_now:
            FULL_CASES.inc()
        log.warning(
            "case full: it takes no more reports; later ones of its content open a new case",
            extra={
                "case_id": case.case_id,
                "report_ids": [arrival.event.report_id for arrival in group],
                "closed_now": closed_now,
            },
        )

    def _joined(self, joins: list[tuple[JoinPlan, list[Arrival]]], now: datetime) -> None:
        for join, group in joins:
            REPORTS_JOINED.inc(len(join.entries))
            for arrival in group:
                _observe(arrival.event, now)
            log.info(
                "reports joined a case",
                extra={
                    "case_id": join.case.case_id,
                    "report_ids": [e.report_id for e in join.entries],
                    "reporters": join.case.reporters,
                    "priority": join.case.priority.value,
                },
            )

    async def on_appeal(self, event: ReportAppealed) -> None:
        """Reopen the case for review, once per event; an appeal that cannot be taken is
        recorded in the case's audit log (when there is a case) and logged, never retried."""
        where = {"case_id": event.case_id, "report_id": event.report_id}
        for _ in range(self.max_rounds):
            case = await self.repository.get(event.case_id)
            if case is None:
                APPEALS.labels(result="refused").inc()
                log.warning("appeal for an unknown case dropped", extra=where)
                return
            if already_handled(case, event):
                log.info("appeal already handled", extra=where)
                return
            now = self.clock()
            try:
                plan = plan_appeal(case, event, self.policy, now)
            except AppealRefused as exc:
                await self._refuse(case, event, str(exc), now)
                return
            if await self.repository.write_change(case, plan, now) is not None:
                self.stored_hook()
                APPEALS.labels(result="taken").inc()
                log.info("appeal taken: case reopened for review", extra=where)
                return
        raise RuntimeError(f"case {event.case_id} kept changing under the appeal")

    async def _refuse(self, case: Case, event: ReportAppealed, reason: str, now: datetime) -> None:
        APPEALS.labels(result="refused").inc()
        await self.repository.record_audit(case.case_id, refusal_record(case, event, reason, now))
        log.warning(
            "appeal refused",
            extra={"case_id": case.case_id, "report_id": event.report_id, "reason": reason},
        )

    async def on_escalations(self, events: Sequence[CaseEscalated]) -> list[BaseException | None]:
        """Record each escalation in its case's history (once per event), in one write."""
        errors = await self.repository.record_escalations(events)
        for event, error in zip(events, errors, strict=True):
            if error is None:  # stored once per event id: a redelivered one changed nothing
                log.info(
                    "escalation recorded",
                    extra={
                        "case_id": event.case_id,
                        "escalation_level": event.level,
                        "event_id": event.event_id,
                    },
                )
        return errors


def _observe(event: ReportSubmitted, now: datetime) -> None:
    ROUTING_LATENCY.observe(max((now - event.occurred_at).total_seconds(), 0.0))
