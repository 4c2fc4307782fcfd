"""What the console's case page shows beyond the case itself, pure: the two clocks, the
takedown requests with their legal clocks, the decision forms' choices, and which forms the
signed-in officer gets (none when the agency is only informed of the case)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.common.contracts import CaseStatus
from services.common.i18n import Language
from services.routing.case import Case
from services.routing.decisions import REJECT_OUTCOMES, RESOLVE_OUTCOMES
from services.routing.lifecycle import Action
from services.routing.models import CaseDetail, actions_of
from services.routing.policy import Policy
from services.routing.sharing import only_informed
from services.routing.takedown_terms import TakedownView
from services.routing.transparency_texts import DECISION_OUTCOMES

# The actions that have a form of their own on the case page, in the order shown.
FORM_ACTIONS = ("acknowledge", "start", "resolve", "reject", "review", "reassign", "note")


@dataclass(frozen=True)
class ClockView:
    """One of a case's deadlines as the case page shows it."""

    name: str  # internal | legal
    due_at: datetime | None
    left: timedelta | None  # negative when past
    css: str  # ok | soon | late | none (the console's colour classes)
    paused: bool = False
    paused_left: timedelta | None = None  # working time left when the internal clock resumes
    calendar: str | None = None


def clock_views(case: Case, now: datetime) -> list[ClockView]:
    """The internal (working time, paused while waiting on a platform) and legal clocks of an
    open case; none once it is closed."""
    if not case.is_open:
        return []
    paused = case.internal_left_s is not None and case.due_at is None
    internal = ClockView(
        "internal",
        case.due_at,
        *_left(case.due_at, now, case.internal_budget_s or case.acknowledge_within_s),
        paused=paused,
        paused_left=timedelta(seconds=case.internal_left_s or 0) if paused else None,
        calendar=case.calendar,
    )
    legal = ClockView("legal", case.legal_due_at, *_left(case.legal_due_at, now, 48 * 3600))
    return [internal, legal]


def _left(due_at: datetime | None, now: datetime, window_s: float) -> tuple[timedelta | None, str]:
    """Time to `due_at` and its colour: late when past, soon in the last quarter of `window_s`."""
    if due_at is None:
        return None, "none"
    left = due_at - now
    if left < timedelta(0):
        return left, "late"
    return left, "soon" if left < timedelta(seconds=window_s or 86400) / 4 else "ok"


def takedown_views(case: Case, now: datetime) -> list[TakedownView]:
    """The case's requests to platforms, newest first, with where each legal clock stands."""
    return [TakedownView.of(t, now) for t in reversed(case.takedowns)]


def form_actions(case: Case, principal: str) -> list[str]:
    """The action forms `principal` gets on the case (none when only informed of it)."""
    if only_informed(case, principal):
        return []
    allowed = {a.value for a in actions_of(case, principal)}
    return [name for name in FORM_ACTIONS if name in allowed]


def without_contact(detail: CaseDetail) -> CaseDetail:
    """The case page's case with the reporter's contact hidden (auditors never see it)."""
    report = detail.report.model_copy(update={"has_contact": False})
    reports = [entry.model_copy(update={"has_contact": False}) for entry in detail.reports]
    return detail.model_copy(update={"report": report, "reports": reports})


def review_withheld(case: Case, principal: str) -> bool:
    """Whether the case awaits a review that `principal` may not do (it made the decision)."""
    if case.status is not CaseStatus.APPEALED or only_informed(case, principal):
        return False
    return Action.REVIEW.value not in {a.value for a in actions_of(case, principal)}


@dataclass(frozen=True)
class DecisionChoices:
    """The choices of the decision forms: outcomes per closing action, legal bases."""

    resolve: list[tuple[str, str]]
    reject: list[tuple[str, str]]
    every: list[tuple[str, str]]
    legal_bases: list[tuple[str, str]]


def decision_choices(policy: Policy, lang: Language) -> DecisionChoices:
    """The outcomes and legal bases the forms offer, in `lang`."""

    def named(outcomes: tuple[object, ...]) -> list[tuple[str, str]]:
        return [(str(o), DECISION_OUTCOMES[str(o)][lang]) for o in outcomes]

    return DecisionChoices(
        resolve=named(RESOLVE_OUTCOMES),
        reject=named(REJECT_OUTCOMES),
        every=[(value, names[lang]) for value, names in DECISION_OUTCOMES.items()],
        legal_bases=[(code, basis.title(lang)) for code, basis in policy.legal_bases.items()],
    )
