"""Routing settings (environment prefix `ROUTING_`)."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.common.settings import CommonSettings


class RoutingSettings(CommonSettings):
    """Everything routing reads from the environment, with defaults that work on localhost."""

    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

    port: int = Field(default=8081, ge=0, le=65535)
    mongo_db: str = "routing"
    policy_path: Path | None = Field(
        default=None, description="Routing policy TOML file (the packaged default when unset)."
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
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs console sessions; random per process when unset (restarts sign out).",
    )
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    cookie_secure: bool = Field(
        default=False, description="Mark console cookies Secure (set it behind HTTPS)."
    )
