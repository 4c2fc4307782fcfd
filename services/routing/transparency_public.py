"""The public transparency figures: national aggregates of a whole month, small counts suppressed.

Only national totals by category, decision outcome, clock and platform are published; no
agency, province or case detail and no personal data. Every count under 5 is shown as
"< 5"; where that count could be worked out from a published total (it is the only one
suppressed in its table, or the suppressed ones add up to less than 5), the smallest other
counts of the table are hidden too, until it cannot. Shares and medians resting on fewer
than 5 cases are not published (a share would give the small count away).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from services.common.contracts import Category, DecisionOutcome
from services.routing.transparency import (
    LOCAL,
    Period,
    Timeliness,
    TransparencyReport,
)

SMALL = 5  # counts below this are never published
UNDER = "< 5"  # a suppressed count
HIDDEN = "hidden"  # a larger count hidden so that a suppressed one cannot be worked out
Shown = int | str


@dataclass(frozen=True)
class Table:
    """One published table: counts by key (or UNDER / HIDDEN) and their total."""

    cells: dict[str, Shown]
    total: Shown

    def as_json(self) -> dict[str, object]:
        """The table as JSON."""
        return {"cells": self.cells, "total": self.total}


def suppressed(cells: Mapping[str, int]) -> Table:
    """`cells` with small counts suppressed so that none can be worked out from the total."""
    total = sum(cells.values())
    shown: dict[str, Shown] = {k: v if v >= SMALL else UNDER for k, v in cells.items()}
    hidden = [k for k, v in shown.items() if v == UNDER]
    while hidden and total >= SMALL and (len(hidden) == 1 or _sum(cells, hidden) < SMALL):
        visible = [k for k in cells if k not in hidden]
        smallest = min(visible, key=lambda k: (cells[k], k))
        shown[smallest] = HIDDEN
        hidden.append(smallest)
    return Table(shown, total if total >= SMALL else UNDER)


def _sum(cells: Mapping[str, int], keys: list[str]) -> int:
    return sum(cells[k] for k in keys)


def published_share(part: int, whole: int) -> float | None:
    """`part / whole`, only when neither `part` nor the rest is a small count."""
    if part < SMALL or whole - part < SMALL:
        return None
    return round(part / whole, 4)


def published_median(seconds: float | int | None, base: int) -> float | None:
    """A median time, only when it rests on at least SMALL cases."""
    return float(seconds) if seconds is not None and base >= SMALL else None


@dataclass(frozen=True)
class PublicFigures:
    """What the public page shows for one month."""

    month: date
    generated_at: datetime
    tables: dict[str, Table]
    shares: dict[str, float | None]
    medians: dict[str, float | None]
    platforms: list[str]

    def as_json(self) -> dict[str, object]:
        """The figures as JSON (`/transparency.json`)."""
        return {
            "month": self.month.strftime("%Y-%m"),
            "zone": str(LOCAL),
            "generated_at": self.generated_at.isoformat(),
            "suppression": {"under": SMALL, "suppressed": UNDER, "hidden": HIDDEN},
            "tables": {name: table.as_json() for name, table in self.tables.items()},
            "shares": self.shares,
            "median_seconds": self.medians,
        }


def public_figures(report: TransparencyReport, month: date) -> PublicFigures:
    """The national aggregates of `report` (which must cover the whole month) for the public."""
    totals = report.totals
    by_category = dict(report.breakdown("category"))
    tables = {
        "reports_received": _by_category(by_category, "reports_received"),
        "cases": _by_category(by_category, "cases"),
        "decisions": suppressed(
            {o.value: _count(totals, f"decisions.{o.value}") for o in DecisionOutcome}
        ),
        "internal_clock": _timeliness(totals, "internal"),
        "legal_clock": _timeliness(totals, "legal"),
        "appeal_reviews": suppressed(
            {r: _count(totals, f"appeals_{r}") for r in ("upheld", "reversed")}
        ),
        "appeals": suppressed({"appeals": _count(totals, "appeals")}),
        "reporters": suppressed({"reporters": _count(totals, "reporters")}),
    }
    platforms = sorted(
        name.removeprefix("platform.").removesuffix(".requests")
        for name in totals
        if name.startswith("platform.") and name.endswith(".requests")
    )
    tables["takedown_requests"] = suppressed(
        {p: _count(totals, f"platform.{p}.requests") for p in platforms}
    )
    return PublicFigures(
        month=month,
        generated_at=report.generated_at,
        tables=tables,
        shares=_shares(totals, platforms),
        medians=_medians(totals),
        platforms=platforms,
    )


def _count(figures: Mapping[str, float | int | None], name: str) -> int:
    return int(figures.get(name) or 0)


def _by_category(rows: Mapping[str, Mapping[str, float | int | None]], metric: str) -> Table:
    return suppressed({c.value: _count(rows.get(c.value, {}), metric) for c in Category})


def _timeliness(totals: Mapping[str, float | int | None], clock: str) -> Table:
    return suppressed({t.value: _count(totals, f"{clock}.{t.value}") for t in Timeliness})


def _shares(
    totals: Mapping[str, float | int | None], platforms: list[str]
) -> dict[str, float | None]:
    """Takedown compliance, overall and per platform, where publishable."""
    scopes = {"takedowns": "takedowns", **{p: f"platform.{p}" for p in platforms}}
    return {
        f"{name}.compliance": published_share(
            _count(totals, f"{prefix}.complied"), _count(totals, f"{prefix}.due")
        )
        for name, prefix in scopes.items()
    }


def _medians(totals: Mapping[str, float | int | None]) -> dict[str, float | None]:
    """The national median times, each with the count it rests on."""
    bases = {
        "median_acknowledge_s": "acknowledged",
        "median_decide_s": "first_decisions",
        "takedowns.median_takedown_s": "takedowns.done",
    }
    return {
        name: published_median(totals.get(name), _count(totals, base))
        for name, base in bases.items()
    }


def month_period(month: date) -> Period:
    """The whole local month starting on `month` (its first day)."""
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return Period(month.replace(day=1), following)
