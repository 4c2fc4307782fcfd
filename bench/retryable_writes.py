"""SecantusDB's registry of retryable writes, reproduced: insert rate as the server ages.

    python -m bench.retryable_writes [--writes 16000] [--window 2000]

Starts a fresh on-disk SecantusDB (journaled, synced commits, as the services run it) per
mode and inserts `--writes` documents one at a time, printing the rate of each window of
`--window` writes. With the driver's default `retryWrites=true` the server records every
write in an in-memory registry that it scans (and, past 10,000 records, sorts) on each
retryable write, so the rate falls as writes accumulate; with `retryWrites=false`, as the
services use it on the embedded standalone server, it stays flat.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pymongo import AsyncMongoClient

from bench.common import run_bench
from services.common.embedded import EmbeddedMongo


async def windows(url: str, writes: int, window: int) -> list[float]:
    """Inserts per second of each consecutive window of `window` single inserts."""
    client: AsyncMongoClient[dict] = AsyncMongoClient(url, journal=True)
    rates = []
    try:
        docs = client.bench.aging
        for first in range(0, writes, window):
            started = time.perf_counter()
            for n in range(first, first + window):
                await docs.insert_one({"_id": n, "body": "x" * 400})
            rates.append(window / (time.perf_counter() - started))
    finally:
        await client.close()
    return rates


async def main(args: argparse.Namespace) -> None:
    """One line per mode: the rate of every window, first to last."""
    for retry in ("true", "false"):
        with tempfile.TemporaryDirectory() as tmp:
            server = EmbeddedMongo(Path(tmp) / "db").start()
            base = server.url.split("?")[0]
            try:
                rates = await windows(f"{base}?retryWrites={retry}", args.writes, args.window)
            finally:
                server.stop()
        shown = " ".join(f"{r:5.0f}" for r in rates)
        print(f"retryWrites={retry:5}: inserts/s per {args.window} writes: {shown}")
        print(f"{'':18}last window / first: {rates[-1] / rates[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=16000)
    parser.add_argument("--window", type=int, default=2000)
    run_bench(main(parser.parse_args()))
