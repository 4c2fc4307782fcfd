"""The routing policy: a versioned, validated TOML file: report -> agency, priority, deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from services.common.contracts import AGENCY_ID_PATTERN, TRIAGE, Category, Priority, ReporterKind
from services.common.policyfile import (
    Duration,
    PolicyError,
    invalid,
    line_of,
    parse_model,
    read_policy_text,
)


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
    text, name = read_policy_text(path, "services.routing", "default_policy.toml")
    return parse_policy(text, name)


def parse_policy(text: str, name: str = "policy") -> Policy:
    """Parse and validate policy text; raise PolicyError naming the rule, line and problem."""
    parsed = parse_model(text, name, _PolicyFile, {"rules": "rule", "agencies": "agency"})
    return _checked(parsed, text, name)


def _checked(parsed: _PolicyFile, text: str, name: str) -> Policy:
    problems: list[str] = []
    agencies: dict[str, Agency] = {}
    for agency in parsed.agencies:
        if agency.id in agencies or agency.id == TRIAGE:
            problems.append(
                f"agency {agency.id!r}{line_of(text, agency.id)}: defined twice or reserved"
            )
        agencies[agency.id] = agency
    seen_ids: set[str] = set()
    seen_criteria: dict[tuple[object, ...], str] = {}
    for rule in parsed.rules:
        where = f"rule {rule.id!r}{line_of(text, rule.id)}"
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
        raise PolicyError(invalid(name, problems))
    return Policy(parsed.version, agencies, tuple(parsed.rules))
