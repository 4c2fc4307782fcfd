"""Fixtures running the intake app in-process against the real broker and database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.amqp import Topology
from services.common.mongo import MongoDatabase, mongo_database
from services.intake.app import create_app
from services.intake.security import RateLimiter
from services.intake.settings import IntakeSettings
from tests.helpers import CONTACT_KEYS, EVIDENCE_LINK_SECRET, start_client


@pytest.fixture
def intake_settings(
    amqp_url: str, mongo_url: str, topology: Topology, db_name: str
) -> IntakeSettings:
    return IntakeSettings(
        amqp_url=amqp_url,
        mongo_url=mongo_url,
        mongo_db=db_name,
        topology_prefix=topology.prefix,
        mongo_timeout_ms=3000,
        outbox_poll_seconds=0.2,
        csrf_secret="test-secret-0123456789",
        evidence_link_secret=EVIDENCE_LINK_SECRET,
        contact_keys=CONTACT_KEYS,
        # The global budget is tested on its own (test_edge.py); elsewhere it never sheds.
        submissions_per_minute=1e9,
        submissions_burst=1_000_000,
        # Likewise the per-content limit (test_content_limit.py): reports here share one URL.
        reports_per_content_per_minute=1e9,
        reports_per_content_burst=1_000_000,
    )


async def start_intake(settings: IntakeSettings, **kwargs: Any) -> TestClient[Any, Any]:
    """Start intake on a free port and wait until it is ready (broker connected)."""
    return await start_client(create_app(settings, **kwargs), what="intake")


@contextlib.asynccontextmanager
async def intake_mailing_to(
    settings: IntakeSettings, smtp_port: int, *, retry_seconds: float
) -> AsyncIterator[TestClient[Any, Any]]:
    """Intake sending decision e-mails to the test SMTP server on `smtp_port`, retrying a
    refused one after `retry_seconds`."""
    mailing = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "mail_retry_seconds": retry_seconds,
            "mail_poll_seconds": 0.1,
        }
    )
    client = await start_intake(mailing, rate_limiter=RateLimiter(per_minute=1e6, burst=10**5))
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def intake(intake_settings: IntakeSettings) -> AsyncIterator[TestClient[Any, Any]]:
    """A running intake with a generous rate limit."""
    client = await start_intake(
        intake_settings, rate_limiter=RateLimiter(per_minute=100_000, burst=10_000)
    )
    yield client
    await client.close()


@pytest.fixture
async def intake_db(intake_settings: IntakeSettings) -> AsyncIterator[MongoDatabase]:
    """The intake database, for assertions."""
    async with mongo_database(
        intake_settings.mongo_url, intake_settings.mongo_db, timeout_ms=5000
    ) as db:
        yield db


def valid_report(**overrides: Any) -> dict[str, Any]:
    """A JSON body that intake accepts."""
    body: dict[str, Any] = {
        "category": "scam_fraud",
        "content_urls": ["https://www.facebook.com/fake.lottery.page"],
        "platform": "facebook",
        "description": "Trang này hứa trúng thưởng xe máy và đòi phí nhận thưởng.",
        "province": "Hà Nội",
        "district": "Cầu Giấy",
        "reporter_kind": "citizen",
        "anonymous": False,
        "contact": {"name": "Nguyễn Văn A", "phone": "+84 912 345 678"},
    }
    body.update(overrides)
    return body
