"""An SMTP server for tests (aiosmtpd): keeps every message, can refuse the first few."""

from __future__ import annotations

import email
import email.message
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller

from services.common.embedded import free_port


class SmtpInbox:
    """An aiosmtpd handler keeping every message; refuses the first `refusals` with 451."""

    def __init__(self, refusals: int = 0) -> None:
        self.refusals = refusals
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals > 0:
            self.refusals -= 1
            return "451 4.3.0 try again later"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@contextmanager
def smtp_server(refusals: int = 0) -> Iterator[tuple[SmtpInbox, int]]:
    """A running SMTP server on 127.0.0.1: its inbox and port."""
    inbox = SmtpInbox(refusals=refusals)
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()
