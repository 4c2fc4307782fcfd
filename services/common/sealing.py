"""Reporters' contact data sealed with AES-256-GCM under a key ring intake and routing share.

A sealed value is one self-describing string, `v1.<key id>.<nonce>.<ciphertext>` (nonce and
ciphertext in unpadded base64url; the ciphertext ends with GCM's 16-byte tag). Its associated
data binds it to the report and the purpose it was sealed for, so a sealed contact copied
onto another report, or into another field, does not open. The ring's first key seals; every
key in it opens, which is how keys are rotated (add the new key first, re-seal, drop the old).

This is the explicit authenticated encryption of a few fields that MongoDB's client-side
field-level encryption would do, without its mongocryptd/libmongocrypt dependency, which the
embedded SecantusDB server cannot use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import SettingsConfigDict

from services.common.contracts import Contact, ReportSubmitted
from services.common.settings import CommonSettings
from services.common.signedlinks import is_local_host

log = logging.getLogger(__name__)

KEYS_SETTING = "CONTACT_KEYS"
VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
CONTACT_PURPOSE = "report.contact"
# Used when CONTACT_KEYS is unset on a service reachable from this machine only: the same on
# intake and routing, so a local run works, but public (it is in this source), so a service
# listening beyond this machine refuses to start without CONTACT_KEYS.
DEVELOPMENT_KEY_ID = "dev"
DEVELOPMENT_KEY = hashlib.sha256(b"incidents/contact-keys/development-only").digest()


class SealingError(Exception):
    """A sealed value cannot be opened."""


class UnknownKey(SealingError):
    """The value was sealed under a key id the ring does not hold (removed too early?)."""


class TamperedValue(SealingError):
    """The value is malformed, was changed, or belongs to another report or purpose."""


class KeyRingError(ValueError):
    """CONTACT_KEYS is malformed (the message names the variable and the bad entry)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _associated(key_id: str, report_id: str, purpose: str) -> bytes:
    return f"incidents/sealed/{VERSION}|{key_id}|{purpose}|{report_id}".encode()


@dataclass(frozen=True)
class KeyRing:
    """Named AES-256 keys; the first (`current_id`) seals, all of them open."""

    keys: Mapping[str, bytes]
    current_id: str

    def seal(self, plaintext: bytes, *, report_id: str, purpose: str) -> str:
        """`plaintext` sealed under the current key, bound to `report_id` and `purpose`."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        aad = _associated(self.current_id, report_id, purpose)
        sealed = AESGCM(self.keys[self.current_id]).encrypt(nonce, plaintext, aad)
        return f"{VERSION}.{self.current_id}.{_b64(nonce)}.{_b64(sealed)}"

    def open(self, sealed: str, *, report_id: str, purpose: str) -> bytes:
        """The plaintext of `sealed`; UnknownKey or TamperedValue when it cannot be opened."""
        key_id, nonce, body = _parts(sealed)
        if key_id not in self.keys:
            raise UnknownKey(f"sealed under key {key_id!r}, which {KEYS_SETTING} does not hold")
        aad = _associated(key_id, report_id, purpose)
        try:
            return AESGCM(self.keys[key_id]).decrypt(nonce, body, aad)
        except InvalidTag:
            raise TamperedValue(
                f"the value sealed under key {key_id!r} was changed or belongs elsewhere"
            ) from None

    def is_current(self, sealed: str) -> bool:
        """Whether `sealed` is sealed under the current key (rotation leaves it alone)."""
        return sealed.startswith(f"{VERSION}.{self.current_id}.")

    def seal_contact(self, contact: Contact, report_id: str) -> str:
        """A reporter's contact sealed for `report_id`."""
        text = contact.model_dump_json(exclude_none=True)
        return self.seal(text.encode(), report_id=report_id, purpose=CONTACT_PURPOSE)

    def open_contact(self, sealed: str, report_id: str) -> Contact:
        """The contact sealed for `report_id`; SealingError when it cannot be opened."""
        text = self.open(sealed, report_id=report_id, purpose=CONTACT_PURPOSE)
        try:
            return Contact.model_validate_json(text)
        except ValidationError:
            raise TamperedValue("the sealed value is not a contact") from None

    def reseal_contact(self, value: str | Mapping[str, object], report_id: str) -> str:
        """A stored contact (sealed under any key of the ring, or a clear one left from before
        sealing) sealed under the current key."""
        if isinstance(value, str):
            contact = self.open_contact(value, report_id)
        else:
            contact = Contact.model_validate(value)
        return self.seal_contact(contact, report_id)


def key_id_of(sealed: str) -> str:
    """The id of the key `sealed` was sealed under; TamperedValue when it is not sealed."""
    return _parts(sealed)[0]


def _parts(sealed: str) -> tuple[str, bytes, bytes]:
    pieces = sealed.split(".")
    if len(pieces) != 4 or pieces[0] != VERSION or not KEY_ID.match(pieces[1]):
        raise TamperedValue(f"not a sealed value of version {VERSION}")
    try:
        nonce, body = _unb64(pieces[2]), _unb64(pieces[3])
    except (binascii.Error, ValueError):
        raise TamperedValue("the sealed value is not base64url") from None
    if len(nonce) != NONCE_BYTES or len(body) < TAG_BYTES:
        raise TamperedValue("the sealed value is truncated")
    return pieces[1], nonce, body


def parse_key_ring(text: str) -> KeyRing:
    """The ring of `id:base64url-key[,id:key...]` (current first; a later entry `dev` adds
    the development key, to move a local run's contacts to a real key); KeyRingError naming
    CONTACT_KEYS and the bad entry otherwise. Never echoes a key."""
    keys: dict[str, bytes] = {}
    entries = [entry.strip() for entry in text.split(",")]
    for number, entry in enumerate(entries, start=1):
        key_id, colon, encoded = entry.partition(":")
        where = f"{KEYS_SETTING} entry {number}"
        if entry == DEVELOPMENT_KEY_ID and number > 1:  # opens what a local run sealed
            keys[DEVELOPMENT_KEY_ID] = DEVELOPMENT_KEY
            continue
        if not colon or not KEY_ID.match(key_id):
            raise KeyRingError(f"{where}: expected id:key with an id of 1-32 of A-Z a-z 0-9 _ -")
        if key_id in keys:
            raise KeyRingError(f"{where}: key id {key_id!r} appears twice")
        keys[key_id] = _key_bytes(encoded.strip(), where)
    return KeyRing(keys, entries[0].partition(":")[0])


def _key_bytes(encoded: str, where: str) -> bytes:
    try:
        key = _unb64(encoded) if re.fullmatch(r"[A-Za-z0-9_-]+=*", encoded) else b""
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyRingError(f"{where}: the key must be {KEY_BYTES} bytes in base64url")
    return key


def development_ring() -> KeyRing:
    """The ring used when CONTACT_KEYS is unset on a local service: public, for local runs."""
    return KeyRing({DEVELOPMENT_KEY_ID: DEVELOPMENT_KEY}, DEVELOPMENT_KEY_ID)


def new_key_line(key_id: str) -> str:
    """A fresh `id:key` entry for CONTACT_KEYS."""
    if not KEY_ID.match(key_id):
        raise KeyRingError(f"key id {key_id!r}: use 1-32 of A-Z a-z 0-9 _ -")
    return f"{key_id}:{_b64(secrets.token_bytes(KEY_BYTES))}"


def sealed_report(event: ReportSubmitted, ring: KeyRing) -> ReportSubmitted:
    """`event` with a clear contact (sent before contacts were sealed) sealed on receipt."""
    if event.contact is None:
        return event
    sealed = event.contact_sealed or ring.seal_contact(event.contact, event.report_id)
    return event.model_copy(update={"contact": None, "contact_sealed": sealed})


class ContactKeySettings(CommonSettings):
    """The settings of a service that seals or opens contacts (intake, routing)."""

    # A malformed CONTACT_KEYS must not be echoed into the start-up error (and the logs).
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    contact_keys: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(KEYS_SETTING, "contact_keys"),
        description="Keys sealing reporters' contacts, the same on intake and routing: "
        "`id:base64url-32-bytes[,id:key...]`, the current (sealing) key first. Unset: the "
        "public development key, only while the service listens on this machine alone.",
    )

    @field_validator("contact_keys")
    @classmethod
    def _well_formed(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_key_ring(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _keys_off_this_machine(self) -> ContactKeySettings:
        if self.contact_keys is None and not is_local_host(self.host):
            raise ValueError(
                f"{KEYS_SETTING} is required when a service listens beyond this machine "
                f"(host {self.host}): the same key ring on intake and routing "
                "(`incidents-admin contact-keys new` prints a key)"
            )
        return self

    def contact_key_ring(self) -> KeyRing:
        """The ring from CONTACT_KEYS, or the development ring when it is unset."""
        if self.contact_keys is None:
            log.warning(
                "CONTACT_KEYS is unset: reporters' contacts are sealed with the public "
                "development key (this machine only); set CONTACT_KEYS before real use"
            )
            return development_ring()
        return parse_key_ring(self.contact_keys.get_secret_value())
