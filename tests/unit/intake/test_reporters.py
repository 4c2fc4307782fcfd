"""Reporter ids: one person one id, whatever the network or the way they typed their contact."""

from __future__ import annotations

import logging
import re

import pytest

from services.intake.reporters import ReporterIds, reporter_identity, reporter_key
from services.intake.settings import IntakeSettings

pytestmark = pytest.mark.unit

IDS = ReporterIds(b"k" * 32)


@pytest.mark.parametrize(
    ("contact", "identity"),
    [
        ({"phone": "0912 345 678"}, "phone:+84912345678"),
        ({"phone": "+84 912 345 678"}, "phone:+84912345678"),
        ({"phone": "84912345678", "email": "a@b.vn"}, "phone:+84912345678"),
        ({"phone": "(024) 3825 3536"}, "phone:+842438253536"),
        ({"email": " Nguyen.Van.A@Example.VN "}, "email:nguyen.van.a@example.vn"),
        ({"client": "203.113.0.7"}, "client:203.113.0.7"),
        ({"client": "2001:DB8::1"}, "client:2001:db8::1"),
        ({"phone": "  ", "email": "", "client": "203.113.0.7"}, "client:203.113.0.7"),
        ({}, None),
    ],
)
def test_the_identity_is_the_normalised_contact_else_the_client_address(
    contact: dict[str, str], identity: str | None
) -> None:
    assert reporter_identity(**contact) == identity


def test_one_phone_from_two_networks_gives_one_id() -> None:
    at_home = IDS.reporter_id(phone="0912 345 678", client="203.113.0.7")
    on_mobile = IDS.reporter_id(phone="+84912345678", client="100.64.3.9")
    assert at_home == on_mobile


def test_two_people_behind_different_addresses_get_different_ids() -> None:
    first = IDS.reporter_id(client="203.113.0.7")
    second = IDS.reporter_id(client="203.113.0.8")
    assert first != second and None not in (first, second)


def test_the_id_is_opaque_keyed_and_fits_the_event() -> None:
    reporter = IDS.reporter_id(phone="0912345678")
    assert reporter is not None and re.fullmatch("[0-9a-f]{32}", reporter)
    assert "912345678" not in reporter
    assert ReporterIds(b"x" * 32).reporter_id(phone="0912345678") != reporter


def test_the_key_is_the_setting_else_derived_from_the_csrf_secret() -> None:
    own = IntakeSettings(reporter_id_key="r" * 20, csrf_secret="c" * 20)
    derived = IntakeSettings(csrf_secret="c" * 20)
    assert reporter_key(own) == b"r" * 20
    assert reporter_key(derived) == reporter_key(IntakeSettings(csrf_secret="c" * 20))
    assert reporter_key(derived) not in (b"c" * 20, reporter_key(own))


def test_without_any_secret_the_key_is_random_and_a_warning_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = IntakeSettings(csrf_secret=None, reporter_id_key=None)
    with caplog.at_level(logging.WARNING, logger="services.intake.reporters"):
        assert reporter_key(settings) != reporter_key(settings)
    assert "INTAKE_REPORTER_ID_KEY" in caplog.text
