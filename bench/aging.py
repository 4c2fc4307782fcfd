"""A long run at a fixed offered rate: does the system slow down as its database grows?

    python -m bench.throughput --minutes 30 [--rate R] [--profile-seconds S] [--replicas N]

Drives intake at `--rate` reports/s (default: half the routed rate of a first ~10 s step
at concurrency 64) in one-minute chunks of rate*60 reports (none sent after the minute is up),
for `--minutes`. Prints one line per minute: offered and accepted reports/s, intake p50/p99,
report -> `case.assigned` p50/p99 (each minute's cases are awaited, at most `--settle` s, while
the next minute runs), escalation lateness p99, lost and doubled reports, database CPU ms per
report, RSS of each process, the database's files on disk and the reports stored so far. At the
end: the first five minutes against the last five (rate, intake p99, case p99, ratio last/first)
and whether each is within 15 %. With `--profile-seconds S`, py-spy samples the database for S
seconds in the second and in the last minute, and the 15 functions with most own samples are
printed. Only per-minute figures (and the raw latencies of the two five-minute windows) are kept.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import time
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient

from bench.common import (
    core_note,
    cpu_seconds,
    disk_mib,
    drive,
    load_note,
    percentile,
    rss_mib,
    settle,
)
from bench.profiling import top_functions
from bench.steps import MS, step
from bench.system import RunningSystem, running_system

CONCURRENCY = 64
WITHIN = 0.15


@dataclass
class Minute:
    """What one minute of the run measured (latencies kept only while it may be compared)."""

    number: int
    offered: float
    sent: int
    accepted: int
    elapsed: float
    intake: list[float]
    database_cpu_ms: float
    rss: dict[str, float]
    storage_mib: float
    stored: int
    lateness: list[float]
    routed: list[float] = field(default_factory=list)
    lost: int = 0
    doubled: int = 0

    @property
    def rate(self) -> float:
        """Accepted reports per second."""
        return self.accepted / self.elapsed

    def line(self) -> str:
        """One line of figures."""
        rss = " ".join(f"{label} {mib:.0f}" for label, mib in self.rss.items())
        return (
            f"minute {self.number:3d}: offered {self.offered:5.1f}/s (sent {self.sent})"
            f" accepted {self.rate:5.1f}/s  intake p50 {percentile(self.intake, 50) * MS:6.1f}"
            f" p99 {percentile(self.intake, 99) * MS:7.1f} ms  -> case.assigned p50"
            f" {percentile(self.routed, 50) * MS:7.1f} p99 {percentile(self.routed, 99) * MS:7.1f} ms"
            f"  escalation p99 {percentile(self.lateness, 99) * MS:7.1f} ms"
            f"  lost {self.lost} doubled {self.doubled}"
            f"  db CPU ms/report {self.database_cpu_ms:5.1f}  RSS MiB: {rss}"
            f"  db files {self.storage_mib:6.1f} MiB, {self.stored} reports stored"
        )


class Windows:
    """The first and the last `size` minutes, for the comparison at the end."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.first: list[Minute] = []
        self.last: collections.deque[Minute] = collections.deque(maxlen=size)

    def add(self, minute: Minute) -> None:
        if len(self.first) < self.size:
            self.first.append(minute)
        self.last.append(minute)

    def lines(self) -> list[str]:
        """Rate, intake p99 and case p99 of both windows, their ratios, and the verdict."""
        first, last = self.first, list(self.last)
        figures = [
            ("accepted", rate(first), rate(last), "/s"),
            ("intake p99", p99(first, "intake"), p99(last, "intake"), " ms"),
            ("case p99", p99(first, "routed"), p99(last, "routed"), " ms"),
        ]
        if first[0] is last[0]:
            return ["one minute: nothing to compare"]
        lines, ok = [f"first {self.size} min vs last {self.size} min (last/first):"], True
        for name, before, after, unit in figures:
            ratio = after / before if before else float("nan")
            ok = ok and abs(ratio - 1) <= WITHIN
            lines.append(f"  {name:<11} {before:8.1f}{unit} -> {after:8.1f}{unit}  {ratio:5.2f}")
        verdict = "within" if ok else "NOT within"
        lines.append(f"  {verdict} {WITHIN:.0%} on all three")
        return lines


def rate(minutes: list[Minute]) -> float:
    """Accepted reports per second over some minutes."""
    return sum(m.accepted for m in minutes) / sum(m.elapsed for m in minutes)


def p99(minutes: list[Minute], what: str) -> float:
    """The 99th percentile in ms of `intake` or `routed` over some minutes."""
    return percentile([v for m in minutes for v in getattr(m, what)], 99) * MS


async def stored_reports(client: AsyncMongoClient[dict[str, Any]]) -> int:
    """How many reports intake has stored."""
    return await client["intake"]["reports"].estimated_document_count()


async def drive_minute(
    system: RunningSystem, client: AsyncMongoClient[dict[str, Any]], number: int, offered: float
) -> tuple[Minute, list[str]]:
    """Offer `offered` reports/s for one minute; its figures so far and its accepted codes."""
    databases = list(system.database_pids.values())
    codes: list[str] = []

    async def accepted(n: int, body: dict[str, Any], at: float) -> None:
        codes.append(body["tracking_code"])
        await system.observer.on_accepted(n, body, at)

    cpu_before = sum(map(cpu_seconds, databases))
    latencies, elapsed, errors = await drive(
        system.urls,
        int(offered * 60),
        concurrency=CONCURRENCY,
        rate=offered,
        until=time.monotonic() + 60,
        on_accepted=accepted,
    )
    cpu_ms = (sum(map(cpu_seconds, databases)) - cpu_before) * MS / max(len(latencies), 1)
    lateness = system.observer.lateness[:]
    system.observer.lateness.clear()
    minute = Minute(
        number,
        offered,
        len(latencies) + errors,
        len(latencies),
        elapsed,
        latencies,
        cpu_ms,
        {label: rss_mib(pid) for label, pid in system.pids.items()},
        await asyncio.to_thread(disk_mib, system.storage),
        await stored_reports(client),
        lateness,
    )
    return minute, codes


async def finish(
    system: RunningSystem,
    minute: Minute,
    codes: list[str],
    *,
    wait: float,
    profile: asyncio.Task[list[str]] | None,
    previous: asyncio.Task[None] | None,
    windows: Windows,
) -> None:
    """Wait (bounded) for a minute's cases, then print it after the minute before."""
    observer = system.observer
    await settle(lambda: len(observer.routed(codes)) >= len(codes), timeout=wait)
    minute.routed = observer.routed(codes)
    minute.lost, minute.doubled = observer.lost(codes), observer.doubled(codes)
    observer.forget(codes)
    lines = [minute.line()]
    if profile is not None:
        lines += [f"  database profile, minute {minute.number}:"]
        lines += ["    " + line for line in await profile]
    if previous is not None:
        await previous
    print("\n".join(lines), flush=True)
    windows.add(minute)


async def measured_rate(system: RunningSystem, settle_seconds: float) -> float:
    """Half the routed rate (cases assigned per second) of about ten seconds at concurrency 64:
    intake alone accepts far more than routing and notify keep up with."""
    done = await step(
        system, "concurrency 64 (10 s)", 100_000, CONCURRENCY, None, settle_seconds, seconds=10
    )
    print(done.line(), flush=True)
    if done.lost:
        print(
            f"  ({done.lost} of those reports had no case within {settle_seconds:.0f} s: the"
            " routed rate undercounts; consider --rate)"
        )
    system.observer.forget(list(system.observer.accepted))
    system.observer.lateness.clear()
    return done.routed_rate / 2


async def profile_databases(system: RunningSystem, seconds: float) -> list[str]:
    """The top functions of each database server over the same `seconds`."""
    labels = list(system.database_pids)
    profiles = await asyncio.gather(
        *(top_functions(pid, seconds) for pid in system.database_pids.values())
    )
    if len(labels) == 1:
        return profiles[0]
    return [line for label, lines in zip(labels, profiles, strict=True) for line in [label, *lines]]


def profiled_minutes(minutes: int) -> set[int]:
    """The second and the last minute (the first, if there is only one)."""
    return {min(2, minutes), minutes}


async def run_minutes(system: RunningSystem, args: argparse.Namespace, offered: float) -> Windows:
    """Every minute in turn, each finished (awaited and printed) while the next one runs."""
    windows = Windows(max(1, min(5, args.minutes // 2)))
    previous: asyncio.Task[None] | None = None
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(system.mongo_urls["intake"])
    try:
        for number in range(1, args.minutes + 1):
            profile = None
            if args.profile_seconds and number in profiled_minutes(args.minutes):
                profile = asyncio.create_task(profile_databases(system, args.profile_seconds))
            minute, codes = await drive_minute(system, client, number, offered)
            previous = asyncio.create_task(
                finish(
                    system,
                    minute,
                    codes,
                    wait=args.settle,
                    profile=profile,
                    previous=previous,
                    windows=windows,
                )
            )
        if previous is not None:
            await previous
    finally:
        await client.close()
    return windows


async def age(args: argparse.Namespace) -> None:
    """Start the system, run the minutes, print the comparison."""
    async with running_system(
        args.replicas, keep_logs=args.keep_logs, shared_database=args.shared_database
    ) as system:
        started = time.monotonic()
        print(
            f"{args.replicas} replica(s) of each service; before: {load_note()}; {core_note()}",
            flush=True,
        )
        offered = args.rate or await measured_rate(system, args.settle)
        print(f"offering {offered:.1f} reports/s for {args.minutes} min", flush=True)
        windows = await run_minutes(system, args, offered)
        print("\n".join(windows.lines()))
        print(f"after: {load_note()}; whole run {time.monotonic() - started:.0f} s", flush=True)
