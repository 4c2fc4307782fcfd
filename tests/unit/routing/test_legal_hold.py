"""Legal holds without a database: when one ends, what is stored, what a body may say."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from services.routing.legalhold import LegalHoldBody, end_of, planned_hold, today

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)  # 01:00 on 30 November in Hà Nội


def test_a_hold_lasts_to_the_end_of_its_last_day_in_vietnam() -> None:
    assert today(NOW) == date(2026, 11, 30)
    assert end_of(date(2026, 11, 30)) == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    hold = planned_hold(LegalHoldBody(reason="Toà án", until=date(2026, 11, 30)), "sv", None, NOW)
    assert hold.in_force(NOW)
    assert not hold.in_force(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
    forever = planned_hold(LegalHoldBody(reason="Toà án"), "supervisor", None, NOW)
    assert forever.in_force(datetime(2999, 1, 1, tzinfo=UTC)) and forever.ends_at is None


def test_a_hold_is_stored_with_its_day_as_text() -> None:
    hold = planned_hold(
        LegalHoldBody(reason=" Toà án ", until=date(2027, 1, 2)), "supervisor", "An (sv/an)", NOW
    )
    stored = hold.stored()
    assert stored["until"] == "2027-01-02" and stored["reason"] == "Toà án"
    assert stored["person"] == "An (sv/an)" and stored["set_at"] == NOW


@pytest.mark.parametrize(
    "body",
    [
        '{"reason": ""}',
        '{"reason": "x", "until": 20270102}',
        '{"reason": "x", "until": "9999-12-31"}',
    ],
)
def test_bad_bodies_are_refused(body: str) -> None:
    with pytest.raises(ValidationError):
        LegalHoldBody.model_validate_json(body)
