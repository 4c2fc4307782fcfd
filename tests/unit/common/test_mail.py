"""A failed SMTP attempt is described by its codes only: never the recipient's address, nor
the server's text quoting it; a refusal of every recipient with 5xx codes is permanent."""

from __future__ import annotations

from typing import Any

import aiosmtplib
import pytest

from services.common.mail import MailError, MailServer, plain_message, send_mail

SERVER = MailServer(host="smtp.invalid", port=25, sender="noreply@example.org")
ADDRESS = "nguyen.van.a@example.vn"


async def _error_of(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> MailError:
    async def refuse(*args: Any, **kwargs: Any) -> None:
        raise exc

    monkeypatch.setattr(aiosmtplib, "send", refuse)
    with pytest.raises(MailError) as caught:
        await send_mail(SERVER, plain_message(SERVER.sender, ADDRESS, "s", "b"))
    return caught.value


def _refused(code: int) -> aiosmtplib.SMTPRecipientRefused:
    return aiosmtplib.SMTPRecipientRefused(code, f"<{ADDRESS}>: Recipient rejected", ADDRESS)


@pytest.mark.parametrize(
    ("codes", "permanent"),
    [((550,), True), ((550, 553), True), ((450,), False), ((550, 451), False)],
)
async def test_a_refused_recipient_is_named_by_codes_only(
    monkeypatch: pytest.MonkeyPatch, codes: tuple[int, ...], permanent: bool
) -> None:
    error = await _error_of(
        monkeypatch, aiosmtplib.SMTPRecipientsRefused(list(map(_refused, codes)))
    )
    assert "nguyen" not in str(error) and "example.vn" not in str(error)
    assert str(error).startswith("SMTP ") and "recipient refused" in str(error)
    assert error.permanent is permanent


async def test_a_coded_answer_leaves_out_the_servers_text(monkeypatch: pytest.MonkeyPatch) -> None:
    error = await _error_of(monkeypatch, _refused(551))
    assert str(error) == "SMTP 551 (recipient refused)" and error.permanent
    data = aiosmtplib.SMTPDataError(452, f"mailbox {ADDRESS} full")
    error = await _error_of(monkeypatch, data)
    assert str(error) == "SMTP 452 (message refused)" and not error.permanent
