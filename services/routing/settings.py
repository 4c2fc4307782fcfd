"""Routing settings (environment prefix `ROUTING_`)."""

from pathlib import Path

from pydantic import Field
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
        description="JSON object: SHA-256 hex of a bearer token -> agency id or 'supervisor'.",
    )
