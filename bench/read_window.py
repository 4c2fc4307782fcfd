"""What reading the oldest batch of a backlog costs the embedded database, with and without a
read window.

    python -m bench.read_window [--backlogs 100 1000 5000 20000] [--batch 100]

Starts a fresh on-disk SecantusDB and stores pending outbox documents (one per 10 ms, 2 KB
each) up to each backlog size in turn. For each, it times ten reads of the oldest `--batch`
as an outbox relay makes them: over the whole pending range (`outbox_since` from the
beginning of time to the far future, sorted, limited), and over a range that ends where one
batch ends (services.common.read_window). Prints wall and database CPU milliseconds per
read. SecantusDB reads every document the range matches before it sorts and limits, so the
first grows with the backlog and the second does not. Also prints how long counting the
backlog takes (what the backlog gauge does, every 5 s while that is quick).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import cpu_seconds, embedded_database, run_bench
from services.common.clock import EPOCH
from services.common.outbox import (
    FAR_FUTURE,
    OUTBOX,
    OUTBOX_SINCE,
    PENDING,
    ensure_outbox_index,
)

READS = 10
START = datetime(2026, 11, 30, tzinfo=UTC)
STEP = timedelta(milliseconds=10)


def pending(n: int) -> dict[str, Any]:
    """A stored document with one event still to publish, the n-th of the backlog."""
    entry = {"event_id": f"event-{n}", "body": "x" * 500}
    return {"_id": n, OUTBOX: [entry], OUTBOX_SINCE: START + n * STEP, "pad": "y" * 1500}


async def main(args: argparse.Namespace) -> None:
    """One line per backlog size."""
    async with embedded_database() as (client, pid):
        collection = client.bench.docs
        await ensure_outbox_index(collection)
        stored = 0
        for backlog in args.backlogs:
            await collection.insert_many([pending(n) for n in range(stored, backlog)])
            stored = backlog
            window_end = START + args.batch * STEP  # where one batch ends
            figures = []
            for end in (FAR_FUTURE, window_end):
                query = {OUTBOX_SINCE: {"$gte": EPOCH, "$lt": end}}
                cpu, wall = cpu_seconds(pid), time.perf_counter()
                for _ in range(READS):
                    cursor = collection.find(query, {OUTBOX: 1, OUTBOX_SINCE: 1})
                    await cursor.sort(OUTBOX_SINCE, 1).limit(args.batch + 1).to_list()
                wall_ms = (time.perf_counter() - wall) * 1000 / READS
                figures.append((wall_ms, (cpu_seconds(pid) - cpu) * 1000 / READS))
            (whole_wall, whole_cpu), (window_wall, window_cpu) = figures
            started = time.perf_counter()
            assert await collection.count_documents(PENDING) == backlog
            count_ms = (time.perf_counter() - started) * 1000
            print(
                f"backlog {backlog:6}: the whole range {whole_wall:7.1f} ms"
                f" ({whole_cpu:.1f} ms database CPU), one batch's window {window_wall:5.1f} ms"
                f" ({window_cpu:.1f} ms) per read of {args.batch}; counting the backlog"
                f" (the gauge) {count_ms:.1f} ms",
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlogs", type=int, nargs="+", default=[100, 1000, 5000, 20000])
    parser.add_argument("--batch", type=int, default=100)
    run_bench(main(parser.parse_args()))
