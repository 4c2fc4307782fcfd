"""Standard Webhooks signatures as a receiver checks them, across a rotation of the secret."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.notify.settings import NotifySettings
from tests.helpers import post_endpoint, wait_until
from tests.integration.notify.conftest import (
    NEXT_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    Cases,
    short_policy,
    start_notify,
)

pytestmark = pytest.mark.integration

LEGACY_SECRET = "an-older-deployment's-secret"
# What the receiver knows: each secret it may hold, by name.
SECRETS: dict[str, str | bytes] = {
    "old": WEBHOOK_SECRET,
    "new": NEXT_WEBHOOK_SECRET,
    "legacy": LEGACY_SECRET.encode(),
}


@dataclass
class VerifyingReceiver:
    """Verifies every alert with `standardwebhooks.Webhook(secret).verify` for each secret it
    knows, keeping which of them verified it; answers 401 when none did."""

    alerts: list[tuple[dict[str, Any], set[str], str]] = field(default_factory=list)

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        verified: set[str] = set()
        payload: dict[str, Any] = {}
        for name, secret in SECRETS.items():
            try:
                payload = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified.add(name)
        self.alerts.append((payload, verified, headers["webhook-id"]))
        return web.Response(status=204 if verified else 401)

    def of_case(self, case_id: str) -> list[tuple[dict[str, Any], set[str], str]]:
        return [alert for alert in self.alerts if alert[0].get("case_id") == case_id]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[VerifyingReceiver, str]]:
    verifying = VerifyingReceiver()
    async with post_endpoint("/hook", verifying.receive) as url:
        yield verifying, url


def with_secrets(
    settings: NotifySettings, secrets: list[str], *, legacy: str | None = None
) -> NotifySettings:
    """The settings signing with `secrets` (newest first) and the older single secret."""
    return settings.model_copy(
        update={
            "webhook_secrets": [SecretStr(secret) for secret in secrets],
            "webhook_secret": SecretStr(legacy) if legacy is not None else None,
        }
    )


async def alerts_verified_by(
    settings: NotifySettings, cases: Cases, receiver: VerifyingReceiver, url: str
) -> list[set[str]]:
    """Run notify with `settings` until a new case's two webhook alerts (levels 1 and 2)
    arrive; which secrets verified each."""
    client = await start_notify(settings, short_policy(f'webhook = "{url}"'))
    try:
        case = await cases.assign(due_in=0.1)

        async def both_levels() -> bool:
            return len(receiver.of_case(case.case_id)) >= 2

        await wait_until(both_levels, timeout=20, what="two webhook alerts")
    finally:
        await client.close()
    arrived = receiver.of_case(case.case_id)
    assert sorted(payload["level"] for payload, _, _ in arrived) == [1, 2]
    assert len({webhook_id for _, _, webhook_id in arrived}) == 2
    return [verified for _, verified, _ in arrived]


async def test_alerts_verify_with_both_secrets_during_a_rotation_and_the_new_one_after(
    notify_settings: NotifySettings,
    cases: Cases,
    receiver: tuple[VerifyingReceiver, str],
) -> None:
    verifying, url = receiver
    before = with_secrets(notify_settings, [WEBHOOK_SECRET])
    during = with_secrets(notify_settings, [NEXT_WEBHOOK_SECRET, WEBHOOK_SECRET])
    after = with_secrets(notify_settings, [NEXT_WEBHOOK_SECRET])
    assert await alerts_verified_by(before, cases, verifying, url) == [{"old"}, {"old"}]
    assert await alerts_verified_by(during, cases, verifying, url) == [
        {"old", "new"},
        {"old", "new"},
    ]
    assert await alerts_verified_by(after, cases, verifying, url) == [{"new"}, {"new"}]


async def test_a_deployment_with_the_older_single_secret_keeps_sending_verifiable_alerts(
    notify_settings: NotifySettings,
    cases: Cases,
    receiver: tuple[VerifyingReceiver, str],
) -> None:
    verifying, url = receiver
    legacy = with_secrets(notify_settings, [], legacy=LEGACY_SECRET)
    assert await alerts_verified_by(legacy, cases, verifying, url) == [{"legacy"}, {"legacy"}]
    # Migrating: the new secret first, the older one still honoured as the oldest key.
    migrating = with_secrets(notify_settings, [NEXT_WEBHOOK_SECRET], legacy=LEGACY_SECRET)
    assert await alerts_verified_by(migrating, cases, verifying, url) == [
        {"new", "legacy"},
        {"new", "legacy"},
    ]
