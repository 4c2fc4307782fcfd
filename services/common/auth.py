"""Bearer tokens: random secrets handed to agencies, stored only as SHA-256 hashes.

The hashes live in settings (a service's bootstrap tokens) or in a service's own key store; this
module holds what both share: making and hashing tokens, reading the header, and the 401 and
403 answers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from aiohttp import web


def new_token() -> str:
    """A fresh random bearer token (256 bits)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored in settings (tokens are random, so a fast hash is enough)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def bearer_token(request: web.Request) -> str | None:
    """The token from `Authorization: Bearer ...`, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    # Tokens are URL-safe base64; a header with other characters carries no valid token.
    return token if scheme.lower() == "bearer" and token and token.isascii() else None


def principal_for(token: str | None, hashes: dict[str, str]) -> str | None:
    """The principal whose stored hash matches `token` (compared in constant time), or None."""
    if not token:
        return None
    digest = hash_token(token)
    for stored, principal in hashes.items():
        if hmac.compare_digest(stored, digest):
            return principal
    return None


def require_principal(request: web.Request, hashes: dict[str, str], *, realm: str) -> str:
    """The caller's principal; a JSON 401 with a Bearer challenge without a valid token."""
    principal = principal_for(bearer_token(request), hashes)
    if principal is None:
        raise unauthorized(realm)
    return principal


def unauthorized(realm: str) -> web.HTTPUnauthorized:
    """The JSON 401, with a Bearer challenge, for a request without a valid token."""
    return web.HTTPUnauthorized(
        text=json.dumps({"error": {"status": 401, "message": "a valid bearer token is required"}}),
        content_type="application/json",
        headers={"WWW-Authenticate": f'Bearer realm="{realm}"'},
    )


def forbidden_scope(scope: str, *, realm: str) -> web.HTTPForbidden:
    """The JSON 403 for a valid credential that lacks `scope` (named, as RFC 6750 does)."""
    message = f"this key lacks the scope {scope!r} that this request needs"
    return web.HTTPForbidden(
        text=json.dumps({"error": {"status": 403, "message": message, "missing_scope": scope}}),
        content_type="application/json",
        headers={
            "WWW-Authenticate": f'Bearer realm="{realm}", error="insufficient_scope", '
            f'scope="{scope}"'
        },
    )
