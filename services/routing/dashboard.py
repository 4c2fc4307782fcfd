"""Supervisor figures over a period: counts, median times, share on time, and an SVG bar chart."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape

from services.common.contracts import CaseStatus
from services.routing.case import Case


@dataclass
class Figures:
    """What the dashboard shows for one period."""

    total: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    by_agency: Counter[str] = field(default_factory=Counter)
    median_ack: timedelta | None = None
    median_resolve: timedelta | None = None
    on_time_share: float | None = None


def figures(cases: list[Case]) -> Figures:
    """Counts by category and agency, median times, and the share resolved within deadline."""
    result = Figures(total=len(cases))
    ack_times, resolve_times, on_time = [], [], []
    for case in cases:
        result.by_category[case.category.value] += 1
        result.by_agency[case.agency] += 1
        if case.acknowledged_at:
            ack_times.append((case.acknowledged_at - case.created_at).total_seconds())
        if case.closed_at and case.status is CaseStatus.RESOLVED:
            resolve_times.append((case.closed_at - case.created_at).total_seconds())
            on_time.append(_resolved_on_time(case, case.closed_at))
    result.median_ack = _median(ack_times)
    result.median_resolve = _median(resolve_times)
    result.on_time_share = sum(on_time) / len(on_time) if on_time else None
    return result


def _resolved_on_time(case: Case, closed: datetime) -> bool:
    """Acknowledged within the acknowledge deadline and resolved within the resolve one."""
    acked = case.acknowledged_at
    if (acked or closed) > case.created_at + timedelta(seconds=case.acknowledge_within_s):
        return False
    if case.resolve_within_s and acked:
        return closed <= acked + timedelta(seconds=case.resolve_within_s)
    return True


def _median(seconds: list[float]) -> timedelta | None:
    return timedelta(seconds=statistics.median(seconds)) if seconds else None


def overdue_by_level(cases: list[Case], now: datetime) -> dict[str, Counter[int]]:
    """Open overdue cases counted by agency and by the level they have reached."""
    table: dict[str, Counter[int]] = {}
    for case in cases:
        if case.is_overdue(now):
            table.setdefault(case.agency, Counter())[case.escalation_level] += 1
    return table


def bar_chart(counts: list[tuple[str, int]], *, title: str, width: int = 560) -> str:
    """A horizontal bar chart as inline SVG (no script, no external resources)."""
    bar, gap, label_width = 22, 8, 210
    height = max(1, len(counts)) * (bar + gap) + gap
    peak = max((n for _, n in counts), default=0) or 1
    rows = []
    for i, (label, n) in enumerate(counts):
        y = gap + i * (bar + gap)
        length = (width - label_width - 60) * n / peak
        baseline = f"{y + bar * 0.7:.0f}"
        rows.append(
            f"<g><title>{escape(label)}: {n}</title>"
            f'<text x="{label_width - 8}" y="{baseline}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar}" rx="3"></rect>'
            f'<text x="{label_width + length + 6:.1f}" y="{baseline}">{n}</text></g>'
        )
    return (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(rows)}</svg>"
    )


def duration_text(value: timedelta | None) -> str:
    """`2 h 05 min`, `12 min`, `40 s`, or an en dash for no value."""
    if value is None:
        return "–"
    seconds = int(value.total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"
