"""The escalation policy: who is alerted, when, about an open case past its deadline; which
shares of the internal clock warn the agency before it; who hears of a platform past its own.

Everything here is a pure function of (case state, policy, alerts already sent, now), so the
schedule can be tested with an injected clock and no I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl, field_validator

from services.common.contracts import (
    AGENCY_ID_PATTERN,
    CLOSED_STATUSES,
    CaseStatus,
    Priority,
)
from services.common.geography import province_code_of
from services.common.policyfile import (
    Duration,
    Offset,
    PolicyError,
    invalid,
    line_of,
    parse_model,
    read_policy_text,
)
from services.notify.pagerduty import DEFAULT_EVENTS_URL


class Target(BaseModel):
    """Someone who receives alerts for a role, optionally only for one agency or province."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    role: str = Field(min_length=1, max_length=80)
    agency: str | None = Field(default=None, pattern=AGENCY_ID_PATTERN)
    province: str | None = Field(
        default=None, description='A province code ("01") or name, of the 34 since July 2025.'
    )
    email: list[EmailStr] = Field(default_factory=list, max_length=20)
    webhook: HttpUrl | None = None
    # PagerDuty Events API v2: the integration's routing key, and where events go.
    pagerduty_routing_key: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$"
    )
    pagerduty_events_url: HttpUrl = HttpUrl(DEFAULT_EVENTS_URL)

    def serves(self, case: CaseState) -> bool:
        """True when this target covers the case's agency and province."""
        return (self.agency is None or self.agency == case.agency) and (
            self.province is None or same_province(self.province, case.province)
        )

    @field_validator("province")
    @classmethod
    def _known_province(cls, province: str | None) -> str | None:
        if province is not None and province_code_of(None, province) is None:
            raise ValueError(f'unknown province {province!r}: give a code such as "01"')
        return province


def same_province(wanted: str, actual: str | None) -> bool:
    """Whether two province codes or names (current, or pre-2025 ones) designate one province."""
    code = province_code_of(None, wanted)
    return code is not None and code == province_code_of(None, actual)


class Level(BaseModel):
    """Level `level` fires `after` the deadline and alerts every target of its `roles`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level: int = Field(ge=1, le=20)
    after: Offset
    roles: list[str] = Field(min_length=1)


class Override(BaseModel):
    """Different offsets (one per level) and repeat interval for one priority."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    priority: Priority
    after: list[Offset] = Field(min_length=1)
    repeat_every: Duration | None = None


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=80)
    repeat_every: Duration | None = None
    levels: list[Level] = Field(min_length=1)
    targets: list[Target] = Field(default_factory=list)
    overrides: list[Override] = Field(default_factory=list)
    warnings: list[float] = Field(default_factory=list, max_length=10)
    warning_roles: list[str] = Field(default_factory=lambda: ["agency_desk"])
    platform_roles: list[str] = Field(default_factory=lambda: ["agency_supervisor"])

    @field_validator("warnings")
    @classmethod
    def _shares_in_order(cls, shares: list[float]) -> list[float]:
        if any(not 0 < share < 1 for share in shares):
            raise ValueError("each warning is a share of the internal clock, between 0 and 1")
        if any(later <= earlier for earlier, later in itertools.pairwise(shares)):
            raise ValueError("warnings must be in ascending order, none twice")
        return shares


@dataclass(frozen=True)
class CaseState:
    """What escalation needs to know about a case."""

    agency: str
    priority: Priority
    status: CaseStatus
    due_at: datetime | None
    province: str | None = None

    @property
    def open(self) -> bool:
        """True while the case has a deadline it can miss."""
        return self.due_at is not None and self.status not in CLOSED_STATUSES


@dataclass(frozen=True)
class Step:
    """The `index`-th alert (0-based) about one deadline: a level, or a repeat of the last one."""

    index: int
    level: int
    repeat: int
    due: datetime


@dataclass(frozen=True)
class Schedule:
    """Offsets from the deadline, one per level, and how often the last level repeats."""

    offsets: tuple[timedelta, ...]
    repeat_every: timedelta | None


@dataclass(frozen=True)
class EscalationPolicy:
    """A validated escalation policy."""

    version: str
    levels: tuple[Level, ...]
    targets: tuple[Target, ...]
    default: Schedule
    by_priority: dict[Priority, Schedule]
    # Pre-breach warnings: shares of the internal clock, and who besides the agency's queue.
    warnings: tuple[float, ...] = ()
    warning_roles: tuple[str, ...] = ("agency_desk",)
    # Who hears of a platform past its legal deadline on a takedown request.
    platform_roles: tuple[str, ...] = ("agency_supervisor",)

    def schedule(self, priority: Priority) -> Schedule:
        """The offsets that apply to a case of this priority."""
        return self.by_priority.get(priority, self.default)

    def step(self, case: CaseState, index: int) -> Step | None:
        """The `index`-th alert about the case's current deadline, or None if there is none."""
        if not case.open or case.due_at is None:
            return None
        schedule = self.schedule(case.priority)
        last = len(schedule.offsets) - 1
        if index <= last:
            return Step(index, index + 1, 0, case.due_at + schedule.offsets[index])
        if schedule.repeat_every is None:
            return None
        repeat = index - last
        due = case.due_at + schedule.offsets[last] + repeat * schedule.repeat_every
        return Step(index, last + 1, repeat, due)

    def next_step(self, case: CaseState, sent: int, now: datetime) -> Step | None:
        """The next alert after `sent` alerts; missed repeats collapse into the latest one."""
        step = self.step(case, sent)
        schedule = self.schedule(case.priority)
        if step is None or step.repeat == 0 or schedule.repeat_every is None:
            return step
        missed = int((now - step.due) / schedule.repeat_every)
        return self.step(case, sent + missed) if missed > 0 else step

    def due_steps(self, case: CaseState, sent: int, now: datetime) -> list[Step]:
        """Every alert due at `now` after `sent` were sent, in order."""
        steps = []
        step = self.next_step(case, sent, now)
        while step is not None and step.due <= now:
            steps.append(step)
            step = self.next_step(case, step.index + 1, now)
        return steps

    def targets_for(self, case: CaseState, level: int) -> list[Target]:
        """The targets alerted at `level` about this case."""
        return self.targets_with(case, self.levels[level - 1].roles)

    def targets_with(self, case: CaseState, roles: Iterable[str]) -> list[Target]:
        """The targets of these roles that serve the case's agency and province."""
        wanted = set(roles)
        return [t for t in self.targets if t.role in wanted and t.serves(case)]


def load_escalation_policy(path: Path | None = None) -> EscalationPolicy:
    """Load and validate an escalation policy (the packaged default when `path` is None)."""
    text, name = read_policy_text(path, "services.notify", "default_escalation.toml")
    return parse_escalation_policy(text, name)


def parse_escalation_policy(text: str, name: str = "escalation policy") -> EscalationPolicy:
    """Parse and validate policy text; raise PolicyError naming the entry, line and problem."""
    parsed = parse_model(text, name, _PolicyFile, {"targets": "target", "levels": "level"})
    return _checked(parsed, text, name)


def _checked(parsed: _PolicyFile, text: str, name: str) -> EscalationPolicy:
    problems: list[str] = []
    numbers = [level.level for level in parsed.levels]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"levels must be numbered 1, 2, 3 ... in order; found {numbers}")
    offsets = tuple(level.after for level in parsed.levels)
    problems += _order_problems("levels", offsets)
    roles = {target.role for target in parsed.targets}
    for level in parsed.levels:
        problems += [
            f"level {level.level}: no target has role {role!r} (known: {sorted(roles)})"
            for role in level.roles
            if role not in roles
        ]
    seen: set[str] = set()
    for target in parsed.targets:
        if target.id in seen:
            problems.append(f"target {target.id!r}{line_of(text, target.id)}: duplicate id")
        seen.add(target.id)
        if "pagerduty_events_url" in target.model_fields_set and not target.pagerduty_routing_key:
            problems.append(
                f"target {target.id!r}{line_of(text, target.id)}: pagerduty_events_url"
                " without pagerduty_routing_key"
            )
    for field in ("warning_roles", "platform_roles"):
        if field in parsed.model_fields_set:  # the defaults may name roles no target has
            problems += [
                f"{field}: no target has role {role!r} (known: {sorted(roles)})"
                for role in getattr(parsed, field)
                if role not in roles
            ]
    by_priority = _overrides(parsed, problems)
    if problems:
        raise PolicyError(invalid(name, problems))
    return EscalationPolicy(
        parsed.version,
        tuple(parsed.levels),
        tuple(parsed.targets),
        Schedule(offsets, parsed.repeat_every),
        by_priority,
        tuple(parsed.warnings),
        tuple(parsed.warning_roles),
        tuple(parsed.platform_roles),
    )


def _overrides(parsed: _PolicyFile, problems: list[str]) -> dict[Priority, Schedule]:
    by_priority: dict[Priority, Schedule] = {}
    for override in parsed.overrides:
        where = f"override for priority {override.priority.value!r}"
        if override.priority in by_priority:
            problems.append(f"{where}: given twice")
        if len(override.after) != len(parsed.levels):
            problems.append(
                f"{where}: {len(override.after)} offsets for {len(parsed.levels)} levels"
            )
        problems += _order_problems(where, tuple(override.after))
        by_priority[override.priority] = Schedule(
            tuple(override.after), override.repeat_every or parsed.repeat_every
        )
    return by_priority


def _order_problems(where: str, offsets: tuple[timedelta, ...]) -> list[str]:
    if any(later <= earlier for earlier, later in itertools.pairwise(offsets)):
        return [f"{where}: each level must come after the one before it"]
    return []
