"""Routing settings (environment prefix `ROUTING_`)."""

from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import SettingsConfigDict

from services.common import signedlinks
from services.common.sealing import ContactKeySettings
from services.common.settings import mongo_url_setting
from services.common.signedlinks import MIN_SECRET_LENGTH, SECRET_SETTING

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _web_address(value: str, field: str) -> str:
    """An http(s) address without a trailing slash; plain http only on this machine."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query:
        raise ValueError(f"{field} must be an https:// address, got {value!r}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"{field} must use https:// (http only on 127.0.0.1), got {value!r}")
    return value.rstrip("/")


class OidcProvider(BaseModel):
    """An agency's OpenID Connect provider the console accepts sign-ins from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$", description="In the sign-in URL.")
    issuer: str = Field(description="Exactly the `iss` of its ID tokens.")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr = Field(min_length=1)
    token_auth: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    agency: str | None = Field(
        default=None, description="Everyone from this provider works for it (officer or lead)."
    )
    allowed_roles: tuple[Literal["officer", "lead", "supervisor", "auditor", "admin"], ...] = Field(
        default=("officer", "lead"),
        min_length=1,
        description="The roles this provider may grant; supervisor, auditor and admin only "
        "when listed.",
    )
    role_claim: str = "incidents_role"
    agency_claim: str = "incidents_agency"
    scope_agencies_claim: str = "incidents_scope_agencies"
    scope_provinces_claim: str = "incidents_scope_provinces"
    label_vi: str | None = None
    label_en: str | None = None

    @field_validator("issuer")
    @classmethod
    def _issuer_is_a_web_address(cls, issuer: str) -> str:
        _web_address(issuer, "issuer")
        return issuer  # kept exactly: it is compared with the tokens' `iss`


class RoutingSettings(ContactKeySettings):
    """Everything routing reads from the environment, with defaults that work on localhost."""

    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

    mongo_url: str = mongo_url_setting("routing")
    port: int = Field(default=8081, ge=0, le=65535)
    mongo_db: str = "routing"
    policy_path: Path | None = Field(
        default=None, description="Routing policy TOML file (the packaged default when unset)."
    )
    calendars_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("CALENDARS_FILE", "calendars_file"),
        description="Business calendars TOML file, shared with notify (env CALENDARS_FILE, "
        "unprefixed; the packaged services/common/calendars.toml when unset).",
    )
    tokens: dict[str, str] = Field(
        default_factory=dict,
        description="Bootstrap (legacy) bearer tokens with every scope, for the agency API "
        "only: JSON object, SHA-256 hex of a token -> agency id or 'supervisor'. Agencies' "
        "systems use API keys (`incidents-admin keys`) instead.",
    )
    api_key_cache_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="How long a replica trusts a looked-up API key: a key revoked on another "
        "replica stops working here within this many seconds.",
    )
    evidence_link_secret: SecretStr | None = Field(
        default=None,
        min_length=MIN_SECRET_LENGTH,
        validation_alias=AliasChoices(SECRET_SETTING, "evidence_link_secret"),
        description="Signs links to evidence files (the same value as intake's); unset: files "
        "are listed without links. Required when listening beyond this machine.",
    )
    intake_public_url: str = Field(
        default="http://127.0.0.1:8080", description="Where agencies reach intake's files."
    )
    evidence_link_seconds: int = Field(
        default=signedlinks.DEFAULT_LINK_SECONDS,
        ge=30,
        le=signedlinks.MAX_LINK_SECONDS,
        description="How long an evidence link works.",
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs the console's sign-in form tokens; random per process when unset "
        "(set the same value on every replica).",
    )
    session_hours: float = Field(
        default=10.0, gt=0, le=24 * 30, description="A console session's absolute lifetime."
    )
    session_idle_minutes: float = Field(
        default=30.0,
        gt=0,
        le=24 * 60,
        description="A console session ends after this long without a request.",
    )
    cookie_secure: bool = Field(
        default=False, description="Mark console cookies Secure (set it behind HTTPS)."
    )
    login_per_minute: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="Sign-in attempts (POST /console/login) one client address may make per "
        "minute; more are answered 429 with Retry-After.",
    )
    oidc_providers: list[OidcProvider] = Field(
        default_factory=list,
        description="OpenID Connect providers staff may sign in with: JSON list of objects "
        "(name, issuer, client_id, client_secret, agency, role_claim, ...).",
    )
    public_url: str | None = Field(
        default=None,
        description="The console's public address (https://routing.example.gov.vn), for the "
        "OpenID Connect redirect URI; unset: taken from each request's Host.",
    )

    @field_validator("oidc_providers")
    @classmethod
    def _oidc_names_unique(cls, providers: list[OidcProvider]) -> list[OidcProvider]:
        names = [provider.name for provider in providers]
        if len(set(names)) != len(names):
            raise ValueError(f"provider names must be unique, got {names}")
        return providers

    @field_validator("public_url")
    @classmethod
    def _public_url_is_a_web_address(cls, url: str | None) -> str | None:
        return None if url is None else _web_address(url, "public_url")

    @model_validator(mode="after")
    def _evidence_secret_off_this_machine(self) -> Self:
        secret = self.evidence_link_secret
        signedlinks.check_secret_setting(secret.get_secret_value() if secret else None, self.host)
        return self
