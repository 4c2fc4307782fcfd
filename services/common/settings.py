"""Settings shared by every service; each service subclasses with its own env prefix."""

import os
from collections.abc import Mapping
from typing import Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ADMIN_PORT_OFFSET = 1000
DEFAULT_MONGO_URL = "mongodb://127.0.0.1:27017/"


def mongo_url_variable(service: str) -> str:
    """The variable giving `service` a database server of its own: `INTAKE_MONGO_URL`, ..."""
    return f"{service.upper()}_MONGO_URL"


def mongo_url_variables(urls: Mapping[str, str]) -> dict[str, str]:
    """The environment giving each service (a key of `urls`) its server."""
    return {mongo_url_variable(service): url for service, url in urls.items()}


def shared_mongo_url() -> str:
    """The server shared by every service without one of its own: `MONGO_URL`, else the local
    default (an empty `MONGO_URL=`, as an env file leaves a variable it blanks, is unset)."""
    return os.environ.get("MONGO_URL") or DEFAULT_MONGO_URL


def mongo_url_setting(service: str) -> Any:
    """A service's database server: `<SERVICE>_MONGO_URL` (its own server), else `MONGO_URL`
    (one server for every service, each in its own database)."""
    own = mongo_url_variable(service)
    return Field(
        default=DEFAULT_MONGO_URL,
        validation_alias=AliasChoices(own, "MONGO_URL", "mongo_url"),
        description=f"This service's MongoDB; unset: MONGO_URL. Set `{own}` to give the "
        "service a server of its own.",
    )


class CommonSettings(BaseSettings):
    """Broker, database, topology and logging settings with defaults that work on localhost."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    amqp_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/",
        validation_alias=AliasChoices("AMQP_URL", "amqp_url"),
    )
    rabbitmq_management_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RABBITMQ_MANAGEMENT_URL", "rabbitmq_management_url"),
        description="RabbitMQ management API, where queue policies are set (when unset: the "
        "host and credentials of AMQP_URL, port 15672).",
    )
    mongo_url: str = Field(
        default=DEFAULT_MONGO_URL, validation_alias=AliasChoices("MONGO_URL", "mongo_url")
    )
    mongo_db: str = "incidents"
    mongo_timeout_ms: int = Field(default=5000, ge=100)
    topology_prefix: str = Field(
        default="",
        pattern=r"^[a-z0-9_.-]*$",
        validation_alias=AliasChoices("TOPOLOGY_PREFIX", "topology_prefix"),
        description="Prefix for every exchange and queue name (isolates test runs).",
    )
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    admin_host: str = Field(
        default="127.0.0.1",
        description="Where `/readyz`, `/healthz` and `/metrics` are served, apart from the "
        "public port (which answers 404 for `/readyz` and `/metrics`).",
    )
    admin_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="The admin listener's port; unset: `port` + 1000 (0 when `port` is 0).",
    )
    prefetch: int = Field(default=32, ge=1, le=1000)
    delivery_limit: int = Field(default=5, ge=1, le=100)
    outbox_batch: int = Field(default=200, ge=1, le=5000)
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    outbox_linger_seconds: float = Field(
        default=0.02, ge=0, le=1, description="After a wake-up, wait this long to batch more."
    )
    retention_interval_seconds: float = Field(
        default=3600.0,
        gt=0,
        validation_alias=AliasChoices("RETENTION_INTERVAL_SECONDS", "retention_interval_seconds"),
        description="How often a service removes what is past its retention (idempotency keys,"
        " closed deadlines, finished alerts).",
    )

    @field_validator("mongo_url", mode="before")
    @classmethod
    def _empty_url_is_unset(cls, url: object) -> object:
        """An empty `<SERVICE>_MONGO_URL=` or `MONGO_URL=` is unset, as the admin tools read it:
        the shared server, else the local default (rather than no server at all)."""
        return shared_mongo_url() if url == "" else url

    @property
    def admin_listener_port(self) -> int:
        """The admin listener's port: as set, else the public port + 1000 (any free port when
        the public one is any free port)."""
        if self.admin_port is not None:
            return self.admin_port
        return self.port + ADMIN_PORT_OFFSET if self.port else 0
