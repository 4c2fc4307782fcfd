"""A consumer's acks: a run of settled deliveries acked in one frame, never past an open one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aio_pika.exceptions import ChannelInvalidStateError

from services.common.acks import Acks


class Channel:
    """Records the frames written on it, as (method, tag, multiple); `stalled`: its writes
    never finish (a connection whose writer takes no more); `fail`: they raise this."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, int, bool]] = []
        self.fail: BaseException | None = None
        self.stalled = False
        self._closed = asyncio.get_running_loop().create_future()

    @property
    def is_closed(self) -> bool:
        return self._closed.done()

    @property
    def closing(self) -> asyncio.Future[None]:
        observer: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def closed(_: asyncio.Future[None]) -> None:
            if not observer.done():
                observer.set_result(None)

        self._closed.add_done_callback(closed)
        return observer

    def close(self) -> None:
        self._closed.set_result(None)


class Message:
    """What `Acks` uses of an incoming message."""

    def __init__(self, channel: Channel, tag: int) -> None:
        self._channel = channel
        self.delivery_tag = tag

    @property
    def channel(self) -> Channel:
        if self._channel.is_closed:
            raise RuntimeError("channel closed")
        return self._channel

    async def _write(self, method: str, multiple: bool) -> None:
        await asyncio.sleep(0)
        if self._channel.stalled:
            await asyncio.Event().wait()
        if self._channel.fail is not None:
            raise self._channel.fail
        self._channel.frames.append((method, self.delivery_tag, multiple))

    async def ack(self, multiple: bool = False) -> None:
        await self._write("ack", multiple)

    async def nack(self, requeue: bool = True) -> None:
        await self._write("nack", False)

    async def reject(self, requeue: bool = False) -> None:
        await self._write("reject", False)


def deliveries(channel: Channel, count: int) -> list[Any]:
    return [Message(channel, tag) for tag in range(1, count + 1)]


async def test_a_batch_settled_together_is_acked_in_one_frame() -> None:
    acks, channel = Acks(), Channel()
    messages = deliveries(channel, 5)
    await asyncio.gather(*(acks.ack(m) for m in messages))
    assert channel.frames == [("ack", 5, True)]


async def test_acks_behind_a_delivery_still_open_go_out_alone_at_once() -> None:
    acks, channel = Acks(), Channel()
    first, second, third = deliveries(channel, 3)
    await asyncio.gather(acks.ack(second), acks.ack(third))
    assert channel.frames == [("ack", 2, False), ("ack", 3, False)]
    await acks.ack(first)  # stands for itself only: 2 and 3 are acked already
    assert channel.frames[-1] == ("ack", 1, False)


async def test_a_multiple_ack_follows_the_nacks_and_rejects_it_stands_over() -> None:
    acks, channel = Acks(), Channel()
    returned, rejected, *done = deliveries(channel, 5)
    await acks.nack(returned, requeue=True)
    await acks.nack(rejected, requeue=False)
    await asyncio.gather(*(acks.ack(m) for m in done))
    assert channel.frames == [("nack", 1, False), ("reject", 2, False), ("ack", 5, True)]


async def test_an_ack_never_stands_for_a_delivery_acked_after_its_tags_were_decided() -> None:
    acks, channel = Acks(), Channel()
    first, second, third, fourth = deliveries(channel, 4)
    await acks.ack(first)
    # 3 and 4 are taken together while 2 is open; 2 is acked while their frame is written.
    batch = asyncio.gather(acks.ack(third), acks.ack(fourth))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    await asyncio.gather(batch, acks.ack(second))
    written = [("ack", 1, False), ("ack", 3, False), ("ack", 4, False), ("ack", 2, False)]
    assert channel.frames == written


async def test_a_reopened_channel_numbers_its_deliveries_afresh() -> None:
    acks, old, new = Acks(), Channel(), Channel()
    stale = deliveries(old, 3)
    await acks.ack(stale[0])  # 2 and 3 stay open: the connection is lost
    old.close()
    with pytest.raises(RuntimeError):
        await acks.ack(stale[2])
    await asyncio.gather(*(acks.ack(m) for m in deliveries(new, 3)))
    assert old.frames == [("ack", 1, False)]
    assert new.frames == [("ack", 3, True)]


async def test_every_message_an_ack_stood_for_hears_that_it_failed() -> None:
    acks, channel = Acks(), Channel()
    channel.fail = ConnectionError("connection lost")
    outcomes = await asyncio.gather(
        *(acks.ack(m) for m in deliveries(channel, 3)), return_exceptions=True
    )
    assert [type(o) for o in outcomes] == [ConnectionError] * 3


async def test_an_ack_a_stalled_connection_never_takes_is_given_up_when_its_channel_closes() -> (
    None
):
    acks, stalled, reopened = Acks(), Channel(), Channel()
    stalled.stalled = True
    waiting = asyncio.ensure_future(acks.ack(deliveries(stalled, 1)[0]))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done()
    stalled.close()
    with pytest.raises(ChannelInvalidStateError):
        await waiting  # the broker redelivers it
    await acks.ack(deliveries(reopened, 1)[0])  # the acks after it are not held up
    assert reopened.frames == [("ack", 1, False)]


async def test_a_write_the_closing_channel_cancels_fails_its_acks_and_not_the_consumer() -> None:
    acks, closing, reopened = Acks(), Channel(), Channel()
    closing.fail = asyncio.CancelledError()  # how the client library ends a closed channel's writes
    outcomes = await asyncio.gather(
        *(acks.ack(m) for m in deliveries(closing, 2)), return_exceptions=True
    )
    assert [type(o) for o in outcomes] == [ChannelInvalidStateError] * 2
    await acks.ack(deliveries(reopened, 1)[0])
    assert reopened.frames == [("ack", 1, False)]


async def test_acks_cut_off_at_shutdown_are_cancelled_not_left_waiting() -> None:
    acks, channel = Acks(), Channel()
    waiting = [asyncio.ensure_future(acks.ack(m)) for m in deliveries(channel, 2)]
    await asyncio.sleep(0)
    flush = acks._flush
    assert flush is not None
    flush.cancel()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
    assert channel.frames == []
