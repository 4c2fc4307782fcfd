"""What the receipt tells a reporter: how long handling usually takes, per category.

Intake does not read routing's policy (no service reads another's configuration); these are
the national rules of routing's `default_policy.toml` (`deadline`: the agency acknowledges
within it after assignment; `resolve_within`: it settles the case within it after that). A
unit test keeps the two in step; a deployment with another policy changes both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from services.common.contracts import Category


@dataclass(frozen=True)
class UsualTime:
    """How long a category's reports usually take: acknowledged within, then resolved within."""

    acknowledge: timedelta
    resolve: timedelta


def _hours(count: int) -> timedelta:
    return timedelta(hours=count)


def _days(count: int) -> timedelta:
    return timedelta(days=count)


USUAL_TIMES: dict[Category, UsualTime] = {
    Category.HIJACKED_ACCOUNT: UsualTime(_hours(24), _days(7)),
    Category.IMPERSONATION: UsualTime(_hours(24), _days(7)),
    Category.SCAM_FRAUD: UsualTime(_hours(24), _days(7)),
    Category.FALSE_INFORMATION: UsualTime(_hours(24), _days(7)),
    Category.HARMFUL_CONTENT: UsualTime(_hours(48), _days(14)),
    Category.CONFIDENTIAL_LEAK: UsualTime(_hours(12), _days(3)),
    Category.MEMBER_MISCONDUCT: UsualTime(_hours(72), _days(30)),
}


def usual_time(category: str) -> UsualTime | None:
    """The usual handling time of `category` (None for a category intake does not know)."""
    try:
        return USUAL_TIMES[Category(category)]
    except ValueError:
        return None
