"""Routing settings (environment prefix `ROUTING_`)."""

from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.common import signedlinks
from services.common.settings import CommonSettings
from services.common.signedlinks import MIN_SECRET_LENGTH, SECRET_SETTING


class RoutingSettings(CommonSettings):
    """Everything routing reads from the environment, with defaults that work on localhost."""

    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

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
        description="Bootstrap (legacy) bearer tokens with every scope, and the console's "
        "sign-in: JSON object, SHA-256 hex of a token -> agency id or 'supervisor'. Agencies' "
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
        description="Signs console sessions; random per process when unset (restarts sign out).",
    )
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    cookie_secure: bool = Field(
        default=False, description="Mark console cookies Secure (set it behind HTTPS)."
    )

    @model_validator(mode="after")
    def _evidence_secret_off_this_machine(self) -> Self:
        secret = self.evidence_link_secret
        signedlinks.check_secret_setting(secret.get_secret_value() if secret else None, self.host)
        return self
