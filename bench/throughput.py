"""The whole system's throughput at a ladder of concurrencies, then unsaturated at half its peak.

    python -m bench.throughput [--concurrency 1 16 64] [--seconds 20] [--half-seconds 20]

Starts SecantusDB (journaled writes), intake, routing and notify as separate processes, as
bench.system does (deadlines of a few seconds, one escalation level), and drives intake over
HTTP from this process: at each concurrency for about `--seconds` (the count is sized from the
previous step's rate), then at a fixed offered rate of half the highest accepted rate. Each
step prints accepted reports/s, intake latency (POST -> 201) p50/p99, report -> `case.assigned`
delivered p50/p99, escalation lateness p99 (due -> `case.escalated` delivered), database
commands per accepted report, and CPU milliseconds per report of each process. Bounded: each
step is a fixed number of reports, and waits at most `--settle` seconds for its cases.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

from bench.common import (
    cpu_seconds,
    drive,
    load_note,
    opcounters,
    percentile,
    settle,
)
from bench.system import RunningSystem, running_system

SERVICES = ("intake", "routing", "notify")


@dataclass(frozen=True)
class Step:
    """What one load step measured."""

    title: str
    rate: float
    intake: list[float]
    routed: list[float]
    lateness: list[float]
    commands: float
    cpu_ms: dict[str, float]

    def line(self) -> str:
        ms = 1000
        cpu = ", ".join(f"{name} {value:.1f}" for name, value in self.cpu_ms.items())
        return (
            f"{self.title:<22} {self.rate:6.0f}/s  intake p50 {percentile(self.intake, 50) * ms:6.1f}"
            f" p99 {percentile(self.intake, 99) * ms:7.1f} ms  -> case.assigned p50"
            f" {percentile(self.routed, 50) * ms:7.1f} p99 {percentile(self.routed, 99) * ms:7.1f} ms"
            f"  escalation p99 {percentile(self.lateness, 99) * ms:7.1f} ms"
            f"  db commands/report {self.commands:4.1f}  CPU ms/report: {cpu}"
        )


async def step(
    system: RunningSystem, title: str, count: int, concurrency: int, rate: float | None, wait: float
) -> Step:
    """Drive one load pattern and wait (bounded) for its cases; its figures."""
    observer = system.observer
    before, lateness_from = set(observer.accepted), len(observer.lateness)
    ops_before = await opcounters(system.mongo_url)
    cpu_before = {name: cpu_seconds(pid) for name, pid in system.pids.items()}
    latencies, elapsed, errors = await drive(
        system.url, count, concurrency=concurrency, rate=rate, on_accepted=observer.on_accepted
    )
    codes = [c for c in observer.accepted if c not in before]
    await settle(lambda: len(observer.routed(codes)) >= len(codes), timeout=wait)
    await settle(lambda: len(observer.lateness) - lateness_from >= len(codes), timeout=wait)
    accepted = max(len(latencies), 1)
    ops_after = await opcounters(system.mongo_url)
    commands = sum(ops_after.values()) - sum(ops_before.values())
    if errors:
        print(f"  ({title}: {errors} submissions refused)")
    return Step(
        title,
        len(latencies) / elapsed,
        latencies,
        observer.routed(codes),
        observer.lateness[lateness_from:],
        commands / accepted,
        {
            name: (cpu_seconds(pid) - cpu_before[name]) * 1000 / accepted
            for name, pid in system.pids.items()
        },
    )


async def ladder(system: RunningSystem, args: argparse.Namespace) -> None:
    """Each concurrency, then half the peak rate; one line each."""
    rate, steps = 20.0, []
    for concurrency in args.concurrency:
        count = max(50, int(rate * args.seconds))
        done = await step(
            system, f"concurrency {concurrency}", count, concurrency, None, args.settle
        )
        print(done.line(), flush=True)
        steps.append(done)
        rate = max(rate, done.rate)
    peak = max(s.rate for s in steps)
    half = peak / 2
    count = max(50, int(half * args.half_seconds))
    title = f"rate {half:.0f}/s (half)"
    done = await step(system, title, count, max(args.concurrency), half, args.settle)
    print(done.line(), flush=True)


async def main(args: argparse.Namespace) -> None:
    """Start everything, run the ladder, clean up."""
    async with running_system() as system:
        started = time.monotonic()
        print(f"before: {load_note()}")
        await ladder(system, args)
        print(f"after: {load_note()}; whole run {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--seconds", type=float, default=20.0, help="about how long each step")
    parser.add_argument("--half-seconds", type=float, default=20.0)
    parser.add_argument(
        "--settle", type=float, default=60.0, help="longest wait for a step's cases"
    )
    asyncio.run(main(parser.parse_args()))
