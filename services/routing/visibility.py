"""Sensitive cases: `member_misconduct` (a party member's conduct online) is seen only by the
party committee and supervisors (not auditors, who share the supervisors' principal), never
leaves the party committee, and appears in everyone else's statistics at the category level
only.

Reports about a party member's conduct are likely sensitive personal data (Decree
13/2023/NĐ-CP, Law 91/2025/QH15 on personal data protection), so the rule is one predicate used
by every way in: the case list and page (API and console), actions, takedowns, evidence
links, reassignment, merges, the grouping of reports by content, the copies sent to informed
agencies and the statistics.
"""

from __future__ import annotations

from services.common.contracts import Category

SUPERVISOR = "supervisor"
SENSITIVE_CATEGORY = Category.MEMBER_MISCONDUCT
SENSITIVE_AGENCY = "party_committee"  # the only agency that ever holds or reads such a case
# Appended to a sensitive case's content key while it is open and takes reports: reports of
# one content then group apart by sensitivity (a misconduct report never joins another case).
SENSITIVE_KEY_SUFFIX = "#sensitive"


def is_sensitive(category: Category | str) -> bool:
    """Whether cases of `category` are sensitive."""
    return category == SENSITIVE_CATEGORY


def sees_sensitive(principal: str, *, auditor: bool = False) -> bool:
    """Whether `principal` may see sensitive cases and their figures below the category level:
    the party committee and supervisors, not an `auditor` (signed in with the supervisors'
    principal)."""
    return principal in (SUPERVISOR, SENSITIVE_AGENCY) and not auditor


def may_see(principal: str, category: Category | str, *, auditor: bool = False) -> bool:
    """Whether `principal` may see a case of `category` at all (on top of its scope: an agency
    still sees only the cases it holds or is informed of)."""
    return not is_sensitive(category) or sees_sensitive(principal, auditor=auditor)


def hidden_categories(principal: str, *, auditor: bool = False) -> tuple[str, ...]:
    """The categories a list shown to `principal` leaves out."""
    return () if sees_sensitive(principal, auditor=auditor) else (SENSITIVE_CATEGORY.value,)


def grouping_key(content_key: str, category: Category | str) -> str:
    """The key reports of one content group under: sensitive reports apart from the others."""
    return content_key + SENSITIVE_KEY_SUFFIX if is_sensitive(category) else content_key


def reassignment_problem(category: Category | str, target: str) -> str | None:
    """Why a case of `category` may not go to `target` (None when it may)."""
    if is_sensitive(category) and target != SENSITIVE_AGENCY:
        return (
            f"sensitive: a {SENSITIVE_CATEGORY.value} case is seen only by "
            f"{SENSITIVE_AGENCY} and supervisors, so it goes to {SENSITIVE_AGENCY} only"
        )
    return None


def rule_problems(category: Category, agency: str, inform: list[str]) -> list[str]:
    """What a routing rule may not do with sensitive reports: route them to, or inform,
    another agency than the party committee."""
    if not is_sensitive(category):
        return []
    problems = []
    if agency != SENSITIVE_AGENCY:
        problems.append(
            f"sensitive: {category.value} reports go to {SENSITIVE_AGENCY} only, not {agency!r}"
        )
    if others := [a for a in inform if a != SENSITIVE_AGENCY]:
        problems.append(
            f"sensitive: {category.value} cases are not shared; inform names {', '.join(others)}"
        )
    return problems
