"""Report accepted by intake -> `case.assigned` delivered: latency over N reports.

    python -m bench.routing_latency [--reports 300] [--concurrency 8] [--rate 50]

Starts SecantusDB, intake and routing as separate processes; this process submits reports
over HTTP and listens on a queue bound to `case.assigned.#`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika

from bench.common import (
    NO_RATE_LIMITS,
    cpu_now,
    cpu_seconds,
    delete_topology,
    drive,
    opcounters,
    rss_mib,
    run_bench,
    summary,
)
from services.common.amqp import Topology, declare_exchanges
from services.common.contracts import CaseAssigned, parse_event
from services.common.embedded import EmbeddedMongo
from services.common.processes import ServiceProcess

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


async def main(args: argparse.Namespace) -> None:
    """Start the servers, run, print, clean up."""
    topology = Topology(f"bench-{uuid.uuid4().hex[:6]}.")
    with tempfile.TemporaryDirectory() as tmp:
        mongo = EmbeddedMongo(Path(tmp) / "db", standalone=False).start()  # as ./scripts/run
        env = {
            "MONGO_URL": mongo.url,
            "AMQP_URL": AMQP_URL,
            "TOPOLOGY_PREFIX": topology.prefix,
            **NO_RATE_LIMITS,
        }
        services = [ServiceProcess(name, env, Path(tmp)).start() for name in ("intake", "routing")]
        connection = await aio_pika.connect_robust(AMQP_URL)
        try:
            for service in services:
                await service.ready()
            before = await opcounters(mongo.url)
            await run(args, [*services, mongo], connection, topology)
            after = await opcounters(mongo.url)
            per_report = {k: round((after[k] - before[k]) / args.reports, 1) for k in after}
            print(f"database operations per report: {per_report}")
        finally:
            await delete_topology(connection, topology)
            await connection.close()
            for service in services:
                service.stop()
            mongo.stop()


async def run(
    args: argparse.Namespace, processes: list[Any], connection: Any, topology: Topology
) -> None:
    """Submit reports; time each from its 201 to its `case.assigned` delivery."""
    accepted: dict[str, float] = {}
    delivered: dict[str, float] = {}
    done = asyncio.Event()
    channel = await connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(await declare_exchanges(channel, topology), "case.assigned.#")

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        event = parse_event(message.body)
        if isinstance(event, CaseAssigned):
            delivered.setdefault(event.tracking_code, time.time())
            if len(delivered) >= args.reports:
                done.set()

    await queue.consume(on_message, no_ack=True)

    async def on_accepted(_: int, body: dict[str, Any], at: float) -> None:
        accepted[body["tracking_code"]] = at

    services = [p for p in processes if isinstance(p, ServiceProcess)]
    pids = {getattr(p, "name", "database"): p.process.pid for p in processes if p.process}
    cpu_before = cpu_now(pids)
    latencies, elapsed, errors = await drive(
        services[0].url,
        args.reports,
        concurrency=args.concurrency,
        rate=args.rate,
        on_accepted=on_accepted,
    )
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout=120)
    routed = [delivered[c] - accepted[c] for c in accepted if c in delivered]
    print(
        f"reports: {args.reports}, concurrency {args.concurrency}, offered {args.rate or 'max'}/s; {errors} errors"
    )
    print(f"accepted {len(latencies)} in {elapsed:.1f} s = {len(latencies) / elapsed:.0f}/s")
    print(summary("intake latency (POST -> 201)", latencies))
    print(summary("routing latency (201 -> case.assigned delivered)", routed))
    print(f"cases delivered: {len(delivered)}/{len(accepted)}")
    for name, pid in pids.items():
        used = cpu_seconds(pid) - cpu_before[name]
        print(f"{name}: CPU {used / elapsed * 100:.0f}% of one core, RSS {rss_mib(pid):.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--rate", type=float, default=50.0, help="offered reports/s (0: as fast as possible)"
    )
    arguments = parser.parse_args()
    arguments.rate = arguments.rate or None
    run_bench(main(arguments))
