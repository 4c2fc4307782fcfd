"""The routing policy: a versioned, validated TOML file: report -> agency, priority, deadline."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from services.common.contracts import AGENCY_ID_PATTERN, TRIAGE, Category, Priority, ReporterKind

DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class PolicyError(ValueError):
    """The policy file is invalid; the message names the rule, the line and the problem."""


def parse_duration(value: Any) -> timedelta:
    """`90m`, `24h`, `7d`, `1h30m`, `30s` -> timedelta (positive)."""
    if isinstance(value, timedelta):
        return value
    match = DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if not match or not any(match.groups()):
        raise ValueError(f"bad duration {value!r}: use e.g. 30s, 90m, 24h, 7d, 1h30m")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if duration <= timedelta(0):
        raise ValueError(f"duration {value!r} must be positive")
    return duration


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class Agency(BaseModel):
    """An agency that receives cases."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=AGENCY_ID_PATTERN)
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    default_deadline: Duration
    supervisors: list[str] = Field(default_factory=list)


class Rule(BaseModel):
    """Reports matching these criteria go to `agency` with this priority and deadline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=80)
    category: Category
    province: str | None = None
    district: str | None = None
    reporter_kind: ReporterKind | None = None
    agency: str
    priority: Priority = Priority.NORMAL
    deadline: Duration
    resolve_within: Duration | None = None

    @property
    def specificity(self) -> int:
        """How many optional criteria the rule names."""
        return sum(x is not None for x in (self.province, self.district, self.reporter_kind))

    def criteria(self) -> tuple[object, ...]:
        """What the rule matches on (two rules may not share it)."""
        return (self.category, self.province, self.district, self.reporter_kind)

    def matches(
        self,
        category: Category,
        province: str | None,
        district: str | None,
        reporter_kind: ReporterKind | None,
    ) -> bool:
        """Whether a report with these attributes falls under this rule."""
        return (
            self.category == category
            and _same(self.province, province)
            and _same(self.district, district)
            and (self.reporter_kind is None or self.reporter_kind == reporter_kind)
        )


def _same(wanted: str | None, actual: str | None) -> bool:
    return wanted is None or (actual is not None and wanted.casefold() == actual.strip().casefold())


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1)
    agencies: list[Agency] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)


@dataclass(frozen=True)
class Assignment:
    """The outcome of routing a report: where it goes and by when it must be acknowledged."""

    agency: str
    priority: Priority
    deadline: timedelta
    resolve_within: timedelta | None
    rule_id: str | None


TRIAGE_DEADLINE = timedelta(hours=4)


@dataclass(frozen=True)
class Policy:
    """A loaded, validated policy."""

    version: str
    agencies: dict[str, Agency]
    rules: tuple[Rule, ...]

    def route(
        self,
        category: Category,
        province: str | None = None,
        district: str | None = None,
        reporter_kind: ReporterKind | None = None,
    ) -> Assignment:
        """The most specific matching rule's assignment, or triage when none matches."""
        matching = [r for r in self.rules if r.matches(category, province, district, reporter_kind)]
        if not matching:
            return Assignment(TRIAGE, Priority.NORMAL, TRIAGE_DEADLINE, None, None)
        rule = max(matching, key=lambda r: r.specificity)
        return Assignment(rule.agency, rule.priority, rule.deadline, rule.resolve_within, rule.id)

    def route_to(
        self,
        agency: str,
        category: Category,
        province: str | None = None,
        district: str | None = None,
        reporter_kind: ReporterKind | None = None,
    ) -> Assignment:
        """The assignment when a case is sent to `agency` by hand (reassignment)."""
        matching = [
            r
            for r in self.rules
            if r.agency == agency and r.matches(category, province, district, reporter_kind)
        ]
        if matching:
            rule = max(matching, key=lambda r: r.specificity)
            return Assignment(agency, rule.priority, rule.deadline, rule.resolve_within, rule.id)
        return Assignment(
            agency, Priority.NORMAL, self.agencies[agency].default_deadline, None, None
        )


def load_policy(path: Path | None = None) -> Policy:
    """Load and validate a policy file (the packaged default when `path` is None)."""
    if path is None:
        text = (
            resources.files("services.routing").joinpath("default_policy.toml").read_text("utf-8")
        )
        name = "default_policy.toml"
    else:
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"{path}: cannot read the policy file: {exc}") from exc
        name = str(path)
    return parse_policy(text, name)


def parse_policy(text: str, name: str = "policy") -> Policy:
    """Parse and validate policy text; raise PolicyError naming the rule, line and problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{name}: not valid TOML: {exc}") from exc
    try:
        parsed = _PolicyFile.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(_describe(exc, raw, text, name)) from exc
    return _checked(parsed, text, name)


def _describe(exc: ValidationError, raw: dict[str, Any], text: str, name: str) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] in ("rules", "agencies") and isinstance(loc[1], int):
            entry = (raw.get(str(loc[0])) or [{}])[loc[1]]
            ident = entry.get("id") if isinstance(entry, dict) else None
            kind = {"rules": "rule", "agencies": "agency"}[str(loc[0])]
            where = f"{kind} {ident!r}" if ident else f"{loc[0]}[{loc[1]}]"
            where += f"{_line(text, ident)}, field {'.'.join(str(p) for p in loc[2:]) or '-'}"
        problems.append(f"{where}: {error['msg']}")
    return f"{name}: invalid policy:\n  " + "\n  ".join(problems)


def _line(text: str, ident: object) -> str:
    if not isinstance(ident, str):
        return ""
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf'^\s*id\s*=\s*"{re.escape(ident)}"', line):
            return f" (line {number})"
    return ""


def _checked(parsed: _PolicyFile, text: str, name: str) -> Policy:
    problems: list[str] = []
    agencies: dict[str, Agency] = {}
    for agency in parsed.agencies:
        if agency.id in agencies or agency.id == TRIAGE:
            problems.append(
                f"agency {agency.id!r}{_line(text, agency.id)}: defined twice or reserved"
            )
        agencies[agency.id] = agency
    seen_ids: set[str] = set()
    seen_criteria: dict[tuple[object, ...], str] = {}
    for rule in parsed.rules:
        where = f"rule {rule.id!r}{_line(text, rule.id)}"
        if rule.id in seen_ids:
            problems.append(f"{where}: duplicate rule id")
        seen_ids.add(rule.id)
        if rule.agency not in agencies:
            problems.append(
                f"{where}: unknown agency {rule.agency!r} (known: {', '.join(agencies)})"
            )
        if (other := seen_criteria.get(rule.criteria())) is not None:
            problems.append(f"{where}: matches exactly the same reports as rule {other!r}")
        seen_criteria.setdefault(rule.criteria(), rule.id)
    if problems:
        raise PolicyError(f"{name}: invalid policy:\n  " + "\n  ".join(problems))
    return Policy(parsed.version, agencies, tuple(parsed.rules))
