"""Fuzz the three services as processes: schemathesis over their OpenAPI documents, Hypothesis
over the HTML form and console (see `scripts/fuzz`). Exits non-zero on any failed check.

Runs against RabbitMQ at AMQP_URL (default localhost) and a fresh embedded SecantusDB, under a
topology prefix of its own whose queues and exchanges are deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aio_pika
import aiohttp

from services.admin.queues import declared_queues
from services.common.amqp import Topology, delete_topology
from services.common.auth import hash_token
from services.common.embedded import EmbeddedMongo
from services.common.processes import ROOT, ServiceProcess

TOKENS = {
    "police": "fuzz-police-token",
    "culture_office": "fuzz-culture-token",
    "party_committee": "fuzz-party-token",
    "supervisor": "fuzz-supervisor-token",
}
QUEUES = [
    *declared_queues(),
    "supervisor.alerts",
]
SEED_REPORT = {
    "category": "scam_fraud",
    "content_urls": ["https://www.facebook.com/fuzz.seed.page"],
    "platform": "facebook",
    "description": "Trang này hứa trúng thưởng và đòi phí nhận thưởng (dữ liệu mồi).",
    "anonymous": True,
}
HOOKS = "scripts.fuzz_hooks"


def say(message: str) -> None:
    """One progress line."""
    print(f"[fuzz {time.strftime('%H:%M:%S')}] {message}", flush=True)


def service_env(amqp_url: str, mongo_url: str, prefix: str) -> dict[str, str]:
    """The services' environment: own prefix and databases, known tokens, no rate limit."""
    run = prefix.strip(".").replace("-", "_")
    return {
        "AMQP_URL": amqp_url,
        "MONGO_URL": mongo_url,
        "TOPOLOGY_PREFIX": prefix,
        "INTAKE_MONGO_DB": f"{run}_intake",
        "ROUTING_MONGO_DB": f"{run}_routing",
        "NOTIFY_MONGO_DB": f"{run}_notify",
        "ROUTING_TOKENS": json.dumps({hash_token(t): p for p, t in TOKENS.items()}),
        "NOTIFY_SUPERVISOR_TOKENS": json.dumps([hash_token(TOKENS["supervisor"])]),
        # The fuzzer is one client sending thousands of requests: lift the per-client limit.
        "INTAKE_RATE_LIMIT_PER_MINUTE": "100000000",
        "INTAKE_RATE_LIMIT_BURST": "1000000",
        "INTAKE_SUBMISSIONS_PER_MINUTE": "100000000",
        "INTAKE_SUBMISSIONS_BURST": "1000000",
        "INTAKE_REPORTS_PER_CONTENT_PER_MINUTE": "100000000",
        "INTAKE_REPORTS_PER_CONTENT_BURST": "1000000",
        # ...and the console's sign-in throttle: the page fuzzer posts the sign-in form at will.
        "ROUTING_LOGIN_PER_MINUTE": "10000",
        "INTAKE_CSRF_SECRET": "fuzz-csrf-secret-0123456789",
        "ROUTING_SESSION_SECRET": "fuzz-session-secret-0123456789",
        "EVIDENCE_LINK_SECRET": "fuzz-evidence-link-secret-0123456789",
    }


async def seed(intake_url: str, routing_url: str) -> None:
    """A few reports, and wait for their cases, so stateful links reach real records."""
    async with aiohttp.ClientSession() as session:
        for n in range(3):
            body = {**SEED_REPORT, "content_urls": [f"https://www.facebook.com/fuzz.seed.{n}"]}
            async with session.post(f"{intake_url}/api/v1/reports", json=body) as reply:
                if reply.status != 201:
                    raise RuntimeError(f"seed report refused: {reply.status} {await reply.text()}")
        headers = {"Authorization": f"Bearer {TOKENS['supervisor']}"}
        for _ in range(100):
            async with session.get(f"{routing_url}/api/v1/cases", headers=headers) as reply:
                if reply.status == 200 and len((await reply.json())["cases"]) >= 3:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError("the seed reports never became cases")


def schemathesis(
    name: str, url: str, token: str | None, args: argparse.Namespace, work: Path
) -> int:
    """Run schemathesis (in `work`, where it keeps its state) over one service's document."""
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{url}/api/v1/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(args.examples),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        # One worker: with two, Hypothesis parses lambda sources (ast.parse) in two threads at
        # once, and CPython 3.11 (seen on 3.11.7) then fails now and then with "SystemError: AST
        # constructor recursion depth mismatch" (CPython gh-106905, met in threaded programs),
        # which schemathesis reports as a runtime error of the operation.
        "--workers",
        "1",
        "--seed",
        str(args.seed),
        "--suppress-health-check",
        "filter_too_much,too_slow",
        "--report",
        "junit",
        "--report-dir",
        str((args.reports / name).resolve()),
    ]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    say(f"schemathesis on {name}: {' '.join(command[1:])}")
    env = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": str(ROOT)}
    return subprocess.call(command, cwd=work, env=env)


def hypothesis_pages(
    urls: dict[str, str], args: argparse.Namespace, services: dict[str, str]
) -> int:
    """The Hypothesis tests of the HTML form and console; pytest's exit code."""
    env = {
        **os.environ,
        "FUZZ_INTAKE_URL": urls["intake"],
        "FUZZ_ROUTING_URL": urls["routing"],
        # where the console's fuzzing officer is made (it signs in as a person)
        "MONGO_URL": services["MONGO_URL"],
        "ROUTING_MONGO_DB": services["ROUTING_MONGO_DB"],
        "FUZZ_EXAMPLES": str(args.examples),
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/fuzz"]
    say("hypothesis on the form and console: " + " ".join(command[1:]))
    return subprocess.call(command, cwd=ROOT, env=env)


async def remove_topology(amqp_url: str, topology: Topology) -> None:
    """Delete the run's queues (and their dead-letter twins) and exchanges."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        await delete_topology(await connection.channel(), topology, QUEUES)


def run(args: argparse.Namespace, work: Path) -> int:
    """Start everything, fuzz, stop everything; 0 when every check passed."""
    prefix = f"fuzz-{uuid.uuid4().hex[:8]}."
    mongo = EmbeddedMongo(work / "mongo", log_path=work / "mongo.log").start()
    env = service_env(args.amqp_url, mongo.url, prefix)
    services = [ServiceProcess(name, env, work) for name in ("intake", "routing", "notify")]
    try:
        for service in services:
            service.start()
        asyncio.run(_ready(services))
        urls = {s.name: s.url for s in services}
        asyncio.run(seed(urls["intake"], urls["routing"]))
        say(f"services ready: {urls}; logs in {work}")
        codes = {
            "intake": schemathesis("intake", urls["intake"], None, args, work),
            "routing": schemathesis("routing", urls["routing"], TOKENS["supervisor"], args, work),
            "notify": schemathesis("notify", urls["notify"], TOKENS["supervisor"], args, work),
            "pages": hypothesis_pages(urls, args, env),
        }
    finally:
        for service in reversed(services):
            service.stop()
        mongo.stop()
        asyncio.run(remove_topology(args.amqp_url, Topology(prefix)))
    failed = [name for name, code in codes.items() if code != 0]
    say(f"failed: {', '.join(failed)}" if failed else "every check passed")
    for service in services:
        errors = [m for m in service.log_messages() if m == "unexpected error"]
        if errors:
            say(f"{service.name} logged {len(errors)} unexpected errors; see {service.log_path}")
    return 1 if failed else 0


async def _ready(services: list[ServiceProcess]) -> None:
    for service in services:
        await service.ready()


def main() -> int:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=300, help="cases per operation")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--reports", type=Path, default=ROOT / "var" / "fuzz")
    parser.add_argument("--keep", action="store_true", help="keep the logs and database")
    args = parser.parse_args()
    args.amqp_url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    say(f"seed {args.seed} (pass --seed {args.seed} to repeat this run)")
    if args.keep:
        return run(args, Path(tempfile.mkdtemp(prefix="fuzz-")))
    with tempfile.TemporaryDirectory(prefix="fuzz-") as work:
        return run(args, Path(work))


if __name__ == "__main__":
    sys.exit(main())
