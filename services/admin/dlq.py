"""`incidents-admin dlq`: dead-lettered messages: list the `.dead` queues, show, replay.

A consumer queue dead-letters a message it cannot process (it does not parse, no handler, or
the handler failed past the delivery limit) into its `<queue>.dead` twin, through the
topology's dead-letter exchange. `replay` puts messages back, once their cause is fixed, on the
queue they died in (or, with `--to-exchange`, on the exchange and routing key they were first
published with, which reaches every queue bound to that key), each acknowledged in the dead
queue only after the broker confirmed its copy.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from aio_pika.exceptions import (
    AMQPError,
    ChannelClosed,
    ChannelInvalidStateError,
    DeliveryError,
    PublishError,
)
from yarl import URL

from services.admin.arguments import CommandError, positive_int
from services.admin.deadletters import (
    dead_queue_name,
    death_of,
    describe,
    render_message,
    render_replay,
    replay_copy,
    replay_target,
)
from services.common.amqp import Topology
from services.common.brokerpolicy import BrokerPolicies, BrokerPolicyError, ManagementEndpoint
from services.common.settings import CommonSettings

CONNECT_TIMEOUT_SECONDS = 10.0
CONFIRM_TIMEOUT_SECONDS = 10.0


def register(commands: Any) -> None:
    """Add `dlq list|show|replay`."""
    dlq = commands.add_parser(
        "dlq",
        help="dead-lettered messages: list, show, replay",
        description="Inspect and replay the messages consumers dead-lettered into the "
        "`<queue>.dead` queues.",
    )
    actions = dlq.add_subparsers(dest="dlq_action", metavar="ACTION", required=True)
    broker = _broker_options()
    listing = actions.add_parser(
        "list", parents=[broker], help="each .dead queue and its message count"
    )
    listing.set_defaults(handler=list_command)
    show = actions.add_parser("show", parents=[broker], help="the messages in a .dead queue")
    show.add_argument("queue", metavar="QUEUE", help="e.g. routing.reports.dead (prefix implied)")
    show.add_argument("--limit", type=positive_int, default=20, help="most messages shown (20)")
    show.set_defaults(handler=show_command)
    replay = actions.add_parser(
        "replay", parents=[broker], help="republish dead letters once their cause is fixed"
    )
    replay.add_argument("queue", metavar="QUEUE", help="e.g. routing.reports.dead")
    chosen = replay.add_mutually_exclusive_group(required=True)
    chosen.add_argument(
        "--message-id", action="append", dest="message_ids", metavar="ID", help="repeatable"
    )
    chosen.add_argument("--all", action="store_true", help="every message in the queue")
    replay.add_argument(
        "--dry-run", action="store_true", help="say what would happen; change nothing"
    )
    replay.add_argument(
        "--to-exchange",
        action="store_true",
        help="republish to the original exchange and routing key (every queue bound to it "
        "gets a copy) instead of the queue the message died in",
    )
    replay.set_defaults(handler=replay_command)


def _broker_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--amqp-url",
        default=os.environ.get("AMQP_URL", CommonSettings.model_fields["amqp_url"].default),
        help="RabbitMQ (default: $AMQP_URL or the services' local default)",
    )
    options.add_argument(
        "--management-url",
        default=os.environ.get("RABBITMQ_MANAGEMENT_URL"),
        help="RabbitMQ management API (default: the AMQP host on port 15672)",
    )
    options.add_argument(
        "--prefix",
        default=os.environ.get("TOPOLOGY_PREFIX", ""),
        help="the topology's name prefix (default: $TOPOLOGY_PREFIX or none)",
    )
    options.add_argument("--json", action="store_true", help="print JSON for scripts")
    return options


# ---- the commands ----


async def list_command(args: argparse.Namespace) -> int:
    """`dlq list`: each `.dead` queue of the topology with its message count."""
    try:
        rows = await _dead_queues(args)
    except CommandError as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    elif not rows:
        print("no dead-letter queues")
    else:
        width = max(len(row["queue"]) for row in rows)
        for row in rows:
            print(f"{row['queue']:<{width}}  {row['messages']:>8}")
    return 0


async def _dead_queues(args: argparse.Namespace) -> list[dict[str, Any]]:
    topology = Topology(args.prefix)
    endpoint = ManagementEndpoint.of(args.amqp_url, args.management_url)
    try:
        async with BrokerPolicies.open(endpoint) as management:
            names = await management.bound_queues(topology.dead_letter_exchange)
    except BrokerPolicyError as exc:
        raise CommandError(str(exc)) from exc
    if names is None:
        raise CommandError(
            f"no dead-letter exchange {topology.dead_letter_exchange!r} on the broker: "
            "is --prefix right, and has a service started there?"
        )
    rows = []
    async with _channel(args.amqp_url) as channel:
        for name in names:
            queue = await _existing_queue(channel, name)
            rows.append(
                {
                    "queue": name,
                    "messages": queue.declaration_result.message_count,
                    "consumers": queue.declaration_result.consumer_count,
                }
            )
    return rows


async def show_command(args: argparse.Namespace) -> int:
    """`dlq show QUEUE`: up to `--limit` messages, left in the queue."""
    name = dead_queue_name(args.queue, args.prefix)
    try:
        async with _channel(args.amqp_url) as channel:
            queue = await _existing_queue(channel, name)
            held = await _take(queue, args.limit)
            items = [describe(message) for message in held]
            await _give_back(held)
    except CommandError as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps({"queue": name, "messages": items}, ensure_ascii=False))
        return 0
    total = queue.declaration_result.message_count
    print(f"{name}: {total} message(s), showing {len(items)}")
    for item in items:
        print(render_message(item))
    return 0


async def replay_command(args: argparse.Namespace) -> int:
    """`dlq replay QUEUE`: republish the chosen dead letters with confirms, then ack each."""
    name = dead_queue_name(args.queue, args.prefix)
    wanted = None if args.all else set(args.message_ids)
    try:
        async with _channel(args.amqp_url, confirms=True) as channel:
            queue = await _existing_queue(channel, name)
            report = await _replay(channel, queue, wanted, args)
    except CommandError as exc:
        return _fail(exc)
    missing = sorted((wanted or set()) - {row["message_id"] for row in report["messages"]})
    report["not_found"] = missing
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(render_replay(report, dry_run=args.dry_run))
    failed = any(row["outcome"] in ("failed", "skipped") for row in report["messages"])
    return 1 if failed or missing else 0


async def _replay(
    channel: AbstractChannel,
    queue: AbstractQueue,
    wanted: set[str] | None,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Go through the messages present now (a replayed message that dies again lands behind
    them and is not seen twice); replay the chosen ones; give the others back."""
    present = queue.declaration_result.message_count or 0
    held = await _take(queue, present)
    rows: list[dict[str, Any]] = []
    kept = list(held)
    try:
        for message in held:
            if wanted is not None and message.message_id not in wanted:
                continue
            rows.append(await _replay_one(channel, queue.name, message, args))
            if rows[-1]["outcome"] == "replayed":
                kept.remove(message)
            elif rows[-1]["outcome"] == "failed":
                break
    finally:
        await _give_back(kept)
    return {"queue": queue.name, "dry_run": args.dry_run, "messages": rows}


async def _replay_one(
    channel: AbstractChannel,
    dead_queue: str,
    message: AbstractIncomingMessage,
    args: argparse.Namespace,
) -> dict[str, Any]:
    target = replay_target(death_of(message.headers), to_exchange=args.to_exchange)
    row: dict[str, Any] = {"message_id": message.message_id, "type": message.type}
    if target is None:
        return {**row, "outcome": "skipped", "error": "no x-death header naming where it died"}
    row["target"] = str(target)
    if args.dry_run:
        return {**row, "outcome": "would replay"}
    try:
        exchange = (
            channel.default_exchange
            if not target.exchange
            else await channel.get_exchange(target.exchange, ensure=True)
        )
        await exchange.publish(
            replay_copy(message, dead_queue),
            routing_key=target.routing_key,
            mandatory=True,
            timeout=CONFIRM_TIMEOUT_SECONDS,
        )
    except (DeliveryError, PublishError, AMQPError, TimeoutError) as exc:
        return {**row, "outcome": "failed", "error": f"not confirmed: {exc!r}"}
    await message.ack()
    return {**row, "outcome": "replayed"}


# ---- the broker ----


@asynccontextmanager
async def _channel(url: str, *, confirms: bool = False) -> AsyncIterator[AbstractChannel]:
    """A connection and one channel; a connection failure is a `CommandError`."""
    # The driver logs the failure itself; the operator gets one line from us instead.
    logging.getLogger("aiormq.connection").setLevel(logging.CRITICAL)
    try:
        connection = await aio_pika.connect(url, timeout=CONNECT_TIMEOUT_SECONDS)
    except (AMQPError, OSError, TimeoutError) as exc:
        raise CommandError(f"cannot connect to RabbitMQ at {_masked(url)}: {exc}") from exc
    async with connection:
        channel = await connection.channel(publisher_confirms=confirms, on_return_raises=confirms)
        yield channel


async def _existing_queue(channel: AbstractChannel, name: str) -> AbstractQueue:
    try:
        return await channel.declare_queue(name, passive=True)
    except ChannelClosed as exc:
        raise CommandError(f"no queue named {name!r} (see `incidents-admin dlq list`)") from exc


async def _take(queue: AbstractQueue, limit: int) -> list[AbstractIncomingMessage]:
    """Up to `limit` messages, held unacknowledged (they stay in the queue until acked)."""
    held: list[AbstractIncomingMessage] = []
    while len(held) < limit and (message := await queue.get(no_ack=False, fail=False)):
        held.append(message)
    return held


async def _give_back(messages: list[AbstractIncomingMessage]) -> None:
    """Return held messages to the queue (a closed channel has returned them already)."""
    try:
        for message in messages:
            await message.nack(requeue=True)
    except (AMQPError, ChannelInvalidStateError):
        pass


def _masked(url: str) -> str:
    parsed = URL(url)
    return str(parsed.with_password("***")) if parsed.password else url


def _fail(exc: Exception) -> int:
    print(f"incidents-admin: {exc}", file=sys.stderr)
    return 1
