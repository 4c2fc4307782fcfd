"""A burst of escalation alerts: how late do they reach their webhook and their queue?

    python -m bench.alerts [--cases 700] [--window 20] [--levels 3] [--webhook-ms 50]

Starts SecantusDB and the notifier as a separate process with a policy of `levels` levels
`--level-gap` seconds apart and one target with a webhook on a local receiver (127.0.0.1,
answering after `--webhook-ms`), publishes `case.assigned` for `cases` cases whose deadlines
fall due evenly over `window` seconds, so cases x levels alerts (2,100 by default) fall due
within window + (levels - 1) x gap seconds (60 by default). Each alert goes out twice: published
as `case.escalated` (the AMQP target: a queue bound to `case.escalated.#`) and posted to the
webhook. Prints, for each, how many arrived, the rate, and the lateness (arrival time minus
the time the level fell due, `scheduled_at`) p50/p99/max, with the notifier's CPU. Bounded:
it waits at most `--timeout` seconds after the last alert falls due.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import aio_pika
from aiohttp import web

from bench.common import cpu_seconds, delete_topology, load_note, rss_mib, run_bench, summary
from bench.escalation import assigned
from services.common.amqp import OutgoingMessage, Publisher, Topology, declare_exchanges
from services.common.clock import utcnow
from services.common.contracts import CaseEscalated
from services.common.embedded import EmbeddedMongo, free_port
from services.common.mongo import mongo_database
from services.common.processes import ROOT, ServiceProcess
from services.notify.signing import encode_secret

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
LEAD_SECONDS = 10.0
SECRET = encode_secret(b"bench-alerts-webhook-signing-key")
ALWAYS_OPEN_CALENDARS = ROOT / "scripts" / "demo" / "calendars.toml"


def policy(levels: int, gap: float, webhook: str) -> str:
    """`levels` levels `gap` seconds apart, all to one target with a webhook."""
    body = 'version = "bench-alerts"\nrepeat_every = "24h"\n'
    for level in range(1, levels + 1):
        after = int((level - 1) * gap)
        body += f'[[levels]]\nlevel = {level}\nafter = "{after}s"\nroles = ["supervisor"]\n'
    return body + f'[[targets]]\nid = "supervisor"\nrole = "supervisor"\nwebhook = "{webhook}"\n'


@dataclass
class Arrivals:
    """Lateness of each alert as it arrives, once per alert id; repeats counted apart."""

    expected: int
    lateness: dict[str, float] = field(default_factory=dict)
    first: float | None = None
    last: float = 0.0
    repeats: int = 0
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def arrived(self, alert_id: str, scheduled_at: datetime | None) -> None:
        now = time.time()
        if alert_id in self.lateness:
            self.repeats += 1
            return
        due = scheduled_at.timestamp() if scheduled_at else now
        self.lateness[alert_id] = now - due
        self.first = self.first or now
        self.last = now
        if len(self.lateness) >= self.expected:
            self.complete.set()

    def report(self, name: str, window_start: float) -> None:
        got = len(self.lateness)
        span = max(self.last - window_start, 1e-9)
        print(
            f"{name}: {got}/{self.expected} arrived, {got / span:.0f}/s from the first due time"
            f" to the last arrival, {self.repeats} repeated"
        )
        print("  " + summary("lateness (arrival - due)", list(self.lateness.values())))


async def webhook_receiver(arrivals: Arrivals, delay: float) -> tuple[web.AppRunner, str]:
    """A local webhook endpoint answering 204 after `delay` seconds."""

    async def handle(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        scheduled = body.get("scheduled_at")
        at = datetime.fromisoformat(scheduled) if scheduled else None
        arrivals.arrived(request.headers["webhook-id"], at)
        await asyncio.sleep(delay)  # the receiver's own latency
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/hook"


async def burst(args: argparse.Namespace, mongo_url: str, mongo_pid: int, tmp: Path) -> None:
    """Publish the cases, wait for every alert on both targets (bounded), print."""
    expected = args.cases * args.levels
    webhooks, queued = Arrivals(expected), Arrivals(expected)
    runner, url = await webhook_receiver(webhooks, args.webhook_ms / 1000)
    topology = Topology(f"bench-{uuid.uuid4().hex[:6]}.")
    (tmp / "escalation.toml").write_text(policy(args.levels, args.level_gap, url))
    env = {
        "MONGO_URL": mongo_url,
        "AMQP_URL": AMQP_URL,
        "TOPOLOGY_PREFIX": topology.prefix,
        "NOTIFY_POLICY_PATH": str(tmp / "escalation.toml"),
        "NOTIFY_WEBHOOK_SECRETS": json.dumps([SECRET]),
        "CALENDARS_FILE": str(ALWAYS_OPEN_CALENDARS),
        "LOG_LEVEL": "WARNING",
    }
    notify = ServiceProcess("notify", env, tmp).start()
    connection = await aio_pika.connect_robust(AMQP_URL)
    try:
        await notify.ready()
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(await declare_exchanges(channel, topology), "case.escalated.#")

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            event = CaseEscalated.model_validate_json(message.body)
            queued.arrived(event.event_id, event.scheduled_at)

        await queue.consume(on_message, no_ack=True)
        start = utcnow() + timedelta(seconds=LEAD_SECONDS)
        step = args.window / args.cases
        events = [assigned(n, start + timedelta(seconds=n * step)) for n in range(args.cases)]
        publisher = await Publisher.open(connection, topology)
        for chunk in range(0, len(events), 200):
            await publisher.publish_many(
                [OutgoingMessage.of(e) for e in events[chunk : chunk + 200]]
            )
        span = args.window + (args.levels - 1) * args.level_gap
        print(
            f"{args.cases} cases x {args.levels} levels = {expected} alerts falling due over"
            f" {span:.0f} s from +{LEAD_SECONDS:.0f} s; webhook answers in {args.webhook_ms} ms"
        )
        own = os.getpid()
        print(f"before: {load_note()}")
        cpu_before, wall_before = cpu_seconds(notify.pid), time.monotonic()
        db_before, own_before = cpu_seconds(mongo_pid), cpu_seconds(own)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LEAD_SECONDS + span + args.timeout):
                await webhooks.complete.wait()
                await queued.complete.wait()
        wall = time.monotonic() - wall_before
        used = cpu_seconds(notify.pid) - cpu_before
        webhooks.report("webhook", start.timestamp())
        queued.report("case.escalated on its queue (AMQP)", start.timestamp())
        await stages(mongo_url)
        print(f"after: {load_note()}")
        print(
            f"CPU over {wall:.0f} s, in % of one core: notify {used / wall * 100:.0f}%,"
            f" database {(cpu_seconds(mongo_pid) - db_before) / wall * 100:.0f}%,"
            f" this benchmark (receiver, queue) {(cpu_seconds(own) - own_before) / wall * 100:.0f}%;"
            f" notify RSS {rss_mib(notify.pid):.0f} MiB"
        )
    finally:
        await delete_topology(connection, topology)
        await connection.close()
        notify.stop()
        await runner.cleanup()


async def stages(mongo_url: str) -> None:
    """Where the lateness goes, from notify's alert log: due -> recorded -> webhook delivered."""
    async with mongo_database(mongo_url, "notify", timeout_ms=60000) as db:
        for _ in range(50):  # the last outcomes are written just after their webhooks answer
            if not await db.alerts.count_documents({"next_attempt_at": {"$exists": True}}):
                break
            await asyncio.sleep(0.2)
        alerts = await db.alerts.find(
            {}, {"scheduled_at": 1, "recorded_at": 1, "deliveries.delivered_at": 1}
        ).to_list()
    recorded = [(a["recorded_at"] - a["scheduled_at"]).total_seconds() for a in alerts]
    sent = [
        (d["delivered_at"] - a["recorded_at"]).total_seconds()
        for a in alerts
        for d in a["deliveries"][1:]
        if d.get("delivered_at")
    ]
    print("  " + summary("in notify: due -> alert recorded", recorded))
    print("  " + summary("in notify: alert recorded -> webhook answered", sent))


async def main(args: argparse.Namespace) -> None:
    """Start the database, run the burst, clean up."""
    with tempfile.TemporaryDirectory() as tmp:
        mongo = EmbeddedMongo(Path(tmp) / "db", standalone=False).start()  # as ./scripts/run
        try:
            assert mongo.process is not None
            await burst(args, mongo.url, mongo.process.pid, Path(tmp))
        finally:
            mongo.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=700)
    parser.add_argument("--levels", type=int, default=3)
    parser.add_argument("--level-gap", type=float, default=20.0, help="seconds between levels")
    parser.add_argument("--window", type=float, default=20.0, help="seconds the deadlines span")
    parser.add_argument("--webhook-ms", type=float, default=50.0)
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="longest wait after the last due time"
    )
    run_bench(main(parser.parse_args()))
