"""What each report costs the database, per service: commands and documents written.

    python -m bench.writes [--reports 300] [--concurrency 16]

Starts the whole system as bench.throughput does (one escalation per case, a few seconds after
its assignment), turns on the database profiler (level 2: every command) in the three
services' databases, drives `--reports` reports, waits for their cases and escalations, and
reads the profiles back. Prints, per collection and operation, commands per report and
documents written per report (one per inserted document or update statement), then the
totals per service. The profiler adds its own cost, so this measures counts, not time.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from typing import Any

from pymongo import AsyncMongoClient

from bench.common import drive, run_bench, settle
from bench.system import running_system

DATABASES = ("intake", "routing", "notify")
WRITES = ("insert", "update", "remove")


def written(entry: dict[str, Any]) -> int:
    """Documents one profiled command wrote: one per statement (SecantusDB's profile entries
    do not say how many documents an `update_many` matched; in this flow each matches one)."""
    if entry.get("op") not in WRITES:
        return 0
    command = entry.get("command") or {}
    statements = command.get("documents") or command.get("updates") or command.get("deletes")
    return len(statements or [])


async def profiled(client: AsyncMongoClient[dict[str, Any]]) -> tuple[Counter[Any], Counter[Any]]:
    """Commands and documents written per (namespace, operation), from the profiles."""
    commands: Counter[Any] = Counter()
    documents: Counter[Any] = Counter()
    for name in DATABASES:
        async for entry in client[name]["system.profile"].find({}):
            key = (entry.get("ns", "?"), entry.get("op", "?"))
            commands[key] += 1
            documents[key] += written(entry)
    return commands, documents


def table(commands: Counter[Any], documents: Counter[Any], reports: int) -> list[str]:
    """One line per namespace and operation, then per service."""
    lines = [f"{'collection':<28} {'op':<8} {'commands/report':>16} {'documents/report':>17}"]
    for (ns, op), count in sorted(commands.items(), key=lambda kv: -kv[1]):
        docs = documents[(ns, op)] / reports
        lines.append(f"{ns:<28} {op:<8} {count / reports:16.2f} {docs:17.2f}")
    for service in DATABASES:
        mine = [k for k in commands if k[0].startswith(f"{service}.")]
        total = sum(commands[k] for k in mine) / reports
        docs = sum(documents[k] for k in mine) / reports
        lines.append(f"{service + ' (all)':<37} {total:16.2f} {docs:17.2f}")
    return lines


async def main(args: argparse.Namespace) -> None:
    """Profile one run and print the table."""
    async with running_system() as system:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(system.mongo_url)
        try:
            for name in DATABASES:
                await client[name].command("profile", 2)
            observer = system.observer
            latencies, _, _ = await drive(
                system.urls,
                args.reports,
                concurrency=args.concurrency,
                on_accepted=observer.on_accepted,
            )
            codes = list(observer.accepted)
            await settle(lambda: len(observer.routed(codes)) >= len(codes), timeout=120)
            await settle(lambda: len(observer.lateness) >= len(codes), timeout=120)
            await asyncio.sleep(2)  # the last relays' rounds
            for name in DATABASES:
                await client[name].command("profile", 0)
            commands, documents = await profiled(client)
        finally:
            await client.close()
    reports = max(len(latencies), 1)
    print(
        f"{reports} reports, {len(observer.routed(codes))} cases assigned, {len(observer.lateness)} escalations"
    )
    print("\n".join(table(commands, documents, reports)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    run_bench(main(parser.parse_args()))
