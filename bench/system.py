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
import os
import shutil
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
    run_bench,
    settle,
    summary,
)
from bench.floor import system_floor_rate
from services.common.amqp import Topology, declare_exchanges
from services.common.contracts import CaseAssigned, CaseEscalated, ReportSubmitted, parse_event
from services.common.embedded import SERVICES, EmbeddedMongo, distinct, one_for_all, per_service
from services.common.processes import ROOT, ServiceProcess
from services.common.settings import mongo_url_variables

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
    """Listens on `report.submitted.#`, `case.assigned.#` and `case.escalated.#` and times what
    arrives; keeps, per tracking code, the case ids and event ids of its `case.assigned` to
    count doubles, and when each stage of its way was passed (`stages`)."""

    def __init__(self) -> None:
        self.accepted: dict[str, float] = {}
        self.submitted: dict[str, float] = {}  # `report.submitted` delivered
        self.written: dict[str, float] = {}  # the case stored (`case.assigned`'s occurred_at)
        self.assigned: dict[str, float] = {}
        self.case_ids: dict[str, set[str]] = {}
        self.event_ids: dict[str, set[str]] = {}
        self.lateness: list[float] = []

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        event = parse_event(message.body)
        now = time.time()
        if isinstance(event, ReportSubmitted):
            self.submitted.setdefault(event.tracking_code, now)
        elif isinstance(event, CaseAssigned):
            code = event.tracking_code
            self.assigned.setdefault(code, now)
            self.written.setdefault(code, event.occurred_at.timestamp())
            self.case_ids.setdefault(code, set()).add(str(event.case_id))
            self.event_ids.setdefault(code, set()).add(str(event.event_id))
        elif isinstance(event, CaseEscalated) and event.scheduled_at is not None:
            self.lateness.append(now - event.scheduled_at.timestamp())

    async def on_accepted(self, _: int, body: dict[str, Any], at: float) -> None:
        self.accepted[body["tracking_code"]] = at

    def routed(self, codes: list[str]) -> list[float]:
        return [self.assigned[c] - self.accepted[c] for c in codes if c in self.assigned]

    def stages(self, codes: list[str]) -> dict[str, list[float]]:
        """Where the way from 201 to `case.assigned` delivered went, per report: intake's relay
        (201 -> `report.submitted` delivered; negative when the relay beat the response),
        routing (-> the case stored) and routing's relay (-> `case.assigned` delivered)."""
        marks = [self.accepted, self.submitted, self.written, self.assigned]
        complete = [c for c in codes if all(c in m for m in marks)]
        names = ["relay intake", "route", "relay routing"]
        return {
            name: [later[c] - earlier[c] for c in complete]
            for name, earlier, later in zip(names, marks, marks[1:], strict=False)
        }

    def lost(self, codes: list[str]) -> int:
        """Accepted reports with no `case.assigned` yet."""
        return sum(1 for c in codes if c not in self.assigned)

    def doubled(self, codes: list[str]) -> int:
        """Reports whose `case.assigned` came with more than one case id or event id."""
        return sum(
            1
            for c in codes
            if len(self.case_ids.get(c, ())) > 1 or len(self.event_ids.get(c, ())) > 1
        )

    def forget(self, codes: list[str]) -> None:
        """Drop what is kept about these reports (a long run keeps only recent ones)."""
        kept_by_code = (
            self.accepted,
            self.submitted,
            self.written,
            self.assigned,
            self.case_ids,
            self.event_ids,
        )
        for kept in kept_by_code:
            for code in codes:
                kept.pop(code, None)


def system_env(mongo_urls: dict[str, str], topology: Topology, root: Path) -> dict[str, str]:
    """The three services' environment for a benchmark: each service's database server
    (`mongo_urls` by service), policies with deadlines of seconds (written under `root`), every
    rate limit out of the way."""
    (root / "routing.toml").write_text(routing_policy())
    (root / "escalation.toml").write_text(ESCALATION)
    return {
        **mongo_url_variables(mongo_urls),
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
class Replica(ServiceProcess):
    """A service process that is one of several of its kind: a log file of its own."""

    label: str = ""

    @property
    def log_path(self) -> Path:
        """`<label>.log`, e.g. `intake-2.log`."""
        return self.log_dir / f"{self.label or self.name}.log"


def replicas_of(name: str, count: int, env: dict[str, str], root: Path) -> list[Replica]:
    """`count` processes of one service, labelled `name` alone or `name-1`, `name-2`, ..."""
    labels = [name] if count == 1 else [f"{name}-{n}" for n in range(1, count + 1)]
    return [Replica(name, env, root, label=label) for label in labels]


@dataclass
class RunningSystem:
    """The three services as processes (one or more of each) on an embedded database, and an
    observer of what they publish (`case.assigned`, `case.escalated`) on a topology of the
    run's own."""

    urls: list[str]  # intake's, one per replica
    mongo_urls: dict[str, str]  # each service's database server (the same URL when shared)
    # Each service process's (by label) and each database server's: `database` when one is
    # shared, else `database-intake`, `database-routing`, `database-notify`; and `broker` and
    # `load` (`local_processes`).
    pids: dict[str, int]
    observer: Observer
    connection: aio_pika.abc.AbstractRobustConnection
    channel: aio_pika.abc.AbstractChannel
    topology: Topology
    storage: Path  # the database's files
    logs: Path  # the services' log files

    @property
    def url(self) -> str:
        """The first intake's URL."""
        return self.urls[0]

    @property
    def database_pids(self) -> dict[str, int]:
        """The database servers' processes, by label."""
        return {label: pid for label, pid in self.pids.items() if is_database(label)}

    @property
    def servers(self) -> list[str]:
        """Each database server's URL once."""
        return sorted(set(self.mongo_urls.values()))


def local_processes() -> dict[str, int]:
    """The other processes on this machine a report costs CPU in: the broker (RabbitMQ's
    Erlang VM, when it runs here) as `broker`, and this benchmark (the load it drives and the
    events it observes) as `load`."""
    pids = {"load": os.getpid()}
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if comm.read_text().strip() == "beam.smp":
                pids["broker"] = int(comm.parent.name)
                break
    return pids


def is_database(label: str) -> bool:
    """Whether a process label names a database server (`database`, `database-intake`, ...)."""
    return label.split("-", 1)[0] == "database"


async def observe(
    connection: aio_pika.abc.AbstractRobustConnection, topology: Topology
) -> tuple[Observer, aio_pika.abc.AbstractChannel]:
    """An observer consuming `report.submitted.#`, `case.assigned.#` and `case.escalated.#` on a
    queue of its own."""
    observer = Observer()
    channel = await connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    exchange = await declare_exchanges(channel, topology)
    for key in ("report.submitted.#", "case.assigned.#", "case.escalated.#"):
        await queue.bind(exchange, key)
    await queue.consume(observer.on_message, no_ack=True)
    return observer, channel


def copy_logs(source: Path, target: Path) -> None:
    """Copy the `*.log` files of `source` into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for log in source.glob("*.log"):
        shutil.copy(log, target / log.name)


def start_databases(root: Path, *, shared: bool) -> dict[str, EmbeddedMongo]:
    """The embedded database as `./scripts/run` starts it, a server per service (files under
    `root`), or one server for all three (`shared`), by service."""
    return one_for_all(root) if shared else per_service(root)


def database_labels(databases: dict[str, EmbeddedMongo]) -> dict[str, int]:
    """Each database server's process by label: `database` for one shared, else one each."""
    servers = distinct(databases)
    if len(servers) == 1:
        assert servers[0].process is not None
        return {"database": servers[0].process.pid}
    pids = {}
    for service, server in databases.items():
        assert server.process is not None
        pids[f"database-{service}"] = server.process.pid
    return pids


@contextlib.asynccontextmanager
async def running_system(
    replicas: int = 1, *, keep_logs: Path | None = None, shared_database: bool = False
) -> AsyncIterator[RunningSystem]:
    """Start the database (a server per service, or one for all with `shared_database`) and
    `replicas` processes of each service, observe their events; stop and delete it all
    (copying the services' logs to `keep_logs` first, if given)."""
    topology = Topology(f"bench-{uuid.uuid4().hex[:6]}.")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        databases: dict[str, EmbeddedMongo] = {}
        services: list[Replica] = []
        connection: aio_pika.abc.AbstractRobustConnection | None = None
        try:
            databases = start_databases(root / "db", shared=shared_database)
            mongo_urls = {service: server.url for service, server in databases.items()}
            env = system_env(mongo_urls, topology, root)
            connection = await aio_pika.connect_robust(AMQP_URL)
            for name in SERVICES:
                for replica in replicas_of(name, replicas, env, root):
                    services.append(replica)
                    replica.start()
            for service in services:
                await service.ready()
            observer, channel = await observe(connection, topology)
            pids = {s.label: s.pid for s in services} | database_labels(databases)
            pids |= local_processes()
            intakes = [s.url for s in services if s.name == "intake"]
            yield RunningSystem(
                intakes,
                mongo_urls,
                pids,
                observer,
                connection,
                channel,
                topology,
                root / "db",
                root,
            )
        finally:
            # The services first: deleting their queues under them makes them log warnings.
            for service in services:
                service.stop()
            if connection is not None:
                await delete_topology(connection, topology)
                await connection.close()
            for server in distinct(databases):
                server.stop()
            if keep_logs is not None:
                copy_logs(root, keep_logs)


async def main(args: argparse.Namespace) -> None:
    """Start everything, run both phases and the floor, print, clean up."""
    # The floor is what one server does with a report's writes: the system on one server too.
    async with running_system(shared_database=True) as system:
        pids = system.pids
        cpu_before, wall_before = {n: cpu_seconds(p) for n, p in pids.items()}, time.monotonic()
        url = system.url
        floor_before = await system_floor_rate(
            system.mongo_urls["intake"],
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
            system.mongo_urls["intake"],
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
    run_bench(main(parser.parse_args()))
