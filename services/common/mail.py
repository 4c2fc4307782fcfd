"""Sending e-mail over SMTP: where to send it and one delivery attempt, shared by the services."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib


class MailError(Exception):
    """An attempt failed; `permanent` ones (5xx answers) are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class MailServer:
    """Where and how to send e-mail."""

    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 20.0


def plain_message(sender: str, recipient: str, subject: str, body: str) -> EmailMessage:
    """A plain-text UTF-8 message."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(body)
    return message


async def send_mail(server: MailServer, message: EmailMessage) -> None:
    """One SMTP delivery attempt; raises MailError when it did not succeed."""
    try:
        await aiosmtplib.send(
            message,
            hostname=server.host,
            port=server.port,
            start_tls=server.starttls,
            username=server.username,
            password=server.password,
            timeout=server.timeout_seconds,
        )
    except aiosmtplib.SMTPResponseException as exc:
        raise MailError(f"SMTP {exc.code}: {exc.message}", permanent=500 <= exc.code < 600) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
