"""Webhook signing: Standard Webhooks signatures across a secret rotation, and the old headers."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.notify.signing import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    encode_secret,
    signing_keys,
    verify_signature,
)

pytestmark = pytest.mark.unit

OLD = encode_secret(b"o" * 32)
NEW = encode_secret(b"n" * 32)
OTHER = encode_secret(b"x" * 32)
BODY = '{"case_id":"c-1","level":1,"agency":"Công an"}'.encode()


def headers_for(secrets: list[str], legacy: str | None = None) -> dict[str, str]:
    keys = signing_keys(secrets, legacy)
    assert keys is not None
    return keys.headers("alert-1", BODY, now=time.time())


def test_a_receiver_verifies_an_alert_with_the_standard_webhooks_package() -> None:
    headers = headers_for([NEW])
    assert Webhook(NEW).verify(BODY, headers) == {
        "case_id": "c-1",
        "level": 1,
        "agency": "Công an",
    }
    assert headers["webhook-id"] == "alert-1"
    assert headers["webhook-signature"].startswith("v1,")
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(NEW).verify(BODY + b" ", headers)


def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new() -> None:
    during = headers_for([NEW, OLD])
    assert len(during["webhook-signature"].split(" ")) == 2
    Webhook(NEW).verify(BODY, during)
    Webhook(OLD).verify(BODY, during)
    after = headers_for([NEW])
    Webhook(NEW).verify(BODY, after)
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD).verify(BODY, after)


def test_a_stale_timestamp_fails_verification() -> None:
    keys = signing_keys([NEW], None)
    assert keys is not None
    headers = keys.headers("alert-1", BODY, now=time.time() - 600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(NEW).verify(BODY, headers)


def test_the_older_single_secret_keeps_signing_both_header_sets() -> None:
    headers = headers_for([], "legacy-secret")
    Webhook(b"legacy-secret").verify(BODY, headers)
    Webhook(encode_secret(b"legacy-secret")).verify(BODY, headers)
    assert headers[EVENT_ID_HEADER] == "alert-1"
    assert verify_signature(
        b"legacy-secret",
        headers[TIMESTAMP_HEADER],
        BODY,
        headers[SIGNATURE_HEADER],
        now=time.time(),
    )


def test_with_new_secrets_the_older_one_stays_as_the_oldest_key() -> None:
    headers = headers_for([NEW], "legacy-secret")
    Webhook(NEW).verify(BODY, headers)
    Webhook(b"legacy-secret").verify(BODY, headers)
    # The deprecated header keeps the key its receivers hold.
    assert verify_signature(
        b"legacy-secret",
        headers[TIMESTAMP_HEADER],
        BODY,
        headers[SIGNATURE_HEADER],
        now=time.time(),
    )


def test_without_the_older_secret_the_deprecated_header_uses_the_newest_key() -> None:
    headers = headers_for([NEW, OLD])
    assert verify_signature(
        b"n" * 32, headers[TIMESTAMP_HEADER], BODY, headers[SIGNATURE_HEADER], now=time.time()
    )


def test_no_secret_means_no_signing_keys() -> None:
    assert signing_keys([], None) is None
    assert signing_keys([], "") is None


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("bm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5u", "must start with 'whsec_'"),
        ("whsec_not base64!", "not valid base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "5 bytes; it must be 24 to 64"),
        ("whsec_" + base64.b64encode(b"k" * 65).decode(), "65 bytes"),
    ],
)
def test_a_malformed_secret_is_refused_naming_its_position(secret: str, problem: str) -> None:
    with pytest.raises(ValueError, match=r"NOTIFY_WEBHOOK_SECRETS\[1\]") as raised:
        signing_keys([NEW, secret], None)
    assert problem in str(raised.value)


def test_unpadded_base64_is_accepted_as_the_package_does() -> None:
    unpadded = NEW.rstrip("=")
    headers = headers_for([unpadded])
    Webhook(NEW).verify(BODY, headers)


def test_a_whsec_secret_in_the_older_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="set it in NOTIFY_WEBHOOK_SECRETS"):
        signing_keys([], NEW)
