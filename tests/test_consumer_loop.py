"""The co-browse consumers' message loop (sessions_app/loop.py) keeps Channels' contract: one
message at a time in arrival order, StopConsumer ends it cleanly, errors end the consumer, no
reader task outlives it, bounded read-ahead, and a Channels version it was not written for is
refused."""

import asyncio
import re

import channels
import pytest
from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer

from sessions_app.chat import AgentInboxConsumer, CustomerChatConsumer
from sessions_app.consumers import AgentConsumer, CustomerConsumer
from sessions_app.loop import ReaderLoopMixin, check_channels_version


class Recorder(ReaderLoopMixin, AsyncConsumer):
    """Handles `note` (records it, optionally slowly), `stop` and `boom`."""

    channel_layer_alias = "no-such-layer"  # no channel layer unless a test sets one
    handle_delay = 0.0

    def __init__(self):
        self.handled = []
        self.running = 0
        self.overlapped = False

    async def note(self, message):
        self.running += 1
        self.overlapped |= self.running > 1
        if self.handle_delay:
            await asyncio.sleep(self.handle_delay)
        self.handled.append(message["n"])
        self.running -= 1

    async def stop(self, message):
        raise StopConsumer()

    async def boom(self, message):
        raise RuntimeError("handler failed")


def source_of(messages, *, then=None):
    """A receive callable: the messages in order, then `then` (an exception) or waiting for ever."""
    queue = list(messages)
    reads = {"count": 0}

    async def receive():
        reads["count"] += 1
        if queue:
            return queue.pop(0)
        if then is not None:
            raise then
        await asyncio.Event().wait()

    receive.reads = reads
    return receive


async def no_send(message):
    pass


def live_tasks():
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}


async def test_messages_are_handled_one_at_a_time_in_the_order_they_arrive():
    consumer = Recorder()
    consumer.handle_delay = 0.001
    messages = [{"type": "note", "n": n} for n in range(50)] + [{"type": "stop"}]
    before = live_tasks()
    await asyncio.wait_for(consumer({}, source_of(messages), no_send), timeout=5)
    assert consumer.handled == list(range(50))
    assert not consumer.overlapped
    assert live_tasks() == before  # the reader tasks were awaited, not left behind


async def test_the_client_socket_and_the_channel_layer_are_both_read_and_handled_in_order(
    settings,
):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "cobrowse.layers.InMemoryChannelLayer"}}
    consumer = Recorder()
    consumer.channel_layer_alias = "default"
    client = asyncio.Queue()
    ready = asyncio.Event()

    async def first_read():  # the loop reads the client once the layer's channel exists
        ready.set()
        return await client.get()

    reads = iter([first_read])

    async def receive():
        return await next(reads, client.get)()

    run = asyncio.ensure_future(consumer({}, receive, no_send))
    await ready.wait()
    layer = get_channel_layer()
    for n in range(5):
        await layer.send(consumer.channel_name, {"type": "note", "n": 100 + n})
        await asyncio.sleep(0.01)
        await client.put({"type": "note", "n": n})
        await asyncio.sleep(0.01)
    await client.put({"type": "stop"})
    await asyncio.wait_for(run, timeout=5)
    assert consumer.handled == [100, 0, 101, 1, 102, 2, 103, 3, 104, 4]


async def test_stop_consumer_ends_the_loop_cleanly_and_later_messages_are_not_handled():
    consumer = Recorder()
    messages = [{"type": "note", "n": 1}, {"type": "stop"}, {"type": "note", "n": 2}]
    assert await asyncio.wait_for(consumer({}, source_of(messages), no_send), timeout=5) is None
    assert consumer.handled == [1]


async def test_an_exception_in_a_handler_ends_the_consumer_with_it_and_leaves_no_reader():
    consumer = Recorder()
    before = live_tasks()
    with pytest.raises(RuntimeError, match="handler failed"):
        await asyncio.wait_for(
            consumer({}, source_of([{"type": "note", "n": 1}, {"type": "boom"}]), no_send), 5
        )
    assert consumer.handled == [1]
    assert live_tasks() == before


async def test_a_failing_source_ends_the_consumer_with_its_error():
    consumer = Recorder()
    failing = source_of([{"type": "note", "n": 1}], then=ConnectionError("redis went away"))
    with pytest.raises(ConnectionError, match="redis went away"):
        await asyncio.wait_for(consumer({}, failing, no_send), timeout=5)
    assert consumer.handled == [1]


async def test_an_unknown_message_type_is_an_error_as_in_channels():
    consumer = Recorder()
    with pytest.raises(ValueError, match=re.escape("No handler for message type nothing.here")):
        await asyncio.wait_for(consumer({}, source_of([{"type": "nothing.here"}]), no_send), 5)


async def test_a_fast_client_is_read_at_most_read_ahead_messages_ahead_of_a_slow_handler():
    consumer = Recorder()
    consumer.read_ahead = 10
    consumer.handle_delay = 0.01
    endless = source_of({"type": "note", "n": n} for n in range(10_000))
    run = asyncio.ensure_future(consumer({}, endless, no_send))
    await asyncio.sleep(0.3)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    # Read = handled + waiting in the queue (at most read_ahead) + the one being handled + the
    # one the reader holds while it waits for room.
    assert 0 < endless.reads["count"] - len(consumer.handled) <= consumer.read_ahead + 2


def test_both_cobrowse_consumers_use_this_loop_and_no_other_consumer_does():
    for consumer in (CustomerConsumer, AgentConsumer):
        assert consumer.__call__ is ReaderLoopMixin.__call__
        assert consumer.dispatch is ReaderLoopMixin.dispatch
    for consumer in (CustomerChatConsumer, AgentInboxConsumer):  # Channels' own loop
        assert consumer.__call__ is AsyncConsumer.__call__
        assert consumer.dispatch is AsyncConsumer.dispatch


def test_a_channels_version_it_was_not_written_for_is_refused():
    check_channels_version(channels.__version__)
    check_channels_version("4.3.9")
    for version in ("4.2.0", "4.4.0", "5.0.0", "3.0.5"):
        with pytest.raises(RuntimeError, match=re.escape(f"Channels {version} is installed")):
            check_channels_version(version)
