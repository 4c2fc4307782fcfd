"""One load step against a running system, and what it measured (for bench.throughput)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bench.common import cpu_now, drive, opcounters, percentile, settle
from bench.system import RunningSystem

MS = 1000


def service_of(label: str) -> str:
    """The service a process label names: `intake-2` -> `intake`, `database-intake` ->
    `database`."""
    return label.split("-", 1)[0]


def cpu_line(cpu_ms: dict[str, float]) -> str:
    """CPU per report summed per service, with each replica's share when there are several."""
    services: dict[str, list[float]] = {}
    for label, value in cpu_ms.items():
        services.setdefault(service_of(label), []).append(value)
    parts = []
    for name, values in services.items():
        shares = f" ({'+'.join(f'{v:.1f}' for v in values)})" if len(values) > 1 else ""
        parts.append(f"{name} {sum(values):.1f}{shares}")
    return ", ".join(parts)


def stages_line(stages: dict[str, list[float]]) -> str:
    """Each stage's p50/p99 in milliseconds."""
    return ", ".join(
        f"{name} {percentile(v, 50) * MS:.0f}/{percentile(v, 99) * MS:.0f}"
        for name, v in stages.items()
    )


def served(counted: dict[str, dict[str, int]]) -> int:
    """The commands in `commands_by_server`'s counters, summed over servers and kinds."""
    return sum(sum(ops.values()) for ops in counted.values())


async def commands_by_server(system: RunningSystem) -> dict[str, dict[str, int]]:
    """Each database server's operation counters by kind (insert, query, update, delete,
    getmore, command), labelled by the services it serves (`intake`, or
    `intake+notify+routing` for one shared server)."""
    names = {
        url: "+".join(sorted(s for s, u in system.mongo_urls.items() if u == url))
        for url in system.servers
    }
    counted = await asyncio.gather(*(opcounters(url) for url in system.servers))
    return {names[url]: ops for url, ops in zip(system.servers, counted, strict=True)}


def commands_line(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], reports: int
) -> str:
    """Commands per report of each server, with the kinds that made them up."""
    parts = []
    for server, ops in after.items():
        kinds = {k: (v - before[server].get(k, 0)) / max(reports, 1) for k, v in ops.items()}
        detail = ", ".join(f"{k} {v:.2f}" for k, v in kinds.items() if v >= 0.005)
        parts.append(f"{server} {sum(kinds.values()):.2f} ({detail})")
    return "db commands/report by server: " + "; ".join(parts)


async def idle_line(system: RunningSystem, seconds: float = 5.0) -> str:
    """What the system costs the database with nothing to do (its loops looking for work): a
    step's per-report figures include this for every second the step waits."""
    ops_before, cpu_before = await commands_by_server(system), cpu_now(system.database_pids)
    await asyncio.sleep(seconds)
    ops_after, cpu_after = await commands_by_server(system), cpu_now(system.database_pids)
    per_second = (served(ops_after) - served(ops_before)) / seconds
    database = (sum(cpu_after.values()) - sum(cpu_before.values())) * MS / seconds
    return f"idle: {per_second:.1f} database commands/s, database CPU {database:.0f} ms/s"


def cpu_ms_per(before: dict[str, float], after: dict[str, float], reports: int) -> dict[str, float]:
    """CPU milliseconds per report of each process between two readings."""
    return {label: (after[label] - before[label]) * MS / max(reports, 1) for label in before}


@dataclass(frozen=True)
class Step:
    """What one load step measured."""

    title: str
    rate: float  # accepted by intake
    routed_rate: float  # cases assigned, from the step's start to its last `case.assigned`
    intake: list[float]
    routed: list[float]
    stages: dict[str, list[float]]  # Observer.stages
    lateness: list[float]
    commands: float
    commands_detail: str  # commands_line
    cpu_ms: dict[str, float]
    lost: int
    doubled: int

    def line(self) -> str:
        """One line: rate, latencies, commands, correctness, CPU per report."""
        return (
            f"{self.title:<22} {self.rate:6.0f}/s (routed {self.routed_rate:4.0f}/s)  intake p50 {percentile(self.intake, 50) * MS:6.1f}"
            f" p99 {percentile(self.intake, 99) * MS:7.1f} ms  -> case.assigned p50"
            f" {percentile(self.routed, 50) * MS:7.1f} p99 {percentile(self.routed, 99) * MS:7.1f} ms"
            f" ({stages_line(self.stages)})"
            f"  escalation p99 {percentile(self.lateness, 99) * MS:7.1f} ms"
            f"  lost {self.lost} doubled {self.doubled}"
            f"  db commands/report {self.commands:4.1f}  CPU ms/report: {cpu_line(self.cpu_ms)}"
            f"\n    {self.commands_detail}"
        )


async def step(
    system: RunningSystem,
    title: str,
    count: int,
    concurrency: int,
    rate: float | None,
    wait: float,
    *,
    seconds: float | None = None,
) -> Step:
    """Drive one load pattern (at most `seconds`, if given) and wait (bounded) for its cases."""
    observer = system.observer
    before, lateness_from = set(observer.accepted), len(observer.lateness)
    ops_before = await commands_by_server(system)
    cpu_before = cpu_now(system.pids)
    until = None if seconds is None else time.monotonic() + seconds
    started = time.time()
    latencies, elapsed, errors = await drive(
        system.urls,
        count,
        concurrency=concurrency,
        rate=rate,
        until=until,
        on_accepted=observer.on_accepted,
    )
    codes = [c for c in observer.accepted if c not in before]
    await settle(lambda: len(observer.routed(codes)) >= len(codes), timeout=wait)
    await settle(lambda: len(observer.lateness) - lateness_from >= len(codes), timeout=wait)
    ops_after = await commands_by_server(system)
    if errors:
        print(f"  ({title}: {errors} submissions refused)")
    routed_at = [observer.assigned[c] for c in codes if c in observer.assigned]
    routed_rate = len(routed_at) / max(max(routed_at, default=started) - started, 1e-9)
    return Step(
        title,
        len(latencies) / elapsed,
        routed_rate,
        latencies,
        observer.routed(codes),
        observer.stages(codes),
        observer.lateness[lateness_from:],
        (served(ops_after) - served(ops_before)) / max(len(latencies), 1),
        commands_line(ops_before, ops_after, len(latencies)),
        cpu_ms_per(cpu_before, cpu_now(system.pids), len(latencies)),
        observer.lost(codes),
        observer.doubled(codes),
    )
