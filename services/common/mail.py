"""Sending e-mail over SMTP: where to send it and one delivery attempt, shared by the services."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib


class MailError(Exception):
    """An attempt failed; `permanent` ones (5xx answers) are not retried. Its text names the
    SMTP codes only: never an address, nor the server's words (which often quote it)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


# What a coded SMTP answer refused, named without the server's text.
RESPONSE_KINDS: dict[type[Exception], str] = {
    aiosmtplib.SMTPRecipientRefused: "recipient refused",
    aiosmtplib.SMTPSenderRefused: "sender refused",
    aiosmtplib.SMTPDataError: "message refused",
    aiosmtplib.SMTPAuthenticationError: "authentication refused",
    aiosmtplib.SMTPHeloError: "greeting refused",
    aiosmtplib.SMTPConnectResponseError: "connection refused",
}


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
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = sorted({refused.code for refused in exc.recipients})
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        shown = ", ".join(map(str, codes))
        raise MailError(f"SMTP {shown} (recipient refused)", permanent=permanent) from exc
    except aiosmtplib.SMTPResponseException as exc:
        what = RESPONSE_KINDS.get(type(exc), "refused")
        raise MailError(f"SMTP {exc.code} ({what})", permanent=500 <= exc.code < 600) from exc
    except aiosmtplib.SMTPException as exc:
        raise MailError(type(exc).__name__) from exc
    except (OSError, TimeoutError) as exc:  # about the server (host, port), not the recipient
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
