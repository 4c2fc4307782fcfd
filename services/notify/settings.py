"""Notify settings (environment prefix `NOTIFY_`)."""

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.common.settings import CommonSettings, mongo_url_setting


class NotifySettings(CommonSettings):
    """Everything notify reads from the environment, with defaults that work on localhost."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    mongo_url: str = mongo_url_setting("notify")
    port: int = Field(default=8082, ge=0, le=65535)
    mongo_db: str = "notify"
    policy_path: Path | None = Field(
        default=None, description="Escalation policy TOML file (the packaged default when unset)."
    )
    calendars_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("CALENDARS_FILE", "calendars_file"),
        description="Business calendars TOML file, shared with routing (env CALENDARS_FILE,"
        " unprefixed; the packaged services/common/calendars.toml when unset).",
    )
    scan_interval_seconds: float = Field(
        default=1.0, gt=0, le=1.0, description="Longest pause between two deadline scans."
    )
    scan_batch: int = Field(default=500, ge=1, le=10000)
    supervisor_tokens: list[str] = Field(
        default_factory=list,
        description="JSON list: SHA-256 hex of each bearer token allowed to read the alert log.",
    )
    webhook_secrets: list[SecretStr] = Field(
        default_factory=list,
        description="JSON list of Standard Webhooks secrets (`whsec_<base64>`), newest first:"
        " every alert is signed with each, so receivers keep verifying during a rotation.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Older single secret (its UTF-8 bytes are the HMAC key); still honoured,"
        " as the oldest key, when NOTIFY_WEBHOOK_SECRETS is also set.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Time limit of one webhook or PagerDuty request."
    )
    delivery_give_up_seconds: float = Field(
        default=3600.0, gt=0, description="Retry a failing webhook or e-mail for this long."
    )
    delivery_batch: int = Field(
        default=200, ge=1, le=1000, description="Alerts the deliverer leases in one round."
    )
    delivery_concurrency: int = Field(
        default=64, ge=1, le=1000, description="Alert deliveries sent at once."
    )
    delivery_per_host: int = Field(
        default=16, ge=1, le=1000, description="Of those, at most this many to any one host."
    )
    closed_deadline_retention_days: float = Field(
        default=30.0,
        gt=0,
        description="A closed case's deadline is compacted (id, version, status kept) this long"
        " after its last change.",
    )
    alert_retention_days: float = Field(
        default=90.0,
        gt=0,
        description="Delete an alert with nothing left to deliver this long after recording it.",
    )
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_max_seconds: float = Field(default=300.0, gt=0)
    smtp_host: str = Field(default="", description="SMTP server; e-mail alerts are off when empty.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "canh-bao@example.gov.vn"
    smtp_timeout_seconds: float = Field(default=20.0, gt=0)
    case_url: str = Field(
        default="http://127.0.0.1:8081/console/cases/{case_id}",
        description="Link to a case put in alerts; `{case_id}` is replaced.",
    )
