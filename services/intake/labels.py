"""What reporters read: category, platform, status and agency labels in Vietnamese and English."""

from __future__ import annotations

from services.common.contracts import Category, ReporterKind
from services.common.i18n import LANGUAGES, localised
from services.common.labels import CATEGORIES, PLATFORMS, Language, platform_name

__all__ = ["CATEGORIES", "LANGUAGES", "PLATFORMS", "Language"]

REPORTER_KINDS: dict[ReporterKind, dict[Language, str]] = {
    ReporterKind.CITIZEN: localised("Citizen"),
    ReporterKind.OFFICIAL: localised("Official"),
}

RECEIVED = "received"  # a report's status from its storing until a case event links it

# The reporter-visible statuses (services/intake/status.py maps case statuses onto them).
STATUSES: dict[str, dict[Language, str]] = {
    RECEIVED: localised("Received"),
    "under_review": localised("Being reviewed"),
    "assigned": localised("Assigned to an agency"),
    "acknowledged": localised("Acknowledged by the agency"),
    "in_progress": localised("In progress"),
    "resolved": localised("Resolved"),
    "rejected": localised("Closed without action"),
    "waiting_on_platform": localised("Waiting for the platform to act"),
    "appealed": localised("Being reviewed again"),
}

# A decision's outcome (services.common.contracts.DecisionOutcome), as the reporter reads it.
DECISION_OUTCOMES: dict[str, dict[Language, str]] = {
    "removed_by_platform": localised("The platform removed the content"),
    "account_restored": localised("The account was returned to its owner"),
    "warning_issued": localised("A warning was issued"),
    "referred": localised("Referred to another competent authority"),
    "no_violation": localised("No violation of the law was found"),
    "not_enough_information": localised("There was not enough information to act"),
    "duplicate": localised("Already handled in another report"),
}

# What the review of an appeal concluded (services.common.contracts.AppealResult).
REVIEW_RESULTS: dict[str, dict[Language, str]] = {
    "upheld": localised("The review upheld the earlier decision"),
    "reversed": localised("The review reversed the earlier decision"),
}

# The decision recorded when a case closes, as the reporter reads it.
OUTCOMES: dict[str, dict[Language, str]] = {
    "removed": localised("The content was removed"),
    "account_restored": localised("The account was restored"),
    "no_violation": localised("No violation was found"),
    "referred": localised("Referred to the competent authority"),
    "other": localised("Closed for another reason"),
    "merged": localised("Joined to the case of other reports of the same content"),
}

AGENCIES: dict[str, dict[Language, str]] = {
    "police": localised("Police (cyber security unit)"),
    "culture_office": localised("Culture and information office"),
    "party_committee": localised("Party committee"),
    "triage": localised("Not assigned yet"),  # a supervisor is choosing the agency
}


def category_label(category: Category, lang: Language) -> str:
    """The short name of a category."""
    return CATEGORIES[category][lang][0]


def platform_label(platform: str, lang: Language) -> str:
    """A platform's name (its code when it is not one we know)."""
    return platform_name(platform, lang)


def agency_label(agency: str | None, lang: Language) -> str | None:
    """An agency's display name (its id when it is not one we know)."""
    if agency is None:
        return None
    return AGENCIES.get(agency, {}).get(lang, agency)


def status_label(status: str, lang: Language) -> str:
    """A reporter-visible status in words."""
    return STATUSES.get(status, {}).get(lang, status)


def outcome_label(outcome: str | None, lang: Language) -> str | None:
    """A closed case's outcome in words (its code when it is not one we know)."""
    if outcome is None:
        return None
    words = OUTCOMES.get(outcome) or DECISION_OUTCOMES.get(outcome) or {}
    return words.get(lang, outcome)


def decision_outcome_label(outcome: str, lang: Language) -> str:
    """A decision's outcome in words (its code when it is not one we know)."""
    return DECISION_OUTCOMES.get(outcome, {}).get(lang, outcome)


def review_label(review: str | None, lang: Language) -> str | None:
    """What an appeal's review concluded, in words."""
    if review is None:
        return None
    return REVIEW_RESULTS.get(review, {}).get(lang, review)
