"""The routing policy: a versioned, validated TOML file: report -> agency, priority, deadlines,
the agencies to inform, and the legal bases, appeal window and legal clocks decisions use."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from services.common import geography
from services.common.contracts import AGENCY_ID_PATTERN, TRIAGE, Category, Priority, ReporterKind
from services.common.policyfile import (
    Duration,
    PolicyError,
    invalid,
    line_of,
    parse_model,
    read_policy_text,
)
from services.common.workcalendar import CalendarBook, load_calendars
from services.routing.visibility import rule_problems

LEGAL_BASIS_CODE_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"


class Agency(BaseModel):
    """An agency that receives cases."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=AGENCY_ID_PATTERN)
    name_vi: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    default_deadline: Duration
    supervisors: list[str] = Field(default_factory=list)


class LegalBasis(BaseModel):
    """A legal basis a decision may name, from the list legal staff maintain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=LEGAL_BASIS_CODE_PATTERN, max_length=80)
    title_vi: str = Field(min_length=1, max_length=300)
    title_en: str = Field(min_length=1, max_length=300)

    def title(self, language: str) -> str:
        """The title in `language` (Vietnamese unless English is asked for)."""
        return self.title_en if language == "en" else self.title_vi


class Rule(BaseModel):
    """Reports matching these criteria go to `agency` with this priority and deadline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=80)
    category: Category
    province: str | None = Field(
        default=None,
        description='A province code since 1 July 2025 ("01" for Hà Nội); see '
        "GET /api/v1/places/provinces on intake.",
        json_schema_extra={"enum": list[JsonValue](sorted(p.code for p in geography.provinces()))},
    )
    commune: str | None = Field(
        default=None,
        description='A commune code ("00070"), of `province` when both are given; see '
        "GET /api/v1/places/provinces/{code}/communes on intake.",
        json_schema_extra={"pattern": "^[0-9]{5}$"},
    )
    district: str | None = Field(
        default=None,
        description="Refused: districts were abolished on 1 July 2025; name province and "
        "commune codes instead.",
        json_schema_extra={"deprecated": True},
    )
    reporter_kind: ReporterKind | None = None
    agency: str
    priority: Priority = Priority.NORMAL
    deadline: Duration
    resolve_within: Duration | None = None
    legal_within: Duration | None = Field(
        default=None, description="The case's legal clock (calendar time); the policy's when unset."
    )
    inform: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Agencies informed of the case besides its owner (read-only).",
    )
    inform_contact: bool = Field(
        default=False, description="Whether the informed agencies see the reporter's contact."
    )

    @property
    def province_code(self) -> str | None:
        """The province the rule is about: named, or the one its commune lies in."""
        if self.province is None and self.commune is not None:
            found = geography.commune(self.commune)
            return found.province_code if found else None
        return self.province

    @property
    def specificity(self) -> int:
        """How many optional criteria the rule names (a commune also names its province)."""
        place = (self.province_code is not None) + (self.commune is not None)
        return place + (self.reporter_kind is not None)

    def criteria(self) -> tuple[object, ...]:
        """What the rule matches on (two rules may not share it)."""
        return (self.category, self.province_code, self.commune, self.reporter_kind)

    def matches(
        self,
        category: Category,
        province_code: str | None,
        commune_code: str | None,
        reporter_kind: ReporterKind | None,
    ) -> bool:
        """Whether a report with these attributes (place codes) falls under this rule."""
        return (
            self.category == category
            and (self.province_code is None or self.province_code == province_code)
            and (self.commune is None or self.commune == commune_code)
            and (self.reporter_kind is None or self.reporter_kind == reporter_kind)
        )


PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class PriorityThreshold(BaseModel):
    """Raise a case's priority once it has `reporters` distinct reporters, or (with
    `any_official`) as soon as one of its reporters is an official; optionally for one category."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reporters: int | None = Field(default=None, ge=2)
    any_official: bool = False
    category: Category | None = None
    priority: Priority

    @model_validator(mode="after")
    def _one_trigger(self) -> PriorityThreshold:
        if (self.reporters is None) == (not self.any_official):
            raise ValueError("give either reporters = N or any_official = true (one of them)")
        return self

    def reached(self, category: Category, reporters: int, any_official: bool) -> bool:
        """Whether a case with these reporters has reached this threshold."""
        if self.category is not None and self.category != category:
            return False
        return any_official if self.any_official else reporters >= (self.reporters or 0)


APPEAL_WINDOW = timedelta(days=14)
APPEAL_REVIEW_WITHIN = timedelta(days=5)
TAKEDOWN_DEADLINE = timedelta(hours=24)
LEGAL_WITHIN = timedelta(hours=48)


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1)
    agencies: list[Agency] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)
    priority_thresholds: list[PriorityThreshold] = Field(default_factory=list)
    legal_bases: list[LegalBasis] = Field(default_factory=list)
    appeal_window: Duration = APPEAL_WINDOW
    appeal_review_within: Duration = APPEAL_REVIEW_WITHIN
    takedown_deadline: Duration = TAKEDOWN_DEADLINE
    legal_within: Duration = LEGAL_WITHIN


@dataclass(frozen=True)
class Assignment:
    """The outcome of routing a report: where it goes and by when it must be acknowledged."""

    agency: str
    priority: Priority
    deadline: timedelta
    resolve_within: timedelta | None
    rule_id: str | None
    legal_within: timedelta = LEGAL_WITHIN
    inform: tuple[str, ...] = ()
    inform_contact: bool = False


# A triage case waits for a supervisor at most half a working day (four working hours): a day
# of the policy's durations is a working day (see services.routing.clocks).
TRIAGE_DEADLINE = timedelta(hours=12)


@lru_cache(maxsize=1)
def default_calendars() -> CalendarBook:
    """The packaged business calendars (services/common/calendars.toml)."""
    return load_calendars(None)


@dataclass(frozen=True)
class Policy:
    """A loaded, validated policy."""

    version: str
    agencies: dict[str, Agency]
    rules: tuple[Rule, ...]
    thresholds: tuple[PriorityThreshold, ...] = ()
    legal_bases: dict[str, LegalBasis] = field(default_factory=dict)
    appeal_window: timedelta = APPEAL_WINDOW
    appeal_review_within: timedelta = APPEAL_REVIEW_WITHIN
    takedown_deadline: timedelta = TAKEDOWN_DEADLINE
    legal_within: timedelta = LEGAL_WITHIN
    calendars: CalendarBook = field(default_factory=default_calendars)

    def with_calendars(self, calendars: CalendarBook) -> Policy:
        """This policy counting internal deadlines on `calendars` (the CALENDARS_FILE's)."""
        return replace(self, calendars=calendars)

    def _assignment(self, rule: Rule) -> Assignment:
        return Assignment(
            rule.agency,
            rule.priority,
            rule.deadline,
            rule.resolve_within,
            rule.id,
            rule.legal_within or self.legal_within,
            tuple(rule.inform),
            rule.inform_contact,
        )

    def threshold_priority(
        self, category: Category, reporters: int, any_official: bool
    ) -> Priority | None:
        """The highest priority the reached thresholds give (None when none is reached)."""
        reached = [
            t.priority for t in self.thresholds if t.reached(category, reporters, any_official)
        ]
        return max(reached, key=PRIORITY_RANK.__getitem__, default=None)

    def route(
        self,
        category: Category,
        province_code: str | None = None,
        commune_code: str | None = None,
        reporter_kind: ReporterKind | None = None,
    ) -> Assignment:
        """The most specific matching rule's assignment, or triage when none matches."""
        matching = [
            r for r in self.rules if r.matches(category, province_code, commune_code, reporter_kind)
        ]
        if not matching:
            return Assignment(
                TRIAGE, Priority.NORMAL, TRIAGE_DEADLINE, None, None, self.legal_within
            )
        return self._assignment(max(matching, key=lambda r: r.specificity))

    def route_to(
        self,
        agency: str,
        category: Category,
        province_code: str | None = None,
        commune_code: str | None = None,
        reporter_kind: ReporterKind | None = None,
    ) -> Assignment:
        """The assignment when a case is sent to `agency` by hand (reassignment)."""
        matching = [
            r
            for r in self.rules
            if r.agency == agency
            and r.matches(category, province_code, commune_code, reporter_kind)
        ]
        if matching:
            return self._assignment(max(matching, key=lambda r: r.specificity))
        return Assignment(
            agency,
            Priority.NORMAL,
            self.agencies[agency].default_deadline,
            None,
            None,
            self.legal_within,
        )


def load_policy(path: Path | None = None) -> Policy:
    """Load and validate a policy file (the packaged default when `path` is None)."""
    text, name = read_policy_text(path, "services.routing", "default_policy.toml")
    return parse_policy(text, name)


def parse_policy(text: str, name: str = "policy") -> Policy:
    """Parse and validate policy text; raise PolicyError naming the rule, line and problem."""
    kinds = {"rules": "rule", "agencies": "agency", "legal_bases": "legal basis"}
    parsed = parse_model(text, name, _PolicyFile, kinds)
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
        problems += [f"{where}: {problem}" for problem in place_problems(rule)]
        problems += [f"{where}: {problem}" for problem in inform_problems(rule, agencies)]
        problems += [
            f"{where}: {problem}"
            for problem in rule_problems(rule.category, rule.agency, rule.inform)
        ]
        if (other := seen_criteria.get(rule.criteria())) is not None:
            problems.append(f"{where}: matches exactly the same reports as rule {other!r}")
        seen_criteria.setdefault(rule.criteria(), rule.id)
    bases: dict[str, LegalBasis] = {}
    for basis in parsed.legal_bases:
        if basis.code in bases:
            problems.append(
                f"legal basis {basis.code!r}{_line_of_code(text, basis.code)}: defined twice"
            )
        bases[basis.code] = basis
    if problems:
        raise PolicyError(invalid(name, problems))
    return Policy(
        parsed.version,
        agencies,
        tuple(parsed.rules),
        tuple(parsed.priority_thresholds),
        bases,
        parsed.appeal_window,
        parsed.appeal_review_within,
        parsed.takedown_deadline,
        parsed.legal_within,
    )


def inform_problems(rule: Rule, agencies: dict[str, Agency]) -> list[str]:
    """What is wrong with a rule's `inform` list: unknown agencies, the owner, repeats."""
    problems = [
        f"inform names unknown agency {agency!r} (known: {', '.join(agencies)})"
        for agency in rule.inform
        if agency not in agencies
    ]
    if rule.agency in rule.inform:
        problems.append(f"inform names the rule's own agency {rule.agency!r}")
    if len(set(rule.inform)) != len(rule.inform):
        problems.append("inform names an agency twice")
    return problems


def _line_of_code(text: str, code: str) -> str:
    """` (line N)` of the last `code = "<code>"` line (a repeated one: where it repeats)."""
    lines = [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if re.match(rf'^\s*code\s*=\s*"{re.escape(code)}"', line)
    ]
    return f" (line {lines[-1]})" if lines else ""


def place_problems(rule: Rule) -> list[str]:
    """What is wrong with a rule's place criteria: a district, an unknown or misplaced code."""
    problems = []
    if rule.district is not None:
        problems.append(
            "`district` is no longer a criterion (districts were abolished on 1 July 2025); "
            "name the province code (and a commune code) instead"
        )
    if rule.province is not None and geography.province(rule.province) is None:
        problems.append(f"unknown province code {rule.province!r}{_did_you_mean(rule.province)}")
    if rule.commune is None:
        return problems
    found = geography.commune(rule.commune)
    if found is None:
        hint = _did_you_mean(rule.province, rule.commune)
        problems.append(f"unknown commune code {rule.commune!r}{hint}")
    elif rule.province is not None and found.province_code != rule.province:
        problems.append(
            f"commune {rule.commune} ({found.name}) is in province {found.province_code}, "
            f"not {rule.province}"
        )
    return problems


def _did_you_mean(province: str | None, commune: str | None = None) -> str:
    """Up to five codes the text may have meant: ` (did you mean: "01" Thành phố Hà Nội?)`."""
    within = province if geography.province(province or "") else None
    try:
        place = geography.resolve_place(province if commune is None else within, commune)
        options = [_coded(place, commune is not None)]
    except geography.PlaceError as exc:
        options = [o for s in exc.suggestions if (o := _suggested(s, within, commune is not None))]
    return f" (did you mean: {', '.join(options)}?)" if options else ""


def _suggested(name: str, within: str | None, is_commune: bool) -> str | None:
    province, commune = (within, name) if is_commune else (name, None)
    try:
        place = geography.resolve_place(province, commune)
    except geography.PlaceError:
        return None
    return _coded(place, is_commune)


def _coded(place: geography.Place, is_commune: bool) -> str:
    if is_commune:
        return f'"{place.commune_code}" {place.commune_name}'
    return f'"{place.province_code}" {place.province_name}'
