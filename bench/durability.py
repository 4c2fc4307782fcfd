"""What durable writes cost on the embedded database: inserts per second with and without them.

    python -m bench.durability [--inserts 2000] [--writers 4] [--batch 100]

For each mode (SecantusDB's `--sync-on-commit` on or off, the driver's `j: true` on or off)
it starts a fresh on-disk SecantusDB and measures single inserts from `--writers` concurrent
writers, then `insert_many` batches of `--batch`. The services run with both on.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from pymongo import AsyncMongoClient

from bench.common import run_bench
from services.common.embedded import EmbeddedMongo

MODES = [  # (sync on commit, journaled write concern)
    (False, False),
    (False, True),
    (True, False),
    (True, True),
]


async def single_inserts(client: AsyncMongoClient[dict], total: int, writers: int) -> float:
    """Inserts per second, one document per command, `writers` at a time."""
    docs = client.bench.single

    async def write(first: int) -> None:
        for n in range(first, total, writers):
            await docs.insert_one({"_id": n, "body": "x" * 400})

    started = time.perf_counter()
    await asyncio.gather(*(write(w) for w in range(writers)))
    return total / (time.perf_counter() - started)


async def batched_inserts(client: AsyncMongoClient[dict], total: int, batch: int) -> float:
    """Documents per second through `insert_many`."""
    docs = client.bench.batched
    started = time.perf_counter()
    for first in range(0, total, batch):
        await docs.insert_many([{"_id": n, "body": "x" * 400} for n in range(first, first + batch)])
    return total / (time.perf_counter() - started)


async def measure(sync: bool, journal: bool, args: argparse.Namespace) -> tuple[float, float]:
    """Both rates for one mode, on a fresh server."""
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedMongo(Path(tmp) / "db", durable=sync).start()
        client: AsyncMongoClient[dict] = AsyncMongoClient(server.url, journal=journal)
        try:
            single = await single_inserts(client, args.inserts, args.writers)
            batched = await batched_inserts(client, args.inserts * 5, args.batch)
        finally:
            await client.close()
            server.stop()
    return single, batched


async def main(args: argparse.Namespace) -> None:
    """Print one line per mode and the cost of the services' mode against none."""
    print(
        f"{args.inserts} single inserts ({args.writers} writers), {args.inserts * 5} in batches of {args.batch}"
    )
    rates = {}
    for sync, journal in MODES:
        single, batched = await measure(sync, journal, args)
        rates[(sync, journal)] = (single, batched)
        print(
            f"sync-on-commit={'on ' if sync else 'off'} j={'true ' if journal else 'false'}: "
            f"{single:7.0f} single inserts/s  {batched:8.0f} docs/s batched"
        )
    base, used = rates[(False, False)], rates[(True, True)]
    print(
        f"cost of the services' mode (both on) against neither: "
        f"{100 * (1 - used[0] / base[0]):.0f} % of single-insert throughput, "
        f"{100 * (1 - used[1] / base[1]):.0f} % of batched"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inserts", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    run_bench(main(parser.parse_args()))
