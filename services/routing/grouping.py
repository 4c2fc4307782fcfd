"""Grouping decisions as pure functions: reports joining a case, a report split off, a merge.

A case's content key is the key of its first report's first content URL. Later reports of
the same content join the case while it is open; a supervisor can split a wrongly joined
report into a case of its own, or merge one open case into another.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import bson

from services.common.contracts import AnyEvent, CaseStatus, ReporterKind
from services.common.mongo import Document
from services.routing.case import AuditRecord, Case, CaseReportEntry
from services.routing.planning import (
    PRIORITY_RAISED,
    case_updated,
    plan_case_of,
    priority_record,
    raised_priority,
)
from services.routing.policy import Policy
from services.routing.visibility import SENSITIVE_CATEGORY, is_sensitive

ROUTING_ACTOR = "routing"
REPORT_JOINED = "report_joined"
REPORT_SPLIT = "report_split"
CLOSED_TO_REPORTS = "closed_to_reports"
# How much of its document a case gives to the reports that join it: half the server's 16 MB,
# the other half left for what the case gathers while it is worked (audit, notes, decisions,
# takedown requests). A case past it takes no more reports; later ones of its content open a
# new case. About 1,500 reports with the longest descriptions, about 13,000 with short ones.
REPORTS_BUDGET = 8 * 1024 * 1024
MERGE = "merge"
MERGED = "merged"  # the source's action and outcome
SUCCESSORS = uuid.UUID("5d1f0b0e-6a52-4c1b-9a0e-2f6c0d3a7e41")  # the namespace of successor ids


class InvalidRegrouping(ValueError):
    """A split or merge request naming something it cannot: `field` says which input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class RegroupConflict(Exception):
    """A split or merge the case's current state does not allow (e.g. a closed case)."""


@dataclass(frozen=True)
class JoinPlan:
    """Reports joining an open case: appended and counted in one conditional update."""

    before: Case
    case: Case
    entries: list[CaseReportEntry]
    new_reporter_keys: list[str]
    changes: Document
    audit: list[AuditRecord]
    events: list[AnyEvent]


@dataclass(frozen=True)
class GroupPlan:
    """A split or merge's change to one case, written conditionally on its version."""

    before: Case
    case: Case
    changes: Document
    audit: list[AuditRecord]
    events: list[AnyEvent]


@dataclass(frozen=True)
class SplitPlan:
    """A split: the case without the report, and the new case the report opens."""

    source: GroupPlan
    new_case: Case
    new_events: list[AnyEvent]


@dataclass(frozen=True)
class MergePlan:
    """A merge: the target taking the source's reports, and the source closed as merged."""

    target: GroupPlan
    source: GroupPlan


def plan_join(
    case: Case, entries: Sequence[CaseReportEntry], policy: Policy, now: datetime
) -> JoinPlan | None:
    """`entries` joining `case` one after another (each a version and a `report_joined`
    event), priority raised where a threshold is reached; None when all are in it already."""
    fresh = _fresh(case, entries)
    if not fresh:
        return None
    current, keys = case, list(case.reporter_keys)
    new_keys: list[str] = []
    events: list[AnyEvent] = []
    audit: list[AuditRecord] = []
    official = case.any_official
    for entry in fresh:
        if entry.reporter_key not in keys:
            keys.append(entry.reporter_key)
            new_keys.append(entry.reporter_key)
        current = _next(
            current,
            now,
            reports=[*current.reports, entry],
            reporter_keys=list(keys),
            reporters=len(keys),
        )
        events.append(
            case_updated(current, REPORT_JOINED, ROUTING_ACTOR, now, report_ids=[entry.report_id])
        )
        official = official or entry.reporter_kind is ReporterKind.OFFICIAL
        current = _raise(current, policy, official, ROUTING_ACTOR, now, events, audit)
    added = added_bytes(fresh, new_keys)
    current = current.model_copy(update={"reports_bytes": case.reports_bytes + added})
    changes = {
        "version": current.version,
        "reporters": current.reporters,
        "priority": current.priority,
        "reports_bytes": current.reports_bytes,
        "updated_at": now,
    }
    return JoinPlan(case, current, fresh, new_keys, changes, audit, events)


def stored_size(entry: CaseReportEntry) -> int:
    """The bytes a report takes in its case's document."""
    return len(bson.encode(entry.model_dump(mode="python")))


def added_bytes(entries: Sequence[CaseReportEntry], new_keys: Sequence[str]) -> int:
    """What `entries` and the reporter keys they add take in their case's document, as
    `reports_bytes` counts it."""
    return sum(stored_size(e) for e in entries) + sum(len(k.encode()) for k in new_keys)


def plan_split(
    case: Case,
    report_id: str,
    *,
    actor: str,
    reason: str,
    policy: Policy,
    now: datetime,
    new_case_id: str,
    person: str | None = None,
) -> SplitPlan:
    """`report_id` taken out of `case` into a new case routed by the policy from that report.

    InvalidRegrouping (naming `report_id`) for a report the case does not hold or the one
    that opened it; RegroupConflict when the case is closed.
    """
    if not case.is_open:
        raise RegroupConflict(f"case {case.case_id} is {case.status.value}; only open cases split")
    entry = case.report_entry(report_id)
    if entry is None:
        raise InvalidRegrouping("report_id", f"case {case.case_id} holds no report {report_id!r}")
    if report_id == case.report_id:
        raise InvalidRegrouping(
            "report_id", "the report that opened the case stays with it; split the others off"
        )
    remaining = [r for r in case.reports if r.report_id != report_id]
    keys = list(dict.fromkeys(r.reporter_key for r in remaining))
    after = _next(case, now, reports=remaining, reporter_keys=keys, reporters=max(len(keys), 1))
    note = f"{entry.tracking_code} -> {new_case_id}: {reason}"
    record = _record(case, REPORT_SPLIT, actor, now, note, person=person)
    event = case_updated(after, REPORT_SPLIT, actor, now, note=reason)
    new_case, new_events = plan_case_of(
        entry, case.content_key, policy, now, case_id=new_case_id, reason=reason
    )
    new_case = new_case.model_copy(update={"joinable": False})
    new_events = [e.model_copy(update={"content_key": case.content_key}) for e in new_events]
    source = GroupPlan(case, _audited(after, [record]), _changes(case, after), [record], [event])
    return SplitPlan(source, new_case, new_events)


def plan_merge(
    source: Case,
    target: Case,
    *,
    actor: str,
    reason: str,
    policy: Policy,
    now: datetime,
    person: str | None = None,
) -> MergePlan:
    """`source`'s reports moved into `target` (announced with their ids), and `source` closed
    with outcome `merged` naming the target. InvalidRegrouping naming `into` for a merge into
    itself, across sensitivity (a sensitive case and another) or past the target's budget for
    reports; RegroupConflict when either case is closed."""
    if source.case_id == target.case_id:
        raise InvalidRegrouping("into", "a case cannot be merged into itself")
    if is_sensitive(source.category) != is_sensitive(target.category):
        raise InvalidRegrouping(
            "into",
            f"sensitive: a {SENSITIVE_CATEGORY.value} case and a case of another category "
            "are never merged (its reports stay with the party committee, the others with "
            "their agency)",
        )
    for case in (source, target):
        if not case.is_open:
            raise RegroupConflict(
                f"case {case.case_id} is {case.status.value}; only open cases merge"
            )
    return MergePlan(
        _merge_target(source, target, actor, reason, policy, now, person),
        plan_merge_close(
            source, target.case_id, actor=actor, reason=reason, now=now, person=person
        ),
    )


def plan_merge_close(
    source: Case,
    target_id: str,
    *,
    actor: str,
    reason: str,
    now: datetime,
    person: str | None = None,
) -> GroupPlan:
    """The source of a merge closed: resolved with outcome `merged`, naming the target."""
    after = _next(
        source,
        now,
        status=CaseStatus.RESOLVED,
        outcome=MERGED,
        merged_into=target_id,
        due_at=None,
        closed_at=now,
    )
    note = f"into {target_id}: {reason}"
    record = _record(source, MERGED, actor, now, note, after.status, person=person)
    record = record.model_copy(update={"outcome": MERGED})
    event = case_updated(
        after,
        MERGED,
        actor,
        now,
        from_status=source.status,
        note=reason,
        outcome=MERGED,
        merged_into=target_id,
    )
    return GroupPlan(source, _audited(after, [record]), _changes(source, after), [record], [event])


def _merge_target(
    source: Case,
    target: Case,
    actor: str,
    reason: str,
    policy: Policy,
    now: datetime,
    person: str | None,
) -> GroupPlan:
    moved = _fresh(target, source.reports)
    keys = list(dict.fromkeys([*target.reporter_keys, *(r.reporter_key for r in moved)]))
    held = target.reports_bytes + added_bytes(moved, keys[len(target.reporter_keys) :])
    if held > REPORTS_BUDGET:
        raise InvalidRegrouping(
            "into",
            f"case {target.case_id} cannot take these reports: a case holds at most "
            f"{REPORTS_BUDGET // (1024 * 1024)} MB of reports",
        )
    after = _next(
        target,
        now,
        reports=[*target.reports, *moved],
        reporter_keys=keys,
        reporters=len(keys),
        reports_bytes=held,
        merged_from=[*target.merged_from, source.case_id],
    )
    note = f"{source.tracking_code} ({source.case_id}): {reason}"
    audit = [_record(target, MERGE, actor, now, note, person=person)]
    ids = [r.report_id for r in moved]
    events: list[AnyEvent] = [case_updated(after, MERGE, actor, now, note=reason, report_ids=ids)]
    official = target.any_official or any(r.reporter_kind is ReporterKind.OFFICIAL for r in moved)
    after = _raise(after, policy, official, actor, now, events, audit)
    return GroupPlan(target, _audited(after, audit), _changes(target, after), audit, events)


def _fresh(case: Case, entries: Sequence[CaseReportEntry]) -> list[CaseReportEntry]:
    """The entries `case` does not hold yet, each once."""
    held = {r.report_id for r in case.reports}
    fresh: dict[str, CaseReportEntry] = {}
    for entry in entries:
        if entry.report_id not in held:
            fresh.setdefault(entry.report_id, entry)
    return list(fresh.values())


def _raise(
    case: Case,
    policy: Policy,
    official: bool,
    actor: str,
    now: datetime,
    events: list[AnyEvent],
    audit: list[AuditRecord],
) -> Case:
    """The case with its priority raised when a threshold is reached (audited, announced)."""
    raised = raised_priority(policy, case.category, case.priority, case.reporters, official)
    if raised is None:
        return case
    audit.append(priority_record(case.priority, raised, case.status, case.reporters, actor, now))
    after = _next(case, now, priority=raised)
    events.append(case_updated(after, PRIORITY_RAISED, actor, now))
    return after


def _next(case: Case, now: datetime, **updates: object) -> Case:
    """The case one version on, with `updates`."""
    return case.model_copy(update={**updates, "version": case.version + 1, "updated_at": now})


def _audited(case: Case, audit: list[AuditRecord]) -> Case:
    return case.model_copy(update={"audit": [*case.audit, *audit]})


def successor_id(case_id: str) -> str:
    """The id of the case that takes a full case's later reports. Derived from the full case's,
    so the full case names it when it is closed, before it is stored (nothing to write after,
    nothing lost to a crash between), and routers that close the case at once open one."""
    return uuid.uuid5(SUCCESSORS, case_id).hex


def plan_close_to_reports(case: Case, now: datetime) -> tuple[Document, AuditRecord]:
    """The change, and its audit line, for an open case whose document can hold no more
    reports (its budget, or the server's 16 MB): it takes none from now on, its key its own as
    a split-off case's, so later reports of its content open its successor (`continued_by`)
    and join that one. Its version stays: nothing the agency acts on changed, and a change
    planned from the case meanwhile still lands (it writes only the fields it changes)."""
    after = case.model_copy(update={"joinable": False, "continued_by": successor_id(case.case_id)})
    record = AuditRecord(
        at=now,
        actor=ROUTING_ACTOR,
        action=CLOSED_TO_REPORTS,
        from_status=case.status.value,
        to_status=case.status.value,
        agency=case.agency,
    )
    changes = {"joinable": False, "open_key": after.open_key, "continued_by": after.continued_by}
    return changes, record


def _record(
    case: Case,
    action: str,
    actor: str,
    now: datetime,
    note: str,
    to_status: CaseStatus | None = None,
    *,
    person: str | None = None,
) -> AuditRecord:
    return AuditRecord(
        at=now,
        actor=actor,
        person=person,
        action=action,
        from_status=case.status.value,
        to_status=(to_status or case.status).value,
        note=note,
        agency=case.agency,
    )


def _changes(before: Case, after: Case) -> Document:
    """The stored fields that differ, to `$set` (audit lines are pushed on their own)."""
    old, new = before.to_document(), after.to_document()
    return {k: v for k, v in new.items() if k != "audit" and old.get(k) != v}
