"""Pseudonymous reporter ids: the same person gives the same id, and the id reveals nothing.

A reporter is identified by their contact when they leave one (the phone number in E.164,
else the e-mail in lower case), otherwise by the client address intake sees (the one the
rate limit counts). The id is an HMAC-SHA256 of that identity under a key of intake's, so
nobody without the key can tell whose it is or test a guessed phone number against it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from services.common.phones import e164
from services.intake.settings import IntakeSettings

log = logging.getLogger(__name__)

ID_HEX_CHARACTERS = 32  # 128 bits of the HMAC
# Derives the key from the CSRF secret when no key of its own is set.
DERIVATION_LABEL = b"incidents intake reporter-id v1"


def reporter_identity(
    *, phone: str | None = None, email: str | None = None, client: str | None = None
) -> str | None:
    """The normalised identity of a reporter (`phone:+84...`, `email:...`, `client:...`)."""
    if phone and phone.strip():
        number = e164(phone) or "".join(c for c in phone if c.isdigit() or c == "+")
        return f"phone:{number}"
    if email and email.strip():
        return f"email:{email.strip().lower()}"
    if client and client.strip():
        return f"client:{client.strip().lower()}"
    return None


@dataclass(frozen=True)
class ReporterIds:
    """Computes reporter ids under one key."""

    key: bytes

    def of(self, identity: str) -> str:
        """The opaque id of a normalised identity."""
        digest = hmac.new(self.key, identity.encode("utf-8"), hashlib.sha256).hexdigest()
        return digest[:ID_HEX_CHARACTERS]

    def reporter_id(
        self, *, phone: str | None = None, email: str | None = None, client: str | None = None
    ) -> str | None:
        """The id of the reporter with this contact or, without one, at this client address."""
        identity = reporter_identity(phone=phone, email=email, client=client)
        return None if identity is None else self.of(identity)


def reporter_key(settings: IntakeSettings) -> bytes:
    """`INTAKE_REPORTER_ID_KEY`, else derived from `INTAKE_CSRF_SECRET`, else random (ids then
    stay the same only while this process runs: fine on one machine, logged as a warning)."""
    if settings.reporter_id_key is not None:
        return settings.reporter_id_key.get_secret_value().encode("utf-8")
    if settings.csrf_secret:
        return hmac.new(settings.csrf_secret.encode("utf-8"), DERIVATION_LABEL, "sha256").digest()
    log.warning(
        "neither INTAKE_REPORTER_ID_KEY nor INTAKE_CSRF_SECRET is set: reporter ids use a "
        "random key and change when intake restarts; set one of them on every replica"
    )
    return secrets.token_bytes(32)
