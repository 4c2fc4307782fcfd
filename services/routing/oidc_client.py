"""The console's OpenID Connect relying party: discovery, the authorization request (code flow,
PKCE S256, state, nonce), the code exchange and the ID token's validation.

One `RelyingParty` per configured provider, all sharing the app's aiohttp `ClientSession`. The
discovery document is cached for an hour and the provider's keys until an ID token names a key
id not among them (the provider rotated its keys): they are then fetched once more. The ID
token is verified with joserfc (the JOSE library Authlib builds on) and its claims with
Authlib's `CodeIDToken` (issuer, audience, expiry, issue time, nonce, authorized party).

A flow in progress (state, nonce, PKCE verifier, where to go after) lives in a short-lived
cookie, encrypted and authenticated with a key derived from the provider's client secret, so
that any replica can finish a sign-in another one started.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from authlib.oidc.core import CodeIDToken
from cryptography.fernet import Fernet, InvalidToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from pydantic import BaseModel, ConfigDict, ValidationError

from services.common.i18n import Language, localised
from services.routing.settings import OidcProvider

DISCOVERY_SECONDS = 3600
FLOW_SECONDS = 600  # from the redirect to the provider until the callback
LEEWAY_SECONDS = 60  # clock skew allowed on `exp` and `iat`
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)
# Asymmetric algorithms only: never `none`, never HS* (which would take the client secret as key).
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
SCOPE = "openid profile"
START_PATH = "/console/login/oidc/{name}"
SIGN_IN_WITH = localised("Sign in with %(provider)s")


def sign_in_options(providers: list[OidcProvider], lang: Language) -> list[tuple[str, str]]:
    """The sign-in page's buttons: (address, words) of each provider, in `lang`."""
    options = []
    for provider in providers:
        own = provider.label_vi if lang == "vi" else provider.label_en
        label = own or provider.label_en or provider.label_vi or provider.name
        words = SIGN_IN_WITH[lang] % {"provider": label}
        options.append((START_PATH.format(name=provider.name), words))
    return options


class SignInFailed(Exception):
    """A sign-in through a provider cannot go on; `reason` names the text the sign-in page
    shows, `detail` goes to the log only."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class ProviderMetadata(BaseModel):
    """What the relying party reads of the provider's discovery document."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    id_token_signing_alg_values_supported: list[str] = ["RS256"]


@dataclass(frozen=True)
class Flow:
    """One sign-in in progress: what the callback must find again."""

    provider: str
    state: str
    nonce: str
    verifier: str  # PKCE code verifier
    next_path: str | None = None

    @classmethod
    def start(cls, provider: str, next_path: str | None) -> Flow:
        """A new flow with fresh random state, nonce and verifier."""
        token = secrets.token_urlsafe
        return cls(provider, token(24), token(24), token(48), next_path)

    @property
    def challenge(self) -> str:
        """The PKCE S256 code challenge of the verifier."""
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class RelyingParty:
    """The console as a client of one OpenID Connect provider."""

    def __init__(
        self, provider: OidcProvider, http: aiohttp.ClientSession, now: Callable[[], datetime]
    ) -> None:
        self.provider = provider
        self.http = http
        self.now = now
        secret = provider.client_secret.get_secret_value().encode()
        key = hashlib.sha256(b"incidents console oidc flow\0" + secret).digest()
        self.sealer = Fernet(base64.urlsafe_b64encode(key))
        self._metadata: tuple[float, ProviderMetadata] | None = None
        self._keys: KeySet | None = None

    def seal(self, flow: Flow) -> str:
        """The flow as a cookie value: encrypted, authenticated, timestamped."""
        sealed = self.sealer.encrypt_at_time(json.dumps(asdict(flow)).encode(), self._epoch())
        return f"{self.provider.name}.{sealed.decode()}"

    def unseal(self, sealed: str) -> Flow | None:
        """The flow a cookie value holds, unless forged, of another provider or expired."""
        try:
            plain = self.sealer.decrypt_at_time(sealed, FLOW_SECONDS, self._epoch())
            flow = Flow(**json.loads(plain))
        except (InvalidToken, ValueError, TypeError):
            return None
        return flow if flow.provider == self.provider.name else None

    async def authorization_url(self, flow: Flow, redirect_uri: str, language: str) -> str:
        """Where to send the browser: the provider's authorization endpoint with the request."""
        metadata = await self.metadata()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.provider.client_id,
                "redirect_uri": redirect_uri,
                "scope": SCOPE,
                "state": flow.state,
                "nonce": flow.nonce,
                "code_challenge": flow.challenge,
                "code_challenge_method": "S256",
                "ui_locales": language,
            }
        )
        endpoint = metadata.authorization_endpoint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    async def id_claims(self, code: str, flow: Flow, redirect_uri: str) -> dict[str, Any]:
        """Exchange the code for tokens; the validated claims of the ID token."""
        id_token = await self._exchange(code, flow, redirect_uri)
        return await self._validated(id_token, flow.nonce)

    async def metadata(self) -> ProviderMetadata:
        """The provider's discovery document (cached), checked to be of the configured issuer."""
        cached = self._metadata
        if cached is not None and time.monotonic() - cached[0] < DISCOVERY_SECONDS:
            return cached[1]
        url = f"{self.provider.issuer.rstrip('/')}/.well-known/openid-configuration"
        try:
            metadata = ProviderMetadata.model_validate(await self._get_json(url))
        except ValidationError as exc:
            raise SignInFailed("provider_failed", f"discovery document: {exc}") from None
        if metadata.issuer != self.provider.issuer:
            raise SignInFailed("provider_failed", f"discovery names issuer {metadata.issuer!r}")
        self._metadata = (time.monotonic(), metadata)
        return metadata

    async def _exchange(self, code: str, flow: Flow, redirect_uri: str) -> str:
        """The ID token the token endpoint gives for the code (client_secret_basic or _post)."""
        provider = self.provider
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": flow.verifier,
        }
        secret = provider.client_secret.get_secret_value()
        headers = {}
        if provider.token_auth == "client_secret_post":
            form |= {"client_id": provider.client_id, "client_secret": secret}
        else:  # RFC 6749 2.3.1: each part form-encoded before Basic
            basic = aiohttp.encode_basic_auth(
                quote(provider.client_id, safe=""), quote(secret, safe="")
            )
            headers["Authorization"] = basic
        endpoint = (await self.metadata()).token_endpoint
        body = await self._request_json("POST", endpoint, data=form, headers=headers)
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise SignInFailed("provider_failed", "the token endpoint gave no id_token")
        return id_token

    async def _validated(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, times and nonce hold."""
        metadata = await self.metadata()
        allowed = [
            alg
            for alg in metadata.id_token_signing_alg_values_supported
            if alg in SIGNING_ALGORITHMS
        ]
        registry = JWSRegistry(algorithms=allowed or ["RS256"], strict_check_header=False)
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(), registry=registry)
            except InvalidKeyIdError:  # keys rotated since we fetched them: once more
                token = jwt.decode(id_token, await self._key_set(refresh=True), registry=registry)
            claims = CodeIDToken(
                token.claims,
                token.header,
                {
                    "iss": {"essential": True, "value": self.provider.issuer},
                    "aud": {"essential": True, "value": self.provider.client_id},
                    "nonce": {"essential": True},
                },
                {"nonce": nonce, "client_id": self.provider.client_id},
            )
            claims.validate(now=self._epoch(), leeway=LEEWAY_SECONDS)
        except (JoseError, ValueError) as exc:
            raise SignInFailed("bad_id_token", f"{type(exc).__name__}: {exc}") from None
        if claims["iat"] < self._epoch() - FLOW_SECONDS:
            raise SignInFailed("bad_id_token", "iat: issued too long ago")
        return dict(claims)

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        """The provider's public keys (cached; fetched again when `refresh`)."""
        if self._keys is None or refresh:
            document = await self._get_json((await self.metadata()).jwks_uri)
            try:
                self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except (JoseError, KeyError, TypeError, ValueError) as exc:
                raise SignInFailed("provider_failed", f"jwks: {exc}") from None
        return self._keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        return await self._request_json("GET", url)

    async def _request_json(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, **options: Any
    ) -> dict[str, Any]:
        """A JSON object from the provider; SignInFailed when it cannot be had."""
        headers = {"Accept": "application/json", **(headers or {})}
        try:
            async with self.http.request(
                method, url, headers=headers, timeout=HTTP_TIMEOUT, allow_redirects=False, **options
            ) as reply:
                if reply.status != 200:
                    detail = (await reply.text())[:200]
                    raise SignInFailed(
                        "provider_failed", f"{method} {url}: {reply.status} {detail}"
                    )
                body = await reply.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SignInFailed("provider_failed", f"{method} {url}: {exc!r}") from None
        if not isinstance(body, dict):
            raise SignInFailed("provider_failed", f"{method} {url}: not a JSON object")
        return body

    def _epoch(self) -> int:
        return int(self.now().timestamp())
