"""Sealing reporters' contacts: AES-256-GCM under a key ring, bound to report and purpose."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from services.common.contracts import Contact
from services.common.sealing import (
    CONTACT_PURPOSE,
    DEVELOPMENT_KEY_ID,
    ContactKeySettings,
    KeyRingError,
    TamperedValue,
    UnknownKey,
    key_id_of,
    new_key_line,
    parse_key_ring,
    sealed_report,
)
from tests.helpers import report_event

pytestmark = pytest.mark.unit

OLD, NEW = new_key_line("old"), new_key_line("new")
CONTACT = Contact(name="Trần Thị B", phone="+84905123456", email="tran.b@example.vn")


def test_a_contact_opens_again_for_its_report_and_shows_nothing_in_clear() -> None:
    ring = parse_key_ring(OLD)
    sealed = ring.seal_contact(CONTACT, "report-1")
    assert sealed.startswith("v1.old.") and key_id_of(sealed) == "old"
    assert ring.open_contact(sealed, "report-1") == CONTACT
    for clear in ("Trần", "0905123456", "tran.b", "example"):
        assert clear not in sealed
    assert ring.seal_contact(CONTACT, "report-1") != sealed  # a fresh nonce every time


def test_a_changed_value_does_not_open() -> None:
    ring = parse_key_ring(OLD)
    sealed = ring.seal_contact(CONTACT, "report-1")
    version, key_id, nonce, body = sealed.split(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[0] ^= 1
    flipped = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    for tampered in (
        f"{version}.{key_id}.{nonce}.{flipped}",
        f"{version}.{key_id}.{nonce}.{body[:-4]}",
        f"{version}.{key_id}.{nonce}",
        f"v2.{key_id}.{nonce}.{body}",
        f"{version}.{key_id}.{nonce}.{body}!",
        "not sealed at all",
    ):
        with pytest.raises(TamperedValue):
            ring.open_contact(tampered, "report-1")


def test_a_contact_copied_onto_another_report_or_purpose_does_not_open() -> None:
    ring = parse_key_ring(OLD)
    sealed = ring.seal_contact(CONTACT, "report-1")
    with pytest.raises(TamperedValue):
        ring.open_contact(sealed, "report-2")
    with pytest.raises(TamperedValue):
        ring.open(sealed, report_id="report-1", purpose="something.else")
    assert ring.open(sealed, report_id="report-1", purpose=CONTACT_PURPOSE)


def test_a_value_sealed_under_a_key_the_ring_lacks_is_an_unknown_key() -> None:
    sealed = parse_key_ring(OLD).seal_contact(CONTACT, "report-1")
    with pytest.raises(UnknownKey, match="'old'"):
        parse_key_ring(NEW).open_contact(sealed, "report-1")


def test_the_first_key_seals_and_every_key_opens_so_keys_rotate() -> None:
    before = parse_key_ring(OLD)
    during = parse_key_ring(f"{NEW}, {OLD}")
    after = parse_key_ring(NEW)
    old_value = before.seal_contact(CONTACT, "report-1")
    assert during.current_id == "new" and not during.is_current(old_value)
    assert during.open_contact(old_value, "report-1") == CONTACT
    resealed = during.reseal_contact(old_value, "report-1")
    assert key_id_of(resealed) == "new" and during.is_current(resealed)
    assert after.open_contact(resealed, "report-1") == CONTACT
    clear = during.reseal_contact(CONTACT.model_dump(), "report-2")  # stored before sealing
    assert after.open_contact(clear, "report-2") == CONTACT


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("k1", "entry 1: expected id:key"),
        ("k1:" + "A" * 10, "entry 1: the key must be 32 bytes"),
        (f"{OLD},bad id:{NEW.split(':')[1]}", "entry 2: expected id:key"),
        (f"{OLD},{OLD}", "entry 2: key id 'old' appears twice"),
        ("dev", "entry 1: expected id:key"),  # the public key never seals
        ("k1:" + "*" * 43, "entry 1: the key must be 32 bytes"),
    ],
)
def test_a_malformed_key_ring_is_refused_naming_the_variable(text: str, problem: str) -> None:
    with pytest.raises(KeyRingError, match=f"CONTACT_KEYS {problem}"):
        parse_key_ring(text)


def test_the_setting_names_the_variable_and_never_echoes_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "k1:" + "S" * 20
    monkeypatch.setenv("CONTACT_KEYS", secret)
    with pytest.raises(ValidationError) as refused:
        ContactKeySettings()
    assert "CONTACT_KEYS" in str(refused.value) and "S" * 20 not in str(refused.value)
    monkeypatch.setenv("CONTACT_KEYS", f"{NEW},{OLD}")
    assert ContactKeySettings().contact_key_ring().current_id == "new"


def test_unset_keys_are_the_development_ring_on_this_machine_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CONTACT_KEYS", raising=False)
    assert ContactKeySettings().contact_key_ring().current_id == DEVELOPMENT_KEY_ID
    with pytest.raises(ValidationError, match="CONTACT_KEYS is required"):
        ContactKeySettings(host="0.0.0.0")
    # A local run's contacts move to a real key: `dev` after it opens them.
    local = ContactKeySettings().contact_key_ring().seal_contact(CONTACT, "r")
    assert parse_key_ring(f"{NEW},dev").open_contact(local, "r") == CONTACT


def test_a_report_sent_before_sealing_has_its_contact_sealed_on_receipt() -> None:
    ring = parse_key_ring(NEW)
    legacy = report_event(1).model_copy(update={"contact": CONTACT, "contact_sealed": None})
    sealed = sealed_report(legacy, ring)
    assert sealed.contact is None and sealed.contact_sealed is not None
    assert ring.open_contact(sealed.contact_sealed, sealed.report_id) == CONTACT
    assert "contact" not in sealed.model_dump() and "Trần" not in sealed.model_dump_json()
    current = report_event(2)
    assert sealed_report(current, ring) is current
