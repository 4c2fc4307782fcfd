"""Bearer tokens: random secrets handed to agencies, stored only as SHA-256 hashes in settings."""

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
        raise web.HTTPUnauthorized(
            text=json.dumps(
                {"error": {"status": 401, "message": "a valid bearer token is required"}}
            ),
            content_type="application/json",
            headers={"WWW-Authenticate": f'Bearer realm="{realm}"'},
        )
    return principal
