"""A message that fails validation is dead-lettered with a reason naming the fields only: the
values (a reporter's contact among them) stay out of the log."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from services.common.amqp import Consumer

ADDRESS = "nguyen.van.a@example.vn"


class Channel:
    """The channel a message came on (the consumer keeps what it settled of each)."""


async def test_the_dead_letter_reason_leaves_out_the_invalid_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rejected: list[bool] = []

    async def reject(*, requeue: bool) -> None:
        rejected.append(requeue)

    body = {"type": "report.submitted", "report_id": {"email": ADDRESS}, "contact": ADDRESS}
    message: Any = SimpleNamespace(
        body=json.dumps(body).encode(),
        message_id="m-1",
        headers={},
        reject=reject,
        channel=Channel(),
        delivery_tag=1,
    )
    consumer = Consumer(SimpleNamespace(name="test-queue"), {})  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="services.common.amqp"):
        await consumer._process(message)
    assert rejected == [False]
    (record,) = [r for r in caplog.records if r.getMessage() == "poison message dead-lettered"]
    reason: str = record.reason  # type: ignore[attr-defined]
    assert "report_id" in reason and "nguyen" not in reason and "example.vn" not in reason
