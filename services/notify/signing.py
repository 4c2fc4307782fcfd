"""Webhook signing keys and headers: Standard Webhooks, plus the deprecated `X-Incidents-*` set.

A webhook alert carries `webhook-id` (the alert's id, the same on every retry and re-send),
`webhook-timestamp` (Unix seconds) and `webhook-signature`: `v1,<base64 HMAC-SHA256>` over
`<id>.<timestamp>.<body>`, once per signing key, separated by spaces, newest key first, so a
receiver holding either the old or the new secret verifies an alert sent during a rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks import Webhook

ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
# Deprecated: sent for one more release beside the Standard Webhooks headers.
SIGNATURE_HEADER = "X-Incidents-Signature"
TIMESTAMP_HEADER = "X-Incidents-Timestamp"
EVENT_ID_HEADER = "X-Incidents-Event-Id"
MAX_SKEW_SECONDS = 300
SECRET_PREFIX = "whsec_"
# The Standard Webhooks specification asks for keys of 24 to 64 bytes.
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64


@dataclass(frozen=True)
class SigningKeys:
    """The keys alerts are signed with, newest first, and the key of the deprecated header."""

    keys: tuple[bytes, ...]
    legacy: bytes

    def headers(self, message_id: str, body: bytes, *, now: float) -> dict[str, str]:
        """Every signature header of one alert body sent at `now` (Unix seconds)."""
        timestamp = int(now)
        sent_at = datetime.fromtimestamp(timestamp, UTC)
        text = body.decode()
        signatures = " ".join(Webhook(key).sign(message_id, sent_at, text) for key in self.keys)
        return {
            ID_HEADER: message_id,
            STANDARD_TIMESTAMP_HEADER: str(timestamp),
            STANDARD_SIGNATURE_HEADER: signatures,
            EVENT_ID_HEADER: message_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self.legacy, timestamp, body),
        }


def decode_secret(secret: str, *, setting: str) -> bytes:
    """The key in a `whsec_<base64>` secret; ValueError naming `setting` when it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"{setting}: a secret must start with {SECRET_PREFIX!r}")
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"{setting}: not valid base64 after {SECRET_PREFIX!r}") from exc
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise ValueError(
            f"{setting}: the key is {len(key)} bytes; it must be {MIN_KEY_BYTES} to {MAX_KEY_BYTES}"
        )
    return key


def encode_secret(key: bytes) -> str:
    """The `whsec_<base64>` form of a key, as receivers pass it to `Webhook(...)`."""
    return SECRET_PREFIX + base64.b64encode(key).decode()


def signing_keys(secrets: list[str], legacy: str | None) -> SigningKeys | None:
    """The keys from `NOTIFY_WEBHOOK_SECRETS` (newest first) and the older
    `NOTIFY_WEBHOOK_SECRET`, whose UTF-8 bytes are the key and which is kept as the oldest;
    None when neither is set. ValueError names a malformed secret."""
    keys = [
        decode_secret(secret, setting=f"NOTIFY_WEBHOOK_SECRETS[{index}]")
        for index, secret in enumerate(secrets)
    ]
    if legacy and legacy.startswith(SECRET_PREFIX):
        raise ValueError(
            f"NOTIFY_WEBHOOK_SECRET holds a {SECRET_PREFIX!r} secret: set it in"
            " NOTIFY_WEBHOOK_SECRETS instead"
        )
    if legacy:
        keys.append(legacy.encode())
    if not keys:
        return None
    unique = tuple(dict.fromkeys(keys))
    return SigningKeys(unique, legacy.encode() if legacy else unique[0])


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The deprecated `X-Incidents-Signature` value for `body` sent at `timestamp`."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: bytes, timestamp: str, body: bytes, signature: str, *, now: float
) -> bool:
    """What a receiver of the deprecated headers checks: a fresh timestamp, a matching
    signature. New receivers use `standardwebhooks.Webhook(secret).verify` instead."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    fresh = abs(now - sent) <= MAX_SKEW_SECONDS
    return fresh and hmac.compare_digest(sign(secret, sent, body), signature)
