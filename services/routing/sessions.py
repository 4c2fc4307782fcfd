"""Console sessions: a signed, expiring cookie naming the principal and the token it signed in with.

The cookie holds no secret: `principal|token hash|expiry`, signed with HMAC-SHA256. A session
ends at its expiry, on sign-out (the cookie is dropped), or as soon as its token is no longer
in `ROUTING_TOKENS`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from services.common.auth import hash_token, principal_for
from services.common.csrf import equal_secrets
from services.routing.people import Person

SESSION_COOKIE = "console_session"


@dataclass(frozen=True)
class Session:
    """Who is signed in, and the value their forms' CSRF tokens are bound to."""

    principal: str
    cookie: str
    person: Person | None = None


class Sessions:
    """Issues and checks session cookies and the CSRF tokens bound to them."""

    def __init__(self, secret: str | None, tokens: dict[str, str], lifetime_seconds: float) -> None:
        self.key = (secret or secrets.token_hex(32)).encode()
        self.tokens = tokens
        self.lifetime = lifetime_seconds

    def sign_in(self, token: str, *, now: float | None = None) -> tuple[str, str] | None:
        """(principal, cookie value) for a valid bearer token, else None."""
        principal = principal_for(token, self.tokens)
        if principal is None:
            return None
        expires = int((now or time.time()) + self.lifetime)
        payload = f"{principal}|{hash_token(token)}|{expires}"
        return principal, f"{_b64(payload.encode())}.{self._mac(payload)}"

    def check(self, cookie: str | None, *, now: float | None = None) -> Session | None:
        """The session a cookie carries, if it is genuine, unexpired and its token still valid."""
        if not cookie or "." not in cookie:
            return None
        encoded, mac = cookie.rsplit(".", 1)
        try:
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
            principal, token_hash, expires = payload.split("|")
            expired = int(expires) < (now or time.time())
        except (ValueError, UnicodeDecodeError):
            return None
        genuine = equal_secrets(self._mac(payload), mac)
        if not genuine or expired or self.tokens.get(token_hash) != principal:
            return None
        return Session(principal, cookie)

    def csrf_token(self, session: Session) -> str:
        """The token every form of this session carries."""
        return self._mac(f"csrf|{session.cookie}")

    def csrf_valid(self, session: Session, token: str | None) -> bool:
        """True when a submitted form's token belongs to this session."""
        return equal_secrets(self.csrf_token(session), token)

    def _mac(self, text: str) -> str:
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
