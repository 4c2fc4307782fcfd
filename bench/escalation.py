"""Escalation lateness and deadline-scan cost.

    python -m bench.escalation [--deadlines 1000] [--window 60] [--open 10000 100000]

1. Lateness: starts SecantusDB and the notifier as a separate process (a one-level policy),
   publishes `case.assigned` for N cases whose deadlines fall due evenly over `window` seconds,
   and times each `case.escalated` from the moment it fell due to its delivery on a queue bound
   to `case.escalated.#` (and, inside the notifier, to the claim).
2. Scan cost: fills a deadline store with cases not yet due and times the scanner's pass
   (find due + claim + look up the next due time) at each size.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika

from bench.common import cpu_seconds, delete_topology, rss_mib, run_bench, summary
from services.common.amqp import OutgoingMessage, Publisher, Topology, declare_exchanges
from services.common.clock import utcnow
from services.common.contracts import CaseAssigned, CaseEscalated, CaseStatus, Category, Priority
from services.common.embedded import EmbeddedMongo
from services.common.mongo import mongo_database
from services.common.processes import ServiceProcess
from services.notify.deadlines import DeadlineStore
from services.notify.escalation import parse_escalation_policy
from services.notify.scanner import Scanner

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
ONE_LEVEL = """
version = "bench"
[[levels]]
level = 1
after = "0s"
roles = ["supervisor"]
[[targets]]
id = "supervisor"
role = "supervisor"
"""
LEAD_SECONDS = 10.0


def assigned(n: int, due_at: datetime) -> CaseAssigned:
    """A `case.assigned` for case n due at `due_at`."""
    return CaseAssigned(
        event_id=uuid.uuid4().hex,
        occurred_at=utcnow(),
        case_id=f"bench-case-{n}",
        report_id=f"bench-report-{n}",
        tracking_code=f"BENCH-{n:06d}",
        agency="police",
        category=Category.SCAM_FRAUD,
        priority=Priority.HIGH,
        status=CaseStatus.ASSIGNED,
        version=1,
        due_at=due_at,
        policy_version="bench",
        rule_id="scam-fraud",
    )


async def lateness(args: argparse.Namespace, mongo_url: str, tmp: Path) -> None:
    """Part 1: N deadlines due within the window; lateness of each escalation."""
    topology = Topology(f"bench-{uuid.uuid4().hex[:6]}.")
    policy_path = tmp / "one-level.toml"
    policy_path.write_text(ONE_LEVEL)
    env = {
        "MONGO_URL": mongo_url,
        "AMQP_URL": AMQP_URL,
        "TOPOLOGY_PREFIX": topology.prefix,
        "NOTIFY_POLICY_PATH": str(policy_path),
        "LOG_LEVEL": "WARNING",
    }
    notify = ServiceProcess("notify", env, tmp).start()
    connection = await aio_pika.connect_robust(AMQP_URL)
    try:
        await notify.ready()
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(await declare_exchanges(channel, topology), "case.escalated.#")
        received: dict[str, tuple[float, CaseEscalated]] = {}
        done = asyncio.Event()

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            event = CaseEscalated.model_validate_json(message.body)
            received.setdefault(event.case_id, (time.time(), event))
            if len(received) >= args.deadlines:
                done.set()

        await queue.consume(on_message, no_ack=True)
        start = utcnow() + timedelta(seconds=LEAD_SECONDS)
        step = args.window / args.deadlines
        events = [assigned(n, start + timedelta(seconds=n * step)) for n in range(args.deadlines)]
        publisher = await Publisher.open(connection, topology)
        for chunk in range(0, len(events), 200):
            await publisher.publish_many(
                [OutgoingMessage.of(e) for e in events[chunk : chunk + 200]]
            )
        print(
            f"published {len(events)} deadlines due from +{LEAD_SECONDS:.0f}s over {args.window:.0f}s"
        )
        cpu_before, wall_before = cpu_seconds(notify.pid), time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=LEAD_SECONDS + args.window + 120)
        wall = time.monotonic() - wall_before
        delivered = [
            at - e.scheduled_at.timestamp() for at, e in received.values() if e.scheduled_at
        ]
        claimed = [
            (e.escalated_at - e.scheduled_at).total_seconds()
            for _, e in received.values()
            if e.scheduled_at
        ]
        print(f"escalations received: {len(received)}/{args.deadlines}")
        print(summary("lateness, due -> delivered on the supervisor queue", delivered))
        print(summary("lateness, due -> claimed by the scanner", claimed))
        used = cpu_seconds(notify.pid) - cpu_before
        print(
            f"notify: CPU {used / wall * 100:.0f}% of one core, RSS {rss_mib(notify.pid):.0f} MiB"
        )
    finally:
        await delete_topology(connection, topology)
        await connection.close()
        notify.stop()


async def scan_cost(args: argparse.Namespace, mongo_url: str) -> None:
    """Part 2: the scanner's pass over stores of growing size with nothing due."""
    policy = parse_escalation_policy(ONE_LEVEL)
    async with mongo_database(mongo_url, "bench_scan", timeout_ms=60000) as db:
        store = DeadlineStore(db, policy, utcnow)
        await store.ensure_indexes()
        scanner = Scanner(store, clock=utcnow, interval=1.0, batch=500, on_claimed=lambda: None)
        stored = 0
        for size in sorted(args.open):
            started = time.perf_counter()
            while stored < size:
                batch = [_not_due(n) for n in range(stored, min(size, stored + 2000))]
                await db.deadlines.insert_many(batch, ordered=False)
                stored += len(batch)
            print(
                f"{size} open cases not yet due (filled in {time.perf_counter() - started:.0f} s)"
            )
            passes = []
            for _ in range(args.passes):
                began = time.perf_counter()
                await scanner.scan_once()
                await store.next_due_before(utcnow() + timedelta(seconds=1))
                passes.append(time.perf_counter() - began)
            print(
                summary(f"  scan pass (find due + claim + next due), {args.passes} passes", passes)
            )


def _not_due(n: int) -> dict[str, Any]:
    due = utcnow() + timedelta(days=1, seconds=n)
    return {
        "_id": f"open-{n}",
        "version": 1,
        "rev": 1,
        "agency": "police",
        "category": "scam_fraud",
        "priority": "high",
        "status": "assigned",
        "due_at": due,
        "deadline_key": f"police@{due.isoformat()}",
        "sent": 0,
        "report_id": f"r-{n}",
        "tracking_code": f"T-{n}",
        "province": None,
        "next_due_at": due,
        "updated_at": datetime.now(UTC),
    }


async def main(args: argparse.Namespace) -> None:
    """Start the database, run both parts, clean up."""
    with tempfile.TemporaryDirectory() as tmp:
        mongo = EmbeddedMongo(Path(tmp) / "db", standalone=False).start()  # as ./scripts/run
        try:
            if args.deadlines:
                await lateness(args, mongo.url, Path(tmp))
            if args.open:
                await scan_cost(args, mongo.url)
        finally:
            mongo.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deadlines", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds the deadlines span")
    parser.add_argument("--open", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--passes", type=int, default=50)
    run_bench(main(parser.parse_args()))
