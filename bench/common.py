"""Benchmark helpers: running one (stoppable by SIGTERM), percentiles, process statistics, the
HTTP load driver."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import statistics
import tempfile
import time
import timeit
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from pymongo import AsyncMongoClient

from services.admin.queues import declared_queues
from services.common.amqp import Topology
from services.common.embedded import EmbeddedMongo

T = TypeVar("T")


def run_bench(main: Coroutine[Any, Any, None]) -> None:
    """Run a benchmark's `main`. SIGTERM (a `kill`, a CI time-out) cancels it as Ctrl-C does,
    so the servers it started are stopped on the way out rather than left running."""

    async def stoppable() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()

        def stop() -> None:  # once: a repeated SIGTERM must not cut the clean-up short
            loop.add_signal_handler(signal.SIGTERM, lambda: None)
            task.cancel()

        loop.add_signal_handler(signal.SIGTERM, stop)
        await main

    try:
        asyncio.run(stoppable())
    except asyncio.CancelledError:
        raise SystemExit(128 + signal.SIGTERM) from None


# Intake's rate limits and flood budgets out of the way: a benchmark is one client by design.
NO_RATE_LIMITS = {
    "INTAKE_RATE_LIMIT_PER_MINUTE": "1e9",
    "INTAKE_RATE_LIMIT_BURST": "1000000",
    "INTAKE_SUBMISSIONS_PER_MINUTE": "1e9",
    "INTAKE_SUBMISSIONS_BURST": "1000000",
    "INTAKE_REPORTS_PER_CONTENT_PER_MINUTE": "1e9",
    "INTAKE_REPORTS_PER_CONTENT_BURST": "1000000",
}


@asynccontextmanager
async def embedded_database() -> AsyncIterator[tuple[AsyncMongoClient[dict[str, Any]], int]]:
    """A fresh on-disk SecantusDB with journaled writes, as the services run it, a client of it
    as theirs (retryable writes off, aware datetimes), and the server's pid (for its CPU)."""
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedMongo(Path(tmp) / "db").start()
        assert server.process is not None
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            server.url, journal=True, retryWrites=False, tz_aware=True
        )
        try:
            yield client, server.process.pid
        finally:
            await client.close()
            server.stop()


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(name: str, seconds: Sequence[float]) -> str:
    """`name: p50 … p99 … max … (n=…)` in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return (
        f"{name}: p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
        f"max {max(ms, default=float('nan')):.1f} ms (n={len(ms)})"
    )


def load_note() -> str:
    """The machine's load averages and cores: figures depend on what else runs."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def core_note() -> str:
    """How fast one core of this machine runs the interpreter: a fixed pure-Python loop, best
    of three. Per-report CPU and rates from different machines (or days: a shared host's
    speed varies) compare only beside it."""
    best = min(timeit.repeat("sum(i * i for i in range(1_000_000))", number=1, repeat=3))
    return f"a fixed Python loop takes {best * 1000:.0f} ms on one core"


def cpu_seconds(pid: int) -> float:
    """User+system CPU seconds used so far by a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_now(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each process (by label)."""
    return {label: cpu_seconds(pid) for label, pid in pids.items()}


async def measured(pid: int, step: Awaitable[T]) -> tuple[T, float, float]:
    """What `step` returns, and the wall and process `pid`'s CPU milliseconds it took."""
    cpu, wall = cpu_seconds(pid), time.perf_counter()
    result = await step
    return result, (time.perf_counter() - wall) * 1000, (cpu_seconds(pid) - cpu) * 1000


def disk_mib(directory: Path) -> float:
    """Disk space taken by the files under `directory` (allocated blocks, as `du`), in MiB."""
    used = 0
    for folder, _, files in os.walk(directory):
        for name in files:
            # The database renames and deletes files as it goes: one may be gone by now.
            with contextlib.suppress(FileNotFoundError):
                used += os.lstat(os.path.join(folder, name)).st_blocks * 512
    return used / 2**20


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


_PAGES = itertools.count()


def sample_report(n: int) -> dict[str, Any]:
    """A valid report body; categories rotate so every agency gets work."""
    categories = [
        "hijacked_account",
        "impersonation",
        "scam_fraud",
        "false_information",
        "harmful_content",
        "confidential_leak",
        "member_misconduct",
    ]
    return {
        "category": categories[n % len(categories)],
        # A page of its own: reports about one content join one case (content_key).
        "content_urls": [f"https://www.facebook.com/bench{next(_PAGES)}"],
        "platform": "facebook",
        "description": f"Benchmark report number {n}: a page promising prizes for a fee.",
        "province": "Hà Nội",
        "reporter_kind": "citizen",
        "anonymous": True,
    }


async def drive(
    urls: str | Sequence[str],
    count: int,
    *,
    concurrency: int,
    rate: float | None = None,
    until: float | None = None,
    on_accepted: Callable[[int, dict[str, Any], float], Awaitable[None]] | None = None,
    report: Callable[[int], dict[str, Any]] = sample_report,
) -> tuple[list[float], float, int]:
    """POST `count` reports (the `n`th is `report(n)`) at `concurrency` (and at most `rate`/s),
    spread round-robin over `urls` (intake replicas), sending none after `until`
    (time.monotonic()); return latencies, elapsed, errors."""
    targets = [urls] if isinstance(urls, str) else list(urls)
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    started = time.monotonic()

    def more() -> bool:
        return not queue.empty() and (until is None or time.monotonic() < until)

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while more():
            n = queue.get_nowait()
            if rate:
                await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
                if until is not None and time.monotonic() >= until:
                    return
            url = targets[n % len(targets)]
            sent = time.monotonic()
            async with session.post(f"{url}/api/v1/reports", json=report(n)) as response:
                body = await response.json()
                if response.status != 201:
                    errors += 1
                    continue
            latencies.append(time.monotonic() - sent)
            if on_accepted:
                await on_accepted(n, body, time.time())

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return latencies, time.monotonic() - started, errors


def mean(values: Sequence[float]) -> float:
    """The mean, nan for none."""
    return statistics.fmean(values) if values else float("nan")


async def opcounters(url: str) -> dict[str, int]:
    """The database server's operation counters."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
    try:
        status = await client.admin.command("serverStatus")
    finally:
        await client.close()
    return dict(status["opcounters"])


async def delete_topology(connection: Any, topology: Topology) -> None:
    """Remove the benchmark's queues and exchanges."""
    channel = await connection.channel()
    for name in declared_queues():
        for full in (topology.queue(name), topology.queue(name) + ".dead"):
            await channel.queue_delete(full)
    for name in (topology.exchange, topology.alternate_exchange, topology.dead_letter_exchange):
        await channel.exchange_delete(name)


async def settle(condition: Callable[[], bool], *, timeout: float, every: float = 0.2) -> bool:
    """Poll `condition` until it holds or `timeout` passes; return whether it held."""
    for _ in range(max(1, int(timeout / every))):
        if condition():
            return True
        await asyncio.sleep(every)
    return condition()
