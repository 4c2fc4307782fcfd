"""The system as separate processes, on the real broker and database, isolated by prefix."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.common.amqp import Topology
from services.common.auth import hash_token
from services.common.mongo import MongoDatabase, mongo_database
from services.common.processes import ServiceProcess
from services.notify.signing import encode_secret
from tests.helpers import ALWAYS_OPEN_CALENDARS_FILE, CONTACT_KEYS, EVIDENCE_LINK_SECRET

TOKENS = {
    "police": "e2e-police",
    "culture_office": "e2e-culture",
    "party_committee": "e2e-party",
    "supervisor": "e2e-super",
}

# Short deadlines so escalation is observable within seconds.
E2E_POLICY = """
version = "e2e-1"
[[agencies]]
id = "police"
name_vi = "Công an"
name_en = "Police"
default_deadline = "4s"
[[agencies]]
id = "culture_office"
name_vi = "Sở VHTT"
name_en = "Culture office"
default_deadline = "4s"
[[agencies]]
id = "party_committee"
name_vi = "UBKT"
name_en = "Party committee"
default_deadline = "4s"
[[rules]]
id = "scam"
category = "scam_fraud"
agency = "police"
priority = "high"
deadline = "8s"
resolve_within = "1h"
[[rules]]
id = "false-information"
category = "false_information"
agency = "culture_office"
deadline = "4s"
resolve_within = "1h"
[[rules]]
id = "misconduct"
category = "member_misconduct"
agency = "party_committee"
deadline = "4s"
[[rules]]
id = "hijacked-official"
category = "hijacked_account"
reporter_kind = "official"
agency = "police"
deadline = "1h"
resolve_within = "1h"
inform = ["party_committee"]
[[legal_bases]]
code = "nd147-2024-removal"
title_vi = "Nghị định 147/2024/NĐ-CP: gỡ bỏ thông tin vi phạm theo yêu cầu"
title_en = "Decree 147/2024/NĐ-CP: removal at an authority's request"
[[legal_bases]]
code = "khong-vi-pham"
title_vi = "Không có căn cứ xử lý"
title_en = "No grounds to act"
"""


WEBHOOK_SECRET = encode_secret(b"end-to-end-webhook-signing-key!!")

# Levels three seconds apart; the culture office's supervisor and the national supervisor
# also get signed webhooks (the receiver URL is appended by the fixture).
E2E_ESCALATION = """
version = "e2e-1"

[[levels]]
level = 1
after = "0s"
roles = ["agency_supervisor"]

[[levels]]
level = 2
after = "3s"
roles = ["agency_supervisor"]

[[levels]]
level = 3
after = "6s"
roles = ["national_supervisor"]

[[targets]]
id = "police-supervisor"
role = "agency_supervisor"
agency = "police"

[[targets]]
id = "party-supervisor"
role = "agency_supervisor"
agency = "party_committee"

[[targets]]
id = "culture-supervisor"
role = "agency_supervisor"
agency = "culture_office"
webhook = "{hook}"

[[targets]]
id = "national-supervisor"
role = "national_supervisor"
webhook = "{hook}"
"""


@dataclass
class WebhookReceiver:
    """A supervisor's webhook endpoint: keeps every alert and whether its signature held."""

    alerts: list[tuple[dict[str, Any], bool]] = field(default_factory=list)

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            Webhook(WEBHOOK_SECRET).verify(body, dict(request.headers))
        except WebhookVerificationError:
            valid = False
        else:
            valid = True
        self.alerts.append((json.loads(body), valid))
        return web.Response(status=204 if valid else 401)


def auth(principal: str) -> dict[str, str]:
    """The Authorization header of a principal."""
    return {"Authorization": f"Bearer {TOKENS[principal]}"}


@dataclass
class System:
    """The running services and how to reach their databases."""

    services: dict[str, ServiceProcess]
    mongo_url: str
    databases: dict[str, str]
    topology: Topology
    webhooks: WebhookReceiver
    extra: dict[str, Any] = field(default_factory=dict)

    def url(self, name: str) -> str:
        """A service's base URL."""
        return self.services[name].url

    def database(self, name: str) -> Any:
        """An async context manager yielding the service's database."""
        return mongo_database(self.mongo_url, self.databases[name], timeout_ms=5000)


def stop_all(
    services: dict[str, ServiceProcess], clean: tuple[int | None, ...] = (0, None)
) -> None:
    """Stop every service; fail naming each that exited otherwise, with the end of its log."""
    codes = {name: service.stop() for name, service in services.items()}
    unclean = [name for name, code in codes.items() if code not in clean]
    tails = "\n".join(f"--- {name}.log ---\n{services[name].log_tail()}" for name in unclean)
    assert not unclean, f"unclean exits: {codes}\n{tails}"


def system_env(
    amqp_url: str,
    mongo_url: str,
    topology: Topology,
    db_prefix: str,
    policy: Path,
    escalation: Path,
) -> dict[str, str]:
    """The environment every service process gets."""
    return {
        "AMQP_URL": amqp_url,
        "MONGO_URL": mongo_url,
        "TOPOLOGY_PREFIX": topology.prefix,
        "LOG_LEVEL": "INFO",
        "INTAKE_MONGO_DB": f"{db_prefix}_intake",
        "ROUTING_MONGO_DB": f"{db_prefix}_routing",
        "NOTIFY_MONGO_DB": f"{db_prefix}_notify",
        "INTAKE_RATE_LIMIT_PER_MINUTE": "100000",
        "INTAKE_RATE_LIMIT_BURST": "10000",
        "INTAKE_SUBMISSIONS_PER_MINUTE": "100000",
        "INTAKE_SUBMISSIONS_BURST": "10000",
        "INTAKE_REPORTS_PER_CONTENT_PER_MINUTE": "100000",
        "INTAKE_REPORTS_PER_CONTENT_BURST": "10000",
        "ROUTING_LOGIN_PER_MINUTE": "10000",  # the browser tests sign in many times from one address
        "INTAKE_OUTBOX_POLL_SECONDS": "0.2",
        "ROUTING_OUTBOX_POLL_SECONDS": "0.2",
        "ROUTING_POLICY_PATH": str(policy),
        "NOTIFY_OUTBOX_POLL_SECONDS": "0.2",
        "NOTIFY_POLICY_PATH": str(escalation),
        "NOTIFY_WEBHOOK_SECRETS": json.dumps([WEBHOOK_SECRET]),
        "EVIDENCE_LINK_SECRET": EVIDENCE_LINK_SECRET,
        "CONTACT_KEYS": CONTACT_KEYS,
        "NOTIFY_SUPERVISOR_TOKENS": json.dumps([hash_token(TOKENS["supervisor"])]),
        "NOTIFY_RETRY_BASE_SECONDS": "0.2",
        # Deadlines of seconds run out at any hour, on a Sunday too.
        "CALENDARS_FILE": str(ALWAYS_OPEN_CALENDARS_FILE),
        "ROUTING_TOKENS": "{"
        + ", ".join(f'"{hash_token(t)}": "{p}"' for p, t in TOKENS.items())
        + "}",
    }


@pytest.fixture
def system_extra_env() -> dict[str, str]:
    """Settings a test module adds to every service's environment (override the fixture)."""
    return {}


@pytest.fixture
async def system(
    amqp_url: str,
    mongo_url: str,
    topology: Topology,
    db_name: str,
    tmp_path: Path,
    system_extra_env: dict[str, str],
) -> AsyncIterator[System]:
    """intake, routing and notify running as processes, and a supervisor's webhook receiver."""
    receiver = WebhookReceiver()
    hooks = web.Application()
    hooks.router.add_post("/alerts", receiver.receive)
    hook_server = TestServer(hooks, host="127.0.0.1")
    await hook_server.start_server()
    policy = tmp_path / "policy.toml"
    policy.write_text(E2E_POLICY)
    escalation = tmp_path / "escalation.toml"
    escalation.write_text(E2E_ESCALATION.format(hook=hook_server.make_url("/alerts")))
    env = system_env(amqp_url, mongo_url, topology, db_name, policy, escalation)
    env.update(system_extra_env)
    names = ["intake", "routing", "notify"]
    services = {n: ServiceProcess(n, env, tmp_path) for n in names}
    env["ROUTING_INTAKE_PUBLIC_URL"] = services["intake"].url  # where evidence links point
    try:
        for service in services.values():
            service.start()
        for service in services.values():
            await service.ready()
        yield System(
            services,
            mongo_url,
            {n: f"{db_name}_{n}" for n in names},
            topology,
            receiver,
            {"env": env},
        )
    finally:
        await hook_server.close()
        stop_all(services, clean=(0, None, -9))


async def submit_json(session: aiohttp.ClientSession, system: System, body: dict[str, Any]) -> str:
    """Submit a report over the JSON API; return its tracking code."""
    async with session.post(f"{system.url('intake')}/api/v1/reports", json=body) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["tracking_code"])


async def reporter_status(
    session: aiohttp.ClientSession, system: System, code: str
) -> dict[str, Any]:
    """What the reporter sees."""
    async with session.get(f"{system.url('intake')}/api/v1/reports/{code}?lang=en") as response:
        body: dict[str, Any] = await response.json()
        return body


async def case_for(system: System, code: str) -> dict[str, Any] | None:
    """The routing case of a tracking code, if stored."""
    db: MongoDatabase
    async with system.database("routing") as db:
        return await db.cases.find_one({"tracking_code": code})
