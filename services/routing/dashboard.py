"""Supervisor figures over a period: counts, median times, share on time, and an SVG bar chart."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape

from services.common.contracts import CaseStatus
from services.routing.case import Case
from services.routing.visibility import is_sensitive


@dataclass
class Figures:
    """What the dashboard shows for one period."""

    total: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    by_agency: Counter[str] = field(default_factory=Counter)
    median_ack: timedelta | None = None
    median_resolve: timedelta | None = None
    on_time_share: float | None = None


def figures(cases: list[Case], *, sensitive_detail: bool = False) -> Figures:
    """Counts by category and agency, median times, and the share resolved within deadline.

    Without `sensitive_detail` (anyone but supervisors and the party committee), a sensitive
    case counts in the total and by category, never by agency (`visibility`)."""
    result = Figures(total=len(cases))
    ack_times, resolve_times, on_time = [], [], []
    for case in cases:
        result.by_category[case.category.value] += 1
        if sensitive_detail or not is_sensitive(case.category):
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


def bar_chart(
    counts: list[tuple[str, int]], *, title: str, width: int = 560, label_width: int = 210
) -> str:
    """A horizontal bar chart as inline SVG (no script, no external resources)."""
    bar, gap = 22, 8
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


# Fills of a stacked bar's parts, in order (good, warning, bad, neutral): 4.5:1 on white.
PART_FILLS = ("#1e5e20", "#7a4d00", "#a30000", "#595959")
LABEL_WIDTH = 250  # room for "Hạn nội bộ (thời gian làm việc)" at 13 px


def stacked_chart(
    rows: list[tuple[str, list[tuple[str, int]]]], *, title: str, width: int = 600
) -> str:
    """Horizontal bars split into parts (e.g. early / on time / late), each row to 100 %, with
    a legend; inline SVG (no script, no external resources)."""
    bar, gap, label_width, legend = 22, 8, LABEL_WIDTH, 26
    height = legend + max(1, len(rows)) * (bar + gap) + gap
    span = width - label_width - 10
    names = [name for name, _ in rows[0][1]] if rows else []
    keys = "".join(
        f'<rect x="{8 + i * 190}" y="4" width="14" height="14" fill="{PART_FILLS[i % 4]}"></rect>'
        f'<text x="{26 + i * 190}" y="16">{escape(name)}</text>'
        for i, name in enumerate(names)
    )
    drawn = [_stacked_row(i, label, parts, legend, span) for i, (label, parts) in enumerate(rows)]
    return (
        f'<svg class="chart stacked" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title><g>{keys}</g>{''.join(drawn)}</svg>"
    )


def _stacked_row(index: int, label: str, parts: list[tuple[str, int]], top: int, span: int) -> str:
    """One bar of a stacked chart: its label, then each part as a share of the row's total."""
    bar, gap, label_width = 22, 8, LABEL_WIDTH
    y = top + gap + index * (bar + gap)
    whole = sum(n for _, n in parts)
    summary = ", ".join(f"{name}: {n}" for name, n in parts)
    pieces, x = [], float(label_width)
    for i, (name, n) in enumerate(parts):
        length = span * n / whole if whole else 0.0
        pieces.append(
            f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="{bar}" '
            f'fill="{PART_FILLS[i % 4]}"><title>{escape(name)}: {n}</title></rect>'
        )
        x += length
    return (
        f"<g><title>{escape(label)}: {escape(summary)}</title>"
        f'<text x="{label_width - 8}" y="{y + bar * 0.7:.0f}" text-anchor="end">{escape(label)}'
        f"</text>{''.join(pieces)}</g>"
    )
