"""CSRF protection for HTML forms: double-submit tokens bound to an HttpOnly cookie nonce."""

from __future__ import annotations

import hashlib
import hmac
import secrets

CSRF_COOKIE = "csrf_nonce"


class CsrfTokens:
    """Double-submit tokens: a random nonce in an HttpOnly cookie, its HMAC in the form."""

    def __init__(self, secret: str | None) -> None:
        self.key = (secret or secrets.token_hex(32)).encode()

    @staticmethod
    def new_nonce() -> str:
        """A fresh cookie value."""
        return secrets.token_urlsafe(24)

    def token_for(self, nonce: str) -> str:
        """The form token that goes with a cookie nonce."""
        return hmac.new(self.key, nonce.encode(), hashlib.sha256).hexdigest()

    def valid(self, nonce: str | None, token: str | None) -> bool:
        """True when the form token matches the cookie's nonce."""
        if not nonce or not token or not nonce.isascii():
            return False
        return equal_secrets(self.token_for(nonce), token)


def equal_secrets(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a secret with what a client sent; anything not ASCII (which
    `hmac.compare_digest` refuses to compare as text) is simply not equal."""
    if not given or not given.isascii():
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
