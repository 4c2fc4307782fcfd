"""Intake alone: reports accepted per second, latency, and publish lag, against the floor.

    python -m bench.intake [--reports 2000] [--concurrency 16] [--rate R]

Starts SecantusDB (on disk, in a temporary directory) and intake as separate processes; this
process drives intake over HTTP and listens on a queue bound to `report.submitted`.
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

from bench.common import NO_RATE_LIMITS, cpu_seconds, drive, rss_mib, run_bench, summary
from bench.floor import floor_rate
from services.common.amqp import Topology, declare_exchanges
from services.common.contracts import parse_event
from services.common.embedded import EmbeddedMongo
from services.common.processes import ServiceProcess

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


async def main(args: argparse.Namespace) -> None:
    """Run the benchmark and print its figures."""
    topology = Topology(f"bench-{uuid.uuid4().hex[:6]}.")
    with tempfile.TemporaryDirectory() as tmp:
        mongo = EmbeddedMongo(Path(tmp) / "db", standalone=False).start()  # as ./scripts/run
        env = {
            "MONGO_URL": mongo.url,
            "AMQP_URL": AMQP_URL,
            "TOPOLOGY_PREFIX": topology.prefix,
            **NO_RATE_LIMITS,
        }
        intake = ServiceProcess("intake", env, Path(tmp)).start()
        connection = await aio_pika.connect_robust(AMQP_URL)
        try:
            await intake.ready()
            assert mongo.process is not None
            await run(args, intake, connection, topology, mongo.url, mongo.process.pid)
        finally:
            await _cleanup(connection, topology)
            await connection.close()
            intake.stop()
            mongo.stop()


async def run(
    args: argparse.Namespace,
    intake: ServiceProcess,
    connection: Any,
    topology: Topology,
    mongo_url: str,
    mongo_pid: int,
) -> None:
    """Drive intake, collect the events, print figures."""
    received: dict[str, float] = {}
    accepted: dict[str, float] = {}
    channel = await connection.channel()
    exchange = await declare_exchanges(channel, topology)
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, "report.submitted")

    all_received = asyncio.Event()

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        received[parse_event(message.body).tracking_code] = time.time()
        if len(received) >= args.reports:
            all_received.set()

    await queue.consume(on_message, no_ack=True)

    async def on_accepted(_: int, body: dict[str, Any], at: float) -> None:
        accepted[body["tracking_code"]] = at

    assert intake.process is not None
    cpu_before = cpu_seconds(intake.process.pid)
    db_cpu_before = cpu_seconds(mongo_pid)
    latencies, elapsed, errors = await drive(
        intake.url,
        args.reports,
        concurrency=args.concurrency,
        rate=args.rate,
        on_accepted=on_accepted,
    )
    cpu_used = cpu_seconds(intake.process.pid) - cpu_before
    db_cpu_used = cpu_seconds(mongo_pid) - db_cpu_before
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_received.wait(), timeout=60)
    lag = [received[c] - accepted[c] for c in accepted if c in received]
    rate = len(latencies) / elapsed
    floor = await floor_rate(
        mongo_url, connection, topology, count=args.reports, concurrency=args.concurrency
    )
    print(
        f"reports: {args.reports} at concurrency {args.concurrency}"
        + (f", offered {args.rate}/s" if args.rate else "")
    )
    print(f"accepted: {len(latencies)} ({errors} errors) in {elapsed:.1f} s = {rate:.0f} reports/s")
    print(summary("intake latency (POST -> 201)", latencies))
    print(summary("publish lag (201 -> report.submitted delivered)", lag))
    print(f"published: {len(received)}/{len(accepted)}")
    print(
        f"intake CPU: {cpu_used / elapsed * 100:.0f}% of one core; RSS {rss_mib(intake.process.pid):.0f} MiB"
    )
    print(f"database server CPU: {db_cpu_used / elapsed * 100:.0f}% of one core")
    print(
        f"floor (per report: insert, confirmed publish, mark sent; same concurrency): {floor:.0f}/s"
    )
    print(f"ratio intake/floor: {rate / floor:.2f}")


async def _cleanup(connection: Any, topology: Topology) -> None:
    channel = await connection.channel()
    for name in ("intake.case-status", "intake.case-status.dead", "unroutable"):
        await channel.queue_delete(topology.queue(name))
    for name in (topology.exchange, topology.alternate_exchange, topology.dead_letter_exchange):
        await channel.exchange_delete(name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--rate", type=float, default=None, help="offered reports/s (default: as fast as possible)"
    )
    run_bench(main(parser.parse_args()))
