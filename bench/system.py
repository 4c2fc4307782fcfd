"""The whole system under load, against the floor of what each report needs.

    python -m bench.system [--reports 1000] [--concurrency 16] [--rate-reports 600] [--rate 20]

Starts SecantusDB, intake, routing and notify as separate processes (deadlines of a few
seconds, one escalation level) and drives intake over HTTP from this process: first at a fixed
offered rate, then at a fixed concurrency as fast as it goes. Prints reports accepted per
second, intake latency, report -> `case.assigned` delivered latency, escalation lateness (due
-> `case.escalated` delivered), each process's CPU and memory, then the floor (the same
database writes and confirmed publishes done directly, one report at a time per worker) and
the ratio services/floor. The floor is measured before and after the load: the embedded
database slows down as it accumulates writes, so the two bracket the services' run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika

from bench.common import (
    NO_RATE_LIMITS,
    cpu_seconds,
    delete_topology,
    drive,
    rss_mib,
    settle,
    summary,
)
from bench.floor import system_floor_rate
from services.common.amqp import Topology, declare_exchanges
from services.common.contracts import CaseAssigned, CaseEscalated, parse_event
from services.common.embedded import EmbeddedMongo
from services.common.processes import ROOT, ServiceProcess

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEADLINE = "5s"
CATEGORIES = [
    ("hijacked_account", "police"),
    ("impersonation", "police"),
    ("scam_fraud", "police"),
    ("false_information", "culture_office"),
    ("harmful_content", "culture_office"),
    ("confidential_leak", "police"),
    ("member_misconduct", "party_committee"),
]
ESCALATION = """
version = "bench"
[[levels]]
level = 1
after = "0s"
roles = ["supervisor"]
[[targets]]
id = "supervisor"
role = "supervisor"
"""


ALWAYS_OPEN_CALENDARS = ROOT / "scripts" / "demo" / "calendars.toml"


def routing_policy() -> str:
    """Every category to its agency with a deadline of a few seconds."""
    agencies = "".join(
        f'[[agencies]]\nid = "{a}"\nname_vi = "{a}"\nname_en = "{a}"\ndefault_deadline = "{DEADLINE}"\n'
        for a in ("police", "culture_office", "party_committee")
    )
    rules = "".join(
        f'[[rules]]\nid = "{c}"\ncategory = "{c}"\nagency = "{a}"\ndeadline = "{DEADLINE}"\n'
        for c, a in CATEGORIES
    )
    return f'version = "bench"\n{agencies}{rules}'


class Observer:
    """Listens on `case.assigned.#` and `case.escalated.#` and times what arrives."""

    def __init__(self) -> None:
        self.accepted: dict[str, float] = {}
        self.assigned: dict[str, float] = {}
        self.lateness: list[float] = []

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        event = parse_event(message.body)
        now = time.time()
        if isinstance(event, CaseAssigned):
            self.assigned.setdefault(event.tracking_code, now)
        elif isinstance(event, CaseEscalated) and event.scheduled_at is not None:
            self.lateness.append(now - event.scheduled_at.timestamp())

    async def on_accepted(self, _: int, body: dict[str, Any], at: float) -> None:
        self.accepted[body["tracking_code"]] = at

    def routed(self, codes: list[str]) -> list[float]:
        return [self.assigned[c] - self.accepted[c] for c in codes if c in self.assigned]


def system_env(mongo_url: str, topology: Topology, root: Path) -> dict[str, str]:
    """The three services' environment for a benchmark: policies with deadlines of seconds
    (written under `root`), every rate limit out of the way."""
    (root / "routing.toml").write_text(routing_policy())
    (root / "escalation.toml").write_text(ESCALATION)
    return {
        "MONGO_URL": mongo_url,
        "AMQP_URL": AMQP_URL,
        "TOPOLOGY_PREFIX": topology.prefix,
        "LOG_LEVEL": "WARNING",
        **NO_RATE_LIMITS,
        "ROUTING_POLICY_PATH": str(root / "routing.toml"),
        "NOTIFY_POLICY_PATH": str(root / "escalation.toml"),
        # Deadlines of seconds run out at any hour: the demo's round-the-clock calendar.
        "CALENDARS_FILE": str(ALWAYS_OPEN_CALENDARS),
    }


async def phase(
    title: str, url: str, count: int, concurrency: int, rate: float | None, observer: Observer
) -> float:
    """Drive one load pattern, print its figures, return the accepted reports/s."""
    before = set(observer.accepted)
    lateness_from = len(observer.lateness)
    latencies, elapsed, errors = await drive(
        url, count, concurrency=concurrency, rate=rate, on_accepted=observer.on_accepted
    )
    codes = [c for c in observer.accepted if c not in before]
    await settle(lambda: len(observer.routed(codes)) >= len(codes), timeout=60)
    # Each case escalates once, a few seconds after its assignment.
    await settle(lambda: len(observer.lateness) - lateness_from >= len(codes), timeout=60)
    print(f"\n{title}: {count} reports, concurrency {concurrency}, offered {rate or 'max'}/s")
    print(
        f"  accepted {len(latencies)} in {elapsed:.1f} s = {len(latencies) / elapsed:.0f} reports/s; {errors} errors"
    )
    print("  " + summary("intake latency (POST -> 201)", latencies))
    print("  " + summary("report -> case.assigned delivered", observer.routed(codes)))
    print(
        "  "
        + summary(
            "escalation lateness (due -> case.escalated delivered)",
            observer.lateness[lateness_from:],
        )
    )
    return len(latencies) / elapsed


@dataclass
class RunningSystem:
    """The three services as processes on an embedded database, and an observer of what they
    publish (`case.assigned`, `case.escalated`) on a topology of the run's own."""

    url: str  # intake's
    mongo_url: str
    pids: dict[str, int]  # the services' and the database's
    observer: Observer
    connection: aio_pika.abc.AbstractRobustConnection
    channel: aio_pika.abc.AbstractChannel
    topology: Topology


@contextlib.asynccontextmanager
async def running_system() -> AsyncIterator[RunningSystem]:
    """Start the database and the services, observe their events; stop and delete it all."""
    topology = Topology(f"bench-{uuid.uuid4().hex[:6]}.")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        mongo = EmbeddedMongo(root / "db").start()
        env = system_env(mongo.url, topology, root)
        services = [ServiceProcess(n, env, root).start() for n in ("intake", "routing", "notify")]
        connection = await aio_pika.connect_robust(AMQP_URL)
        try:
            for service in services:
                await service.ready()
            observer = Observer()
            channel = await connection.channel()
            queue = await channel.declare_queue(exclusive=True)
            exchange = await declare_exchanges(channel, topology)
            for key in ("case.assigned.#", "case.escalated.#"):
                await queue.bind(exchange, key)
            await queue.consume(observer.on_message, no_ack=True)
            assert mongo.process is not None
            pids = {s.name: s.pid for s in services} | {"database": mongo.process.pid}
            yield RunningSystem(
                services[0].url, mongo.url, pids, observer, connection, channel, topology
            )
        finally:
            await delete_topology(connection, topology)
            await connection.close()
            for service in services:
                service.stop()
            mongo.stop()


async def main(args: argparse.Namespace) -> None:
    """Start everything, run both phases and the floor, print, clean up."""
    async with running_system() as system:
        pids = system.pids
        cpu_before, wall_before = {n: cpu_seconds(p) for n, p in pids.items()}, time.monotonic()
        url = system.url
        floor_before = await system_floor_rate(
            system.mongo_url,
            system.connection,
            system.topology,
            count=args.floor_reports,
            concurrency=args.concurrency,
        )
        print(f"floor before the load: {floor_before:.0f} reports/s")
        # The offered rate first, on a fresh database; then as fast as it goes.
        await phase(
            "fixed rate", url, args.rate_reports, args.concurrency, args.rate, system.observer
        )
        best = await phase(
            "fixed concurrency", url, args.reports, args.concurrency, None, system.observer
        )
        wall = time.monotonic() - wall_before
        print(f"\nprocesses over both phases ({wall:.0f} s):")
        for name, pid in pids.items():
            used = cpu_seconds(pid) - cpu_before[name]
            print(
                f"  {name:<9} CPU {used / wall * 100:4.0f}% of one core, RSS {rss_mib(pid):.0f} MiB"
            )
        with contextlib.suppress(Exception):
            await system.channel.close()
        idle_from = cpu_seconds(pids["database"])
        await asyncio.sleep(5)
        idle = (cpu_seconds(pids["database"]) - idle_from) / 5
        print(
            f"database CPU with the services idle (polling relays and scanner): {idle * 100:.0f}%"
        )
        floor_after = await system_floor_rate(
            system.mongo_url,
            system.connection,
            system.topology,
            count=args.floor_reports,
            concurrency=args.concurrency,
        )
        print(
            "\nfloor (per report, done directly, one at a time per worker: 10 database writes, "
            "3 confirmed publishes):"
        )
        print(
            f"  before the load {floor_before:.0f} reports/s, after it {floor_after:.0f} reports/s"
        )
        print(
            f"services at fixed concurrency: {best:.0f} reports/s; ratio services/floor: "
            f"{best / floor_before:.2f} (against the floor before), "
            f"{best / floor_after:.2f} (after)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate-reports", type=int, default=600)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--floor-reports", type=int, default=500)
    asyncio.run(main(parser.parse_args()))
