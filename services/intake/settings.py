"""Intake settings (environment prefix `INTAKE_`)."""

from typing import Self

from pydantic import AliasChoices, Field, IPvAnyNetwork, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.common.sealing import ContactKeySettings
from services.common.settings import mongo_url_setting
from services.common.signedlinks import MIN_SECRET_LENGTH, SECRET_SETTING, check_secret_setting


class IntakeSettings(ContactKeySettings):
    """Everything intake reads from the environment, with defaults that work on localhost."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    mongo_url: str = mongo_url_setting("intake")
    port: int = Field(default=8080, ge=0, le=65535)
    mongo_db: str = "intake"
    public_url: str = "http://127.0.0.1:8080"
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    rate_limit_per_minute: float = Field(default=30.0, gt=0)
    rate_limit_burst: int = Field(default=10, ge=1)
    submissions_per_minute: float = Field(
        default=3000.0,
        gt=0,
        description="All clients together: submissions beyond this rate are refused with 429 "
        "while lookups keep working (a flood is shed, the service stays up).",
    )
    submissions_burst: int = Field(default=500, ge=1)
    reports_per_content_per_minute: float = Field(
        default=60.0,
        gt=0,
        description="Reports about one content (the canonical key of the first link) beyond "
        "this rate are refused with 429: it is already being handled; other content and "
        "lookups keep working.",
    )
    reports_per_content_burst: int = Field(
        default=60, ge=1, description="Reports about one content taken at once."
    )
    trusted_proxies: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="The proxies in front of intake (addresses or networks, a JSON list such as "
        '["10.0.0.0/8"]): behind them the client is the first untrusted hop from the right of '
        "X-Forwarded-For.",
    )
    trust_forwarded_for: bool = Field(
        default=False,
        description="Older setting: trust the immediate peer as the one proxy in front "
        "(its rightmost X-Forwarded-For entry is the client). Prefer trusted_proxies.",
    )
    commit_batch: int = Field(
        default=200, ge=1, le=1000, description="Most reports stored by one insert command."
    )
    commit_linger_seconds: float = Field(
        default=0.002, ge=0, le=0.1, description="How long a report waits for others to join."
    )
    idempotency_retention_days: float = Field(
        default=7.0, gt=0, description="Idempotency keys are cleared from reports this old."
    )
    sent_mail_retention_days: float = Field(
        default=7.0, gt=0, description="Finished decision e-mails are deleted this long after."
    )
    evidence_link_secret: SecretStr | None = Field(
        default=None,
        min_length=MIN_SECRET_LENGTH,
        validation_alias=AliasChoices(SECRET_SETTING, "evidence_link_secret"),
        description="Verifies the evidence links routing signs (the same value as routing's); "
        "unset: no link is accepted. Required when listening beyond this machine.",
    )
    csrf_secret: str | None = Field(
        default=None,
        min_length=16,
        description="Signs CSRF tokens; set the same value on every replica (random if unset).",
    )
    reporter_id_key: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Keys the pseudonymous reporter ids (HMAC-SHA256 of the contact or client "
        "address); same value on every replica. Unset: derived from csrf_secret, else random.",
    )

    smtp_host: str = Field(
        default="",
        description="SMTP server for the decision e-mails to reporters who left an address; "
        "empty: no e-mail is queued or sent.",
    )
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = Field(default="khong-tra-loi@example.gov.vn", min_length=3, max_length=254)
    smtp_timeout_seconds: float = Field(default=20.0, gt=0)
    mail_retry_seconds: float = Field(
        default=60.0, gt=0, description="Wait before the first retry of a failed e-mail; doubles."
    )
    mail_max_attempts: int = Field(default=8, ge=1, le=50)
    mail_poll_seconds: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _evidence_secret_off_this_machine(self) -> Self:
        secret = self.evidence_link_secret
        check_secret_setting(secret.get_secret_value() if secret else None, self.host)
        return self
