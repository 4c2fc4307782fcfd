"""A consumer's acks, many deliveries in one `basic.ack`.

The broker numbers the deliveries of a channel 1, 2, 3, ... and each consumer here has a
channel of its own, so once every delivery up to a tag is settled (acked, or returned or
rejected already), one ack of that tag with `multiple=True` stands for all the acks among them.
A batch handled together is then acked in one frame rather than one per message: each frame is
a write to the socket, and these writes were the services' largest single cost at a steady
rate (`python -m bench.throughput`; py-spy on the services).

Acks settled in one turn of the event loop go out together on its next turn. An ack behind a
delivery still being handled goes out alone at once, as before, so a slow message holds back
neither the others' acks nor the prefetch window. A nack or reject is sent at once, and counts
as settled only once its frame is written, so no `multiple` ack written after it can cover it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable
from dataclasses import dataclass, field

import aiormq.abc
from aio_pika.abc import AbstractIncomingMessage
from aio_pika.exceptions import ChannelInvalidStateError

log = logging.getLogger(__name__)


@dataclass
class _Deliveries:
    """What is settled of one channel's deliveries."""

    through: int = 0  # every delivery up to this tag is settled
    above: set[int] = field(default_factory=set)  # settled ones beyond a delivery still open

    def settle(self, tag: int) -> None:
        self.above.add(tag)
        while self.through + 1 in self.above:
            self.through += 1
            self.above.remove(self.through)


@dataclass
class _Waiting:
    message: AbstractIncomingMessage
    channel: aiormq.abc.AbstractChannel
    tag: int
    sent: asyncio.Future[None]


class Acks:
    """Settles the messages of one consumer; `ack` returns once the message's ack is written
    (or raises what writing it raised)."""

    def __init__(self) -> None:
        # Per channel: a channel reopened after a reconnect numbers its deliveries from 1 again.
        self._channels: weakref.WeakKeyDictionary[aiormq.abc.AbstractChannel, _Deliveries] = (
            weakref.WeakKeyDictionary()
        )
        self._waiting: list[_Waiting] = []  # acks for the next frames
        self._writing: list[_Waiting] = []  # acks whose frames are being written
        self._flush: asyncio.Task[None] | None = None

    async def ack(self, message: AbstractIncomingMessage) -> None:
        """Ack `message`, with the others settled in the same turn when they are contiguous."""
        channel = message.channel  # raises when the channel is gone: the broker redelivers
        tag = message.delivery_tag
        if tag is None:  # not a numbered delivery: it stands for itself only
            await message.ack()
            return
        sent = asyncio.get_running_loop().create_future()
        sent.add_done_callback(_read)
        self._waiting.append(_Waiting(message, channel, tag, sent))
        self._deliveries(channel).settle(tag)
        if self._flush is None:
            self._start()
        await asyncio.shield(sent)

    async def nack(self, message: AbstractIncomingMessage, *, requeue: bool) -> None:
        """Return `message` to its queue (`requeue`) or reject it to its dead-letter queue. Its
        frame is written when this returns, so a `multiple` ack written later cannot cover it."""
        channel = message.channel
        if requeue:
            await message.nack(requeue=True)
        else:
            await message.reject(requeue=False)
        if message.delivery_tag is not None:
            self._deliveries(channel).settle(message.delivery_tag)

    def _deliveries(self, channel: aiormq.abc.AbstractChannel) -> _Deliveries:
        return self._channels.setdefault(channel, _Deliveries())

    async def _send(self) -> None:
        """On the next turn, the acks waiting: per channel, one `multiple` ack for those no open
        delivery precedes, and each of the others alone."""
        await asyncio.sleep(0)
        self._writing, self._waiting = self._waiting, []
        # Which tags one ack may stand for is decided now, before any await: every ack of a
        # tag up to `through` is then either among these or written already.
        frames = [
            frame
            for channel, items in _by_channel(self._writing).items()
            for frame in _frames(items, self._deliveries(channel).through)
        ]
        for message, multiple, items in frames:
            await _written(items[0].channel, message.ack(multiple=multiple), items)
        self._writing = []

    def _sent(self, flush: asyncio.Task[None]) -> None:
        """After a flush: the next one for acks that came meanwhile; if it was cancelled (at
        shutdown, perhaps before it began), its acks are not known to be written."""
        self._flush = None
        if flush.cancelled() or flush.exception() is not None:
            if not flush.cancelled():
                log.error("acks not written", exc_info=flush.exception())
            for item in [*self._writing, *self._waiting]:
                item.sent.cancel()
            self._writing, self._waiting = [], []
        elif self._waiting:
            self._start()

    def _start(self) -> None:
        self._flush = asyncio.create_task(self._send(), name="consumer-acks")
        self._flush.add_done_callback(self._sent)


Frame = tuple[AbstractIncomingMessage, bool, list[_Waiting]]


def _by_channel(waiting: list[_Waiting]) -> dict[aiormq.abc.AbstractChannel, list[_Waiting]]:
    grouped: dict[aiormq.abc.AbstractChannel, list[_Waiting]] = {}
    for item in waiting:
        grouped.setdefault(item.channel, []).append(item)
    return grouped


def _frames(items: list[_Waiting], through: int) -> list[Frame]:
    """The ack frames for one channel's waiting acks: those up to `through` in one frame of the
    highest tag (`multiple` when it stands for more than itself), the rest each in its own."""
    covered = [item for item in items if item.tag <= through]
    frames: list[Frame] = []
    if covered:
        last = max(covered, key=lambda item: item.tag)
        frames.append((last.message, len(covered) > 1, covered))
    frames.extend((item.message, False, [item]) for item in items if item.tag > through)
    return frames


async def _written(
    channel: aiormq.abc.AbstractChannel, ack: Awaitable[None], items: list[_Waiting]
) -> None:
    """Write one ack frame and tell each message it stands for how it went. A frame that
    cannot be written before its channel closes (a stalled connection's writer takes no more)
    is given up: the broker redelivers those messages, and the acks behind it go on."""
    write = asyncio.ensure_future(ack)
    closed = channel.closing
    try:
        await asyncio.wait({write, closed}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # the consumer stops: the frame is not known to be written
        write.cancel()
        raise
    finally:
        closed.cancel()  # stops observing the channel, never closes it
    error = _failure(write)
    write.cancel()  # nothing when written; else the channel closed first
    for item in items:
        if item.sent.done():
            continue
        if error is None:
            item.sent.set_result(None)
        else:
            item.sent.set_exception(error)


def _failure(write: asyncio.Future[None]) -> BaseException | None:
    """Why an ack frame was not written, if it was not (a write cancelled by the channel's
    closing is the channel's loss, not the consumer's cancellation)."""
    if not write.done() or write.cancelled():
        return ChannelInvalidStateError("the channel closed before the ack was written")
    return write.exception()


def _read(sent: asyncio.Future[None]) -> None:
    """Mark an outcome read: a caller that went away (shutdown) never reads it."""
    if not sent.cancelled():
        sent.exception()
