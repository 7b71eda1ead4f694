"""A message loop for the two co-browse consumers, in place of Channels' `AsyncConsumer.__call__`.

Channels' loop (`channels.utils.await_many_dispatch`) starts a new task per message and waits on
all sources with `asyncio.wait` each time; on a relay that handles thousands of frames a second
that is most of the cost (bench/RESULTS.md). This loop keeps one long-lived reader task per source
(the client socket and the channel layer) that puts messages into a bounded queue, and handles
them one at a time, in the order they arrived, as Channels does.

What it keeps of Channels' contract, and what it changes (tests/test_consumer_loop.py):
- the same set-up: `scope`, `channel_layer`, `channel_name`, `channel_receive`, `base_send`;
- messages are dispatched one at a time, in arrival order; `StopConsumer` ends the loop cleanly;
  any other exception from a handler (or a source: the channel layer lost Redis) ends the
  consumer with that exception, as in Channels;
- the reader tasks are cancelled *and awaited* on the way out, so none outlives the consumer;
- back-pressure: at most `read_ahead` messages wait in the queue; a reader then waits before it
  reads more, so a fast client cannot make the server buffer without bound;
- Channels' `dispatch` closes stale database connections before every handler
  (`aclose_old_connections`, a thread hop per message that halves relay throughput). The
  consumers using this loop reach the database only through `database_sync_to_async`, which
  closes old connections before and after each call itself, so `dispatch` here skips the hop. A
  consumer that touched the ORM directly would need it back: don't.

It was written against Channels 4.3 (`AsyncConsumer.__call__` and `dispatch` there); importing it
with another version fails at once, so that an upgrade re-checks the contract above.
"""

import asyncio
import functools

import channels
from channels.consumer import AsyncConsumer, get_handler_name
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer

WRITTEN_FOR = ("4", "3")  # Channels major.minor whose AsyncConsumer.__call__ this replaces


def check_channels_version(version: str) -> None:
    """Refuse a Channels version this loop was not checked against."""
    if tuple(version.split(".")[:2]) != WRITTEN_FOR:
        raise RuntimeError(
            f"sessions_app.loop replaces AsyncConsumer.__call__ of Channels "
            f"{'.'.join(WRITTEN_FOR)}, but Channels {version} is installed: compare its "
            "__call__ and dispatch with ReaderLoopMixin, update the mixin and its tests "
            "(tests/test_consumer_loop.py), then WRITTEN_FOR."
        )


check_channels_version(channels.__version__)


class ReaderLoopMixin(AsyncConsumer):
    """Put first in the bases of a consumer (before AsyncWebsocketConsumer)."""

    read_ahead = 100  # messages read but not yet handled, per consumer

    async def __call__(self, scope, receive, send) -> None:
        self.scope = scope
        # The stubs declare the layer always present; like Channels, a consumer may have none.
        self.channel_layer = get_channel_layer(self.channel_layer_alias)  # type: ignore[assignment]
        self.base_send = send
        sources = [receive]
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            self.channel_receive = functools.partial(  # type: ignore[assignment]
                self.channel_layer.receive, self.channel_name
            )
            sources.append(self.channel_receive)
        inbox: asyncio.Queue = asyncio.Queue(maxsize=self.read_ahead)

        async def pump(source) -> None:
            try:
                while True:
                    await inbox.put(await source())
            except asyncio.CancelledError:
                raise
            except BaseException as error:  # a source failed: the consumer fails with it
                await inbox.put(error)

        readers = [asyncio.ensure_future(pump(source)) for source in sources]
        try:
            while True:
                message = await inbox.get()
                if isinstance(message, BaseException):
                    raise message
                await self.dispatch(message)
        except StopConsumer:
            pass
        finally:
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

    async def dispatch(self, message: dict) -> None:
        # No aclose_old_connections() here: see the module docstring.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
