"""An OpenID Connect provider for tests, on 127.0.0.1 and a free port.

Discovery, its public keys (RSA, generated per run), `/authorize` (approves the configured user
at once and redirects back with a code, keeping the state and nonce) and `/token` (checks the
client's credentials, the code, the PKCE verifier and the redirect URI; answers with an ID
token signed with joserfc). A test can make it misbehave through `misbehave`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlencode

from aiohttp import hdrs, web
from aiohttp.test_utils import TestServer
from joserfc import jwt
from joserfc.jwk import KeyParameters, RSAKey

CLIENT_ID = "incidents-console"
CLIENT_SECRET = "test-client-secret-0123456789"


@dataclass
class Misbehaviour:
    """What the provider gets wrong, when a test asks."""

    error: str | None = None  # /authorize redirects back with this `error`
    audience: str | None = None  # the ID token's `aud` (its `azp` stays this client)
    expired: bool = False  # the ID token expired two minutes ago
    foreign_key: bool = False  # signed with a key it does not publish (same key id)
    nonce: str | None = None  # the ID token's `nonce`
    issuer: str | None = None  # the ID token's `iss`
    token_status: int | None = None  # the token endpoint fails with this status


@dataclass
class Grant:
    """An issued authorization code and what it was issued for."""

    redirect_uri: str
    nonce: str
    challenge: str
    claims: dict[str, Any]


@dataclass
class TestIdentityProvider:
    """The provider; `user` holds the claims of whoever signs in next."""

    __test__ = False  # not a pytest test class

    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    user: dict[str, Any] = field(default_factory=dict)
    redirect_uris: set[str] = field(default_factory=set)
    misbehave: Misbehaviour = field(default_factory=Misbehaviour)
    requests: dict[str, int] = field(default_factory=dict)  # path -> count
    client_auth: list[str] = field(default_factory=list)  # how the client authenticated
    issuer: str = ""
    _keys: list[RSAKey] = field(default_factory=list)
    _codes: dict[str, Grant] = field(default_factory=dict)
    _server: TestServer | None = None

    async def start(self) -> None:
        """Listen on 127.0.0.1 (a free port); `issuer` is then its address."""
        self.rotate_key()
        app = web.Application(middlewares=[self._count])
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/jwks", self._jwks)
        app.router.add_get("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        self.issuer = str(self._server.make_url("")).rstrip("/")

    async def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            await self._server.close()

    def rotate_key(self) -> None:
        """Sign from now on with a new key (new key id), publishing it beside the old ones."""
        kid = f"key-{len(self._keys) + 1}"
        params: KeyParameters = {"kid": kid, "use": "sig", "alg": "RS256"}
        self._keys.append(RSAKey.generate_key(2048, parameters=params))

    @web.middleware
    async def _count(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests[request.path] = self.requests.get(request.path, 0) + 1
        response: web.StreamResponse = await handler(request)
        return response

    async def _discovery(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
            }
        )

    async def _jwks(self, request: web.Request) -> web.Response:
        return web.json_response({"keys": [key.as_dict(private=False) for key in self._keys]})

    async def _authorize(self, request: web.Request) -> web.Response:
        q = request.query
        redirect_uri = q.get("redirect_uri", "")
        if q.get("client_id") != self.client_id or redirect_uri not in self.redirect_uris:
            return web.json_response({"error": "invalid_request"}, status=400)
        problems = [
            q.get("response_type") != "code",
            "openid" not in q.get("scope", "").split(),
            q.get("code_challenge_method") != "S256",
            not q.get("code_challenge"),
            not q.get("state"),
            not q.get("nonce"),
        ]
        back: dict[str, str] = {"state": q.get("state", "")}
        if any(problems):
            back["error"] = "invalid_request"
        elif self.misbehave.error:
            back["error"] = self.misbehave.error
        else:
            code = secrets.token_urlsafe(24)
            self._codes[code] = Grant(
                redirect_uri, q["nonce"], q["code_challenge"], dict(self.user)
            )
            back["code"] = code
        raise web.HTTPFound(f"{redirect_uri}?{urlencode(back)}")

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if self.misbehave.token_status:
            return web.json_response({"error": "server_error"}, status=self.misbehave.token_status)
        if not self._client_authenticated(request, form):
            return web.json_response({"error": "invalid_client"}, status=401)
        grant = self._codes.pop(str(form.get("code", "")), None)  # a code works once
        verifier = str(form.get("code_verifier", ""))
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or form.get("redirect_uri") != grant.redirect_uri
            or _challenge(verifier) != grant.challenge
        ):
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self._id_token(grant),
            }
        )

    def _client_authenticated(self, request: web.Request, form: Any) -> bool:
        header = request.headers.get(hdrs.AUTHORIZATION)
        self.client_auth.append("client_secret_basic" if header else "client_secret_post")
        if header:  # RFC 6749 2.3.1: each part form-encoded, then Basic
            login, _, password = (
                base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
            )
            return (unquote_plus(login), unquote_plus(password)) == (
                self.client_id,
                self.client_secret,
            )
        return (form.get("client_id"), form.get("client_secret")) == (
            self.client_id,
            self.client_secret,
        )

    def _id_token(self, grant: Grant) -> str:
        bad = self.misbehave
        now = int(time.time())
        issued = now - 400 if bad.expired else now  # recent, but past its expiry (and leeway)
        claims = {
            "iss": bad.issuer or self.issuer,
            "aud": bad.audience or self.client_id,
            "azp": self.client_id,
            "iat": issued,
            "exp": now - 120 if bad.expired else now + 300,
            "auth_time": issued,
            "nonce": bad.nonce or grant.nonce,
            **grant.claims,
        }
        key = self._keys[-1]
        signing = RSAKey.generate_key(2048) if bad.foreign_key else key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, signing)


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
