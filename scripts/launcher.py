"""Run the whole system on this machine: `./scripts/run [--demo]` (see the README).

Uses RabbitMQ at AMQP_URL (default localhost) and MongoDB at MONGO_URL or, when that is unset,
an embedded SecantusDB server per service whose data lives in `var/mongo/<service>` and survives
restarts. Starts intake, routing and notify as processes, prints their URLs, demo tokens and
console accounts, and stops everything (the embedded servers too) on Ctrl-C or when starting
fails. `--demo` uses deadlines of seconds, submits sample reports and prints each case's
assignment and escalations as they happen.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
from aiohttp import web
from demo.accounts import banner_lines, demo_accounts  # scripts/demo/accounts.py
from standardwebhooks import Webhook, WebhookVerificationError

from services.common.amqp import Topology, declare_exchanges
from services.common.auth import hash_token, new_token
from services.common.brokerpolicy import BrokerPolicies, BrokerPolicyError, ManagementEndpoint
from services.common.contracts import CaseAssigned, CaseEscalated, CaseUpdated, parse_event
from services.common.embedded import (
    SERVICES,
    EmbeddedMongo,
    distinct,
    free_port,
    holds_one_store,
    one_for_all,
    per_service,
)
from services.common.processes import ROOT, ServiceProcess
from services.common.sealing import new_key_line
from services.common.settings import mongo_url_variable, mongo_url_variables

PORTS = {"intake": 8080, "routing": 8081, "notify": 8082}
PRINCIPALS = ("police", "culture_office", "party_committee", "supervisor")
DEMO = Path(__file__).resolve().parent / "demo"
SAMPLES: list[dict[str, Any]] = [
    {
        "category": "scam_fraud",
        "content_urls": ["https://facebook.com/fake-bank-support"],
        "platform": "facebook",
        "description": "Trang giả danh ngân hàng yêu cầu chuyển tiền để 'mở khóa tài khoản'.",
        "province": "Đà Nẵng",
        "reporter_kind": "citizen",
        "anonymous": True,
    },
    {
        "category": "false_information",
        "content_urls": ["https://tiktok.com/@rumours/video/1"],
        "platform": "tiktok",
        "description": "Video lan truyền tin sai về việc đóng cửa trường học toàn thành phố.",
        "province": "Hà Nội",
        "reporter_kind": "official",
        "anonymous": False,
        "contact": {"name": "Nguyễn Văn A", "email": "a.nguyen@example.gov.vn"},
    },
    {
        "category": "member_misconduct",
        "content_urls": ["https://zalo.me/g/group-post-1"],
        "platform": "zalo",
        "description": "Đảng viên đăng bài xúc phạm người dân trong nhóm Zalo của phường.",
        "province": "Huế",
        "reporter_kind": "citizen",
        "anonymous": True,
    },
]


def say(message: str) -> None:
    """One line for the person at the terminal."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def demo_tokens(var: Path) -> dict[str, str]:
    """Bearer tokens per principal, made once and kept in var/demo-tokens.json."""
    path = var / "demo-tokens.json"
    if path.exists():
        tokens: dict[str, str] = json.loads(path.read_text())
        return tokens
    tokens = {principal: new_token() for principal in PRINCIPALS}
    path.write_text(json.dumps(tokens, indent=2))
    path.chmod(0o600)
    return tokens


def local_contact_keys(var: Path) -> str:
    """The key ring sealing reporters' contacts in this machine's runs (CONTACT_KEYS), made
    once and kept in var/contact-keys beside the data it seals."""
    path = var / "contact-keys"
    if not path.exists():
        path.write_text(new_key_line("local") + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def broker_reachable(url: str) -> bool:
    """True when the broker accepts a connection."""

    async def probe() -> bool:
        try:
            connection = await aio_pika.connect(url, timeout=5)
        except Exception:
            return False
        await connection.close()
        return True

    return asyncio.run(probe())


def management_problem(amqp_url: str) -> str | None:
    """Why the broker's management API (where queue policies are set) cannot be used, or None."""

    async def probe() -> str | None:
        endpoint = ManagementEndpoint.of(amqp_url, os.environ.get("RABBITMQ_MANAGEMENT_URL"))
        try:
            async with BrokerPolicies.open(endpoint, timeout=5) as client:
                await client.policies()
        except BrokerPolicyError as exc:
            return str(exc)
        return None

    return asyncio.run(probe())


def start_embedded(var: Path, services: list[str]) -> dict[str, EmbeddedMongo]:
    """The embedded database of each of `services`: a server each, in `var/mongo/<service>`; or,
    where `var/mongo` holds the files of an earlier version's one server, that server for all."""
    store, logs = var / "mongo", var / "logs"
    if not services:
        return {}
    if holds_one_store(store):
        shared = one_for_all(store, log_path=logs / "mongo.log", services=services)
        say(
            f"embedded MongoDB (SecantusDB) at {distinct(shared)[0].url}, data in {store}: an "
            "earlier version's files, so one server holds the services' databases"
        )
        return shared
    servers = per_service(store, log_dir=logs, services=services)
    for name, server in servers.items():
        say(f"embedded MongoDB (SecantusDB) for {name} at {server.url}, data in {store / name}")
    return servers


def service_env(
    args: argparse.Namespace,
    databases: dict[str, str],
    tokens: dict[str, str],
    var: Path,
    hook_port: int,
) -> dict[str, str]:
    """The environment the three services get (what the user set wins); `databases` names
    their MongoDB (`MONGO_URL`, or `<SERVICE>_MONGO_URL` for each embedded server)."""
    env = {
        "AMQP_URL": args.amqp_url,
        **databases,
        "ROUTING_TOKENS": json.dumps({hash_token(t): p for p, t in tokens.items()}),
        "NOTIFY_SUPERVISOR_TOKENS": json.dumps([hash_token(tokens["supervisor"])]),
        "NOTIFY_CASE_URL": "http://127.0.0.1:8081/console/cases/{case_id}",
        "INTAKE_PUBLIC_URL": "http://127.0.0.1:8080",
        "ROUTING_INTAKE_PUBLIC_URL": "http://127.0.0.1:8080",
        # Routing signs evidence links, intake checks them: one secret per run (links live minutes).
        "EVIDENCE_LINK_SECRET": secrets.token_urlsafe(32),
        # intake seals reporters' contacts, routing opens them: one key ring kept with the data.
        "CONTACT_KEYS": local_contact_keys(var),
    }
    if args.demo:
        policy = var / "demo-escalation.toml"
        policy.write_text(
            (DEMO / "escalation.toml").read_text()
            + "\n# Added by the launcher: its own receiver, which verifies signatures.\n"
            + '[[targets]]\nid = "national-supervisor"\nrole = "national_supervisor"\n'
            + f'webhook = "http://127.0.0.1:{hook_port}/alerts"\n'
        )
        env |= {
            "TOPOLOGY_PREFIX": "demo.",
            "INTAKE_MONGO_DB": "demo_intake",
            "ROUTING_MONGO_DB": "demo_routing",
            "NOTIFY_MONGO_DB": "demo_notify",
            "ROUTING_POLICY_PATH": str(DEMO / "routing.toml"),
            "NOTIFY_POLICY_PATH": str(policy),
            "CALENDARS_FILE": str(DEMO / "calendars.toml"),
            "NOTIFY_WEBHOOK_SECRETS": json.dumps([new_webhook_secret()]),
        }
    return {**env, **{k: v for k, v in os.environ.items() if k in env}}


async def watch(amqp_url: str, topology: Topology, stop: asyncio.Event) -> None:
    """Print every case event and escalation as it happens (demo)."""
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(await declare_exchanges(channel, topology), "case.#")

        async def show(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            event = parse_event(message.body)
            if isinstance(event, CaseAssigned):
                due = f", due {event.due_at:%H:%M:%S}" if event.due_at else ""
                say(f"case {event.tracking_code} assigned to {event.agency}{due}")
            elif isinstance(event, CaseUpdated):
                say(
                    f"case {event.tracking_code}: {event.action} by {event.actor} -> {event.status}"
                )
            elif isinstance(event, CaseEscalated):
                say(
                    f"case {event.tracking_code} ESCALATED level {event.level} "
                    f"({event.overdue_by_seconds:.0f} s overdue) to {', '.join(event.targets)}"
                )

        await queue.consume(show, no_ack=True)
        await stop.wait()


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def webhook_receiver(port: int, secret: str) -> web.AppRunner:
    """A local webhook endpoint that verifies each alert as a receiver would (demo)."""
    webhook = Webhook(secret)

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            webhook.verify(body, dict(request.headers))
            valid = True
        except WebhookVerificationError:
            valid = False
        alert = json.loads(body)
        say(
            f"webhook: level {alert['level']} alert for {alert['tracking_code']} "
            f"to {alert['target']}, signature {'valid' if valid else 'INVALID'}"
        )
        return web.Response(status=204 if valid else 401)

    app = web.Application()
    app.router.add_post("/alerts", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def submit_samples(intake_url: str) -> None:
    """Submit the sample reports through intake's JSON API."""
    async with aiohttp.ClientSession() as session:
        for sample in SAMPLES:
            async with session.post(f"{intake_url}/api/v1/reports", json=sample) as reply:
                body = await reply.json()
                if reply.status != 201:
                    say(f"sample report refused: {reply.status} {body}")
                    continue
                say(
                    f"report {body['tracking_code']} ({sample['category']}) submitted; "
                    f"status: {intake_url}/status/{body['tracking_code']}"
                )


async def supervise(
    args: argparse.Namespace, services: list[ServiceProcess], env: dict[str, str], hook_port: int
) -> int:
    """Wait for Ctrl-C or a crashed service; run the demo meanwhile."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    for service in services:
        await service.ready()
    print_banner(services, args)
    tasks: list[asyncio.Task[Any]] = []
    runner = None
    if args.demo:
        runner = await webhook_receiver(hook_port, json.loads(env["NOTIFY_WEBHOOK_SECRETS"])[0])
        topology = Topology(env.get("TOPOLOGY_PREFIX", ""))
        tasks.append(asyncio.create_task(watch(env["AMQP_URL"], topology, stop)))
        await asyncio.sleep(0.5)
        await submit_samples(services[0].url)
        say("nobody acknowledges these cases: watch them escalate level by level (Ctrl-C stops)")
    code = 0
    while not stop.is_set():
        crashed = [s for s in services if s.process and s.process.poll() is not None]
        if crashed:
            for service in crashed:
                exit_code = service.process.returncode if service.process else None
                say(f"{service.name} stopped (exit {exit_code}); last lines of {service.log_path}:")
                for line in service.log_path.read_text(errors="replace").splitlines()[-15:]:
                    print("    " + line)
            code = 1
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
    stop.set()
    for task in tasks:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=5)
    if runner is not None:
        await runner.cleanup()
    return code


def print_banner(services: list[ServiceProcess], args: argparse.Namespace) -> None:
    """Where everything is."""
    tokens = json.loads((args.var / "demo-tokens.json").read_text())
    urls = {s.name: s.url for s in services}
    admin = {s.name: s.admin_url for s in services}
    lines = [
        "",
        "The incident reporting system is running:",
        f"  report form (vi)    {urls['intake']}/          (English: {urls['intake']}/?lang=en)",
        f"  intake API          {urls['intake']}/api/v1/openapi.json",
        f"  agency console      {urls['routing']}/console/   (sign in with an account below)",
        f"  agency API          {urls['routing']}/api/v1/openapi.json",
        f"  alert log           {urls['notify']}/api/v1/alerts",
        f"  delivery log        {urls['notify']}/deliveries   (re-send; supervisor token)",
        f"  metrics             {admin['intake']}/metrics  {admin['routing']}/metrics  "
        f"{admin['notify']}/metrics   (admin listeners, also /readyz)",
        f"  logs                {args.var / 'logs'}/",
        "Demo bearer tokens (kept in var/demo-tokens.json):",
        *(f"  {principal:<16}    {token}" for principal, token in tokens.items()),
        f"  e.g. curl -H 'Authorization: Bearer {tokens['police']}' {urls['routing']}/api/v1/cases",
        *banner_lines(args.accounts),
        "Ctrl-C stops everything.",
        "",
    ]
    print("\n".join(lines), flush=True)


def main() -> int:
    """Start the database (if embedded), the services, and supervise them."""
    parser = argparse.ArgumentParser(description="Run the incident reporting system locally.")
    parser.add_argument("--demo", action="store_true", help="short deadlines and sample reports")
    parser.add_argument("--var", type=Path, default=ROOT / "var", help="data and logs directory")
    args = parser.parse_args()
    args.amqp_url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    (args.var / "logs").mkdir(parents=True, exist_ok=True)
    if not broker_reachable(args.amqp_url):
        print(
            f"RabbitMQ is not reachable at {args.amqp_url}.\n"
            "Start it with `rabbitmq-server -detached` (Debian package rabbitmq-server), "
            "or set AMQP_URL to a running broker.",
            file=sys.stderr,
        )
        return 1
    problem = management_problem(args.amqp_url)
    if problem:
        print(
            f"{problem}\nThe services set their queues' delivery limit and dead-lettering as "
            "policies through it; on this machine: `rabbitmq-plugins enable rabbitmq_management`.",
            file=sys.stderr,
        )
        return 1
    servers: dict[str, EmbeddedMongo] = {}
    services: list[ServiceProcess] = []
    mongo_url = os.environ.get("MONGO_URL")
    try:
        if not mongo_url:  # embedded, for each service not given a server of its own
            own = [s for s in SERVICES if not os.environ.get(mongo_url_variable(s))]
            servers = start_embedded(args.var, own)
        urls = {service: server.url for service, server in servers.items()}
        databases = {"MONGO_URL": mongo_url} if mongo_url else mongo_url_variables(urls)
        hook_port = free_port()
        env = service_env(args, databases, demo_tokens(args.var), args.var, hook_port)
        routing = mongo_url_variable("routing")
        routing_url = env.get(routing) or os.environ.get(routing) or env["MONGO_URL"]
        routing_db = env.get("ROUTING_MONGO_DB") or os.environ.get("ROUTING_MONGO_DB", "routing")
        args.accounts = demo_accounts(routing_url, routing_db, args.var / "demo-accounts.json")
        for name in SERVICES:
            service = ServiceProcess(
                name, env, args.var / "logs", port=PORTS[name], admin_port=PORTS[name] + 1000
            )
            services.append(service)
            service.start()
            say(f"{service.name} started (pid {service.pid}), log {service.log_path}")
        return asyncio.run(supervise(args, services, env, hook_port))
    except (TimeoutError, RuntimeError) as exc:
        say(f"could not start: {exc}")
        return 1
    finally:
        for service in reversed(services):
            service.stop()
        for server in distinct(servers):
            server.stop()
        say("stopped")


if __name__ == "__main__":
    sys.exit(main())
