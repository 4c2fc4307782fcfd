"""RabbitMQ in one place: the topology, confirmed persistent publishing, and the consume helper."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)
from aio_pika.exceptions import AMQPError, ChannelInvalidStateError
from opentelemetry.context import Context
from pydantic import ValidationError

from services.common import metrics, tracing
from services.common.acks import Acks
from services.common.batching import Coalescer
from services.common.brokerpolicy import (
    BrokerPolicies,
    ManagementEndpoint,
    dead_letter_policy,
    legacy_arguments,
    policy_name,
)
from services.common.contracts import AnyEvent, parse_event
from services.common.errortext import describe
from services.common.mongo import TRANSIENT_MONGO_ERRORS
from services.common.runtime import raise_if_cancelling

log = logging.getLogger(__name__)

T = TypeVar("T")

EXCHANGE = "incidents"
# Every queue is a quorum queue; limits and dead-lettering come from a policy.
QUORUM: dict[str, Any] = {"x-queue-type": "quorum"}
# What a broker outage raises; a loop waits these out instead of failing.
TRANSIENT_BROKER_ERRORS: tuple[type[BaseException], ...] = (
    AMQPError,
    ChannelInvalidStateError,
    ConnectionError,
    TimeoutError,
)
# A handler receives the event type it is registered for (the dispatch is by `type`).
Handler = Callable[[Any], Awaitable[None]]
# A batch handler receives several events of its type; it returns, per event in order, None
# (its effect is stored) or the error that event alone gets.
BatchHandler = Callable[[list[Any]], Awaitable[Sequence[BaseException | None]]]


@dataclass(frozen=True)
class Batched:
    """Registers a batch handler: up to `max_batch` events are handled by one call (and so,
    typically, one database command), each message acked only once its effect is stored."""

    handle: BatchHandler
    max_batch: int = 64
    linger_seconds: float = 0.005


@dataclass(frozen=True)
class Delivered:
    """An event on its way into a batch, with the trace context of the message it came in."""

    event: AnyEvent
    context: Context | None


@dataclass(frozen=True)
class Topology:
    """Exchange and queue names; a prefix isolates one deployment (or test run) from another."""

    prefix: str = ""

    @property
    def exchange(self) -> str:
        """The durable topic exchange every event is published to."""
        return f"{self.prefix}{EXCHANGE}"

    @property
    def alternate_exchange(self) -> str:
        """Where unroutable messages go instead of the void."""
        return f"{self.prefix}{EXCHANGE}.unroutable"

    @property
    def unroutable_queue(self) -> str:
        """The queue that keeps unroutable messages."""
        return f"{self.prefix}unroutable"

    @property
    def dead_letter_exchange(self) -> str:
        """The direct exchange behind every consumer queue."""
        return f"{self.prefix}{EXCHANGE}.dlx"

    def queue(self, name: str) -> str:
        """The full name of a queue."""
        return f"{self.prefix}{name}"


@dataclass(frozen=True)
class QueueSpec:
    """A consumer queue: its name (without prefix) and the routing keys it binds."""

    name: str
    bindings: tuple[str, ...]


def agency_queue(agency: str) -> QueueSpec:
    """The queue an agency consumes its cases from."""
    return QueueSpec(f"agency.{agency}.cases", (f"case.*.{agency}",))


def queue_arguments() -> dict[str, Any]:
    """Consumer queue arguments: a quorum queue, nothing else.

    The delivery limit and dead-lettering are a broker policy (see
    `services.common.brokerpolicy`), which, unlike an argument, changes on a running queue.
    """
    return dict(QUORUM)


async def declare_exchanges(channel: AbstractChannel, topology: Topology) -> AbstractExchange:
    """Declare (idempotently) the main, alternate and dead-letter exchanges; return the main one."""
    alternate = await channel.declare_exchange(
        topology.alternate_exchange, aio_pika.ExchangeType.FANOUT, durable=True
    )
    unroutable = await channel.declare_queue(
        topology.unroutable_queue, durable=True, arguments=QUORUM
    )
    await unroutable.bind(alternate)
    await channel.declare_exchange(
        topology.dead_letter_exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )
    return await channel.declare_exchange(
        topology.exchange,
        aio_pika.ExchangeType.TOPIC,
        durable=True,
        arguments={"alternate-exchange": topology.alternate_exchange},
    )


async def delete_topology(
    channel: AbstractChannel,
    topology: Topology,
    queues: Iterable[str],
    *,
    management: ManagementEndpoint | None = None,
) -> None:
    """Delete the named queues (and their `.dead` twins), their policies and the exchanges of
    `topology`."""
    names = [topology.queue(q) for q in queues]
    for name in [*names, *(f"{n}.dead" for n in names)]:
        await channel.queue_delete(name)
    for exchange in (topology.exchange, topology.alternate_exchange, topology.dead_letter_exchange):
        await channel.exchange_delete(exchange)
    async with BrokerPolicies.open(management or await management_of(channel)) as policies:
        for name in names:
            await policies.delete(policy_name(name))


async def declare_queue(
    channel: AbstractChannel,
    topology: Topology,
    spec: QueueSpec,
    *,
    delivery_limit: int,
    management: ManagementEndpoint | None = None,
) -> AbstractQueue:
    """Apply the queue's policy (delivery limit, at-least-once dead-lettering to `<name>.dead`),
    then declare the queue, its `.dead` queue and its bindings (idempotent).

    The policy comes first, so a new queue never runs without its limit. `management` is the
    management API (by default the connection's host on its usual port); when it cannot be
    reached this raises `BrokerPolicyError`.
    """
    name = topology.queue(spec.name)
    policy = dead_letter_policy(
        name, dead_letter_exchange=topology.dead_letter_exchange, delivery_limit=delivery_limit
    )
    async with BrokerPolicies.open(management or await management_of(channel)) as policies:
        await policies.apply(policy)
        dead = await channel.declare_queue(f"{name}.dead", durable=True, arguments=QUORUM)
        await dead.bind(topology.dead_letter_exchange, routing_key=name)
        queue = await _declare_consumer_queue(channel, name, policies)
    for key in spec.bindings:
        await queue.bind(topology.exchange, routing_key=key)
    return queue


async def management_of(channel: AbstractChannel) -> ManagementEndpoint:
    """The management API of the broker `channel` is connected to (on its usual port)."""
    underlay = await channel.get_underlay_channel()
    return ManagementEndpoint.of(underlay.connection.url)


async def _declare_consumer_queue(
    channel: AbstractChannel, name: str, policies: BrokerPolicies
) -> AbstractQueue:
    """Declare a consumer queue. One an earlier release declared with limit and dead-letter
    arguments is used as it is (redeclaring it with other arguments would fail), with a
    warning: its arguments beat the policy for the keys they fix."""
    existing = await policies.queue(name) or {}
    legacy = legacy_arguments(existing)
    if not legacy or existing.get("arguments", {}).get("x-queue-type") != "quorum":
        return await channel.declare_queue(name, durable=True, arguments=queue_arguments())
    log.warning(
        "queue %s was declared with arguments %s, which override its broker policy %s for "
        "those keys (a change of DELIVERY_LIMIT does not reach it); to migrate, stop its "
        "consumers, move or drain its messages, delete it (rabbitmqctl delete_queue %s) and "
        "start the service again: it declares the queue without them",
        name,
        sorted(legacy),
        policy_name(name),
        name,
        extra={"queue": name, "legacy_arguments": legacy, "policy": policy_name(name)},
    )
    return await channel.declare_queue(name, passive=True)


async def connect(url: str, *, max_delay: float = 10.0) -> AbstractRobustConnection:
    """Connect robustly, retrying the first connection with back-off until the broker answers."""
    delay = 0.5
    while True:
        try:
            return await aio_pika.connect_robust(url, client_properties={"connection_name": "svc"})
        except (TimeoutError, OSError, AMQPError) as exc:
            log.warning(
                "broker not reachable, retrying",
                extra={"amqp_error": describe(exc), "retry_in_seconds": delay},
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)


def to_message(
    event_id: str, event_type: str, body: bytes, trace: Mapping[str, str] | None = None
) -> aio_pika.Message:
    """A persistent JSON message whose `message_id` is the event id; `trace` (the stored
    `traceparent`/`tracestate`) goes in the headers, where the publish span replaces it with
    its own when tracing is on."""
    return aio_pika.Message(
        body,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=event_id,
        type=event_type,
        headers={**(trace or {}), "type": event_type},
    )


@dataclass(frozen=True)
class OutgoingMessage:
    """One serialised event ready to publish."""

    event_id: str
    event_type: str
    routing_key: str
    body: bytes
    trace: Mapping[str, str] = field(default_factory=dict)  # the context it is published in

    @classmethod
    def of(cls, event: AnyEvent) -> OutgoingMessage:
        """Serialise an event for the wire (published in the current context)."""
        return cls(
            event.event_id, event.type, event.routing_key(), event.model_dump_json().encode()
        )


class Publisher:
    """Publishes to the `incidents` exchange with publisher confirms, many messages at once."""

    def __init__(self, channel: AbstractChannel, exchange: AbstractExchange) -> None:
        self.channel = channel
        self.exchange = exchange

    @classmethod
    async def open(cls, connection: AbstractRobustConnection, topology: Topology) -> Publisher:
        """Open a confirming channel that raises on returned messages and declare the exchanges."""
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await declare_exchanges(channel, topology)
        return cls(channel, exchange)

    async def publish_many(
        self, messages: Iterable[OutgoingMessage], *, timeout: float = 10
    ) -> None:
        """Publish all messages and wait for every confirm together; raise if any failed."""
        await asyncio.gather(*(self._publish(m, timeout) for m in messages))

    async def _publish(self, message: OutgoingMessage, timeout: float) -> None:
        """One publish, in the context the message was stored in (each runs in its own task)."""
        with tracing.resumed(message.trace):
            await self.exchange.publish(
                to_message(message.event_id, message.event_type, message.body, message.trace),
                routing_key=message.routing_key,
                mandatory=True,
                timeout=timeout,
            )

    async def publish(self, event: AnyEvent) -> None:
        """Publish one event and wait for its confirm."""
        await self.publish_many([OutgoingMessage.of(event)])


class Consumer:
    """Consumes a queue: parse, dispatch by type, ack only after the handler stored its effect.

    A message that does not parse, or whose type this queue has no handler for, is rejected
    without requeue and so dead-lettered. A handler that hits a transient database error is
    retried in place with back-off; any other failure is returned to the queue after a pause,
    and past the queue's delivery limit the broker dead-letters it. The messages of a batch are
    acked together, in one frame where no open delivery precedes them (`Acks`).
    """

    def __init__(
        self,
        queue: AbstractQueue,
        handlers: Mapping[str, Handler | Batched],
        *,
        transient_retry_seconds: float = 300.0,
    ) -> None:
        self.queue = queue
        self.transient_retry_seconds = transient_retry_seconds
        self._batches: dict[int, Coalescer[Delivered]] = {}
        self._dispatch = {kind: self._route(kind, handler) for kind, handler in handlers.items()}
        self._tag: str | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._acks = Acks()  # a batch's messages acked in one frame

    def _route(self, kind: str, handler: Handler | Batched) -> Handler:
        """How one event of type `kind` is handled: alone, or through its batch (one batch per
        `Batched`, so types registered with the same one share their batches)."""
        if not isinstance(handler, Batched):
            return partial(self._alone, handler)
        if id(handler) not in self._batches:
            self._batches[id(handler)] = Coalescer(
                partial(self._batch, handler),
                max_batch=handler.max_batch,
                linger_seconds=handler.linger_seconds,
                name=f"consume-{self.queue.name}-{kind}",
            )
        batches = self._batches[id(handler)]

        async def submit(event: AnyEvent) -> None:
            # The batch runs in a task of its own: each event takes its message's context along.
            await batches.submit(Delivered(event, tracing.current_context()))

        return submit

    async def start(self) -> None:
        """Begin consuming (the robust channel re-subscribes after a reconnect)."""
        self._tag = await self.queue.consume(self._on_message)

    async def cancel(self) -> None:
        """Stop taking new messages (may wait for a reconnect: bound it at shutdown)."""
        tag, self._tag = self._tag, None
        if tag is None:
            return
        try:
            await self.queue.cancel(tag)
        except (AMQPError, ChannelInvalidStateError, RuntimeError) as exc:
            log.warning("could not cancel consumer cleanly", extra={"error": describe(exc)})

    async def drain(self, *, seconds: float) -> None:
        """Wait at most `seconds` for the in-flight messages; the rest the broker redelivers."""
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=seconds)

    async def stop(self, *, grace_seconds: float = 10.0) -> None:
        """Stop taking new messages and let the in-flight ones finish."""
        await self.cancel()
        await self.drain(seconds=grace_seconds)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self._process(message)
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def _process(self, message: AbstractIncomingMessage) -> None:
        queue = self.queue.name
        try:
            event = parse_event(message.body)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)  # input holds contacts
            await self._dead_letter(message, f"invalid event: {errors}")
            return
        handler = self._dispatch.get(event.type)
        if handler is None:
            await self._dead_letter(message, f"no handler for event type {event.type!r}")
            return
        try:
            await handler(event)
        except Exception:
            attempt = _delivery_count(message)
            log.exception(
                "handler failed; the message goes back to the queue",
                extra={"queue": queue, "event_id": event.event_id, "delivery_count": attempt},
            )
            metrics.MESSAGES_CONSUMED.labels(queue=queue, outcome="failed").inc()
            await asyncio.sleep(min(0.2 * 2**attempt, 5.0))
            await _settle(self._acks.nack(message, requeue=True), message)
            return
        metrics.MESSAGES_CONSUMED.labels(queue=queue, outcome="ok").inc()
        await _settle(self._acks.ack(message), message)

    async def _alone(self, handler: Handler, event: AnyEvent) -> None:
        await self._with_retries(lambda: handler(event), [event])

    async def _batch(
        self, batched: Batched, delivered: list[Delivered]
    ) -> Sequence[BaseException | None]:
        """The batch under one span linked to each message (see `tracing.message_context`)."""
        events = [item.event for item in delivered]
        contexts = [item.context for item in delivered]
        with tracing.batch(f"{self.queue.name} process", contexts, events):
            return await self._handle_batch(batched, events)

    async def _handle_batch(
        self, batched: Batched, events: list[AnyEvent]
    ) -> Sequence[BaseException | None]:
        """The batch in one call; if it fails as a whole, each event alone, so one poison
        event gets its own error (and its own dead-lettering) and the others go through."""
        try:
            return await self._with_retries(lambda: batched.handle(events), events)
        except Exception as exc:
            if len(events) == 1:
                return [exc]
            log.warning(
                "batch failed; handling its events one by one",
                extra={"queue": self.queue.name, "events": len(events), "error": describe(exc)},
            )
        return [await self._one_of_batch(batched, event) for event in events]

    async def _one_of_batch(self, batched: Batched, event: AnyEvent) -> BaseException | None:
        try:
            (outcome,) = await self._with_retries(lambda: batched.handle([event]), [event])
        except Exception as exc:
            return exc
        return outcome

    async def _with_retries(self, call: Callable[[], Awaitable[T]], events: list[AnyEvent]) -> T:
        """`call()`, retried in place with back-off while the database is unavailable."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self.transient_retry_seconds
        delay = 0.2
        while True:
            try:
                return await call()
            except TRANSIENT_MONGO_ERRORS as exc:
                raise_if_cancelling()
                if loop.time() + delay > give_up_at:
                    raise
                log.warning(
                    "database unavailable, retrying the handler",
                    extra={
                        "event_ids": [e.event_id for e in events[:10]],
                        "error": describe(exc),
                        "retry_in": delay,
                    },
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _dead_letter(self, message: AbstractIncomingMessage, reason: str) -> None:
        log.error(
            "poison message dead-lettered",
            extra={"queue": self.queue.name, "message_id": message.message_id, "reason": reason},
        )
        metrics.MESSAGES_CONSUMED.labels(queue=self.queue.name, outcome="dead_lettered").inc()
        await _settle(self._acks.nack(message, requeue=False), message)


def _delivery_count(message: AbstractIncomingMessage) -> int:
    value = (message.headers or {}).get("x-delivery-count", 0)
    return value if isinstance(value, int) else 0


async def _settle(outcome: Awaitable[None], message: AbstractIncomingMessage) -> None:
    """Ack/nack/reject; on a channel lost since delivery, the broker redelivers: say so, go on."""
    try:
        await outcome
    except (ChannelInvalidStateError, AMQPError, RuntimeError) as exc:
        log.warning(
            "could not settle message; the broker will redeliver it",
            extra={"message_id": message.message_id, "error": describe(exc)},
        )


@dataclass
class ConsumerChannel:
    """A channel with bounded prefetch for consuming, and the queue it serves."""

    channel: AbstractChannel
    queue: AbstractQueue


async def open_consumer_channel(
    connection: AbstractRobustConnection,
    topology: Topology,
    spec: QueueSpec,
    *,
    prefetch: int,
    delivery_limit: int,
    management: ManagementEndpoint | None = None,
) -> ConsumerChannel:
    """Open a channel with `prefetch`, declare the exchanges and the queue `spec`."""
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=prefetch)
    await declare_exchanges(channel, topology)
    queue = await declare_queue(
        channel, topology, spec, delivery_limit=delivery_limit, management=management
    )
    return ConsumerChannel(channel, queue)
