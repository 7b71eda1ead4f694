"""One consumer per role. Customer frames are relayed to the agent as the raw text received."""

import asyncio
import functools
import json
import logging
import math
import re
import time
import uuid
import zlib
from collections.abc import Iterator, Mapping
from datetime import timedelta
from time import perf_counter
from typing import Any, TypeGuard
from urllib.parse import parse_qs

from asgiref.typing import WebSocketReceiveEvent
from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import InMemoryChannelLayer
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, ngettext
from prometheus_client import Gauge, Histogram

from cobrowse import metrics
from policies.guard import PrivacyGuard
from policies.guard_pool import DEFLATE_MIN, FrameResult, load_state, pool
from policies.models import origin_of
from policies.urls import clean_url
from sessions_app import services
from sessions_app.audit import typed_length
from sessions_app.i18n import activate_for_socket, refusal_reason
from sessions_app.limits import FrameRate, GuardBudget
from sessions_app.loop import ReaderLoopMixin
from sessions_app.models import CobrowseSession
from sessions_app.realtime import (
    agent_group,
    announce_end,
    announce_mode,
    customer_group,
    end_message,
    mode_message,
)
from sessions_app.services import ServiceError
from sessions_app.stream import ChunkError, PageStream, Verdict, parse_chunk

log = logging.getLogger("cobrowse.consumers")

FULL_SNAPSHOT = 2  # rrweb EventType.FullSnapshot
META = 4  # rrweb EventType.Meta
NODE_COMMANDS = ("click", "input", "focus", "scroll", "spotlight")  # frames that name a node id
FRAME_TYPE = re.compile(r"[a-z]+(\.[a-z]+)*")  # "events", "write.approve": a frame_* method name
CLOSE_ENDED = 4000
CLOSE_SUPERSEDED = 4001
# Error frames that are notices, not a refused frame (rate_limited is counted per dropped frame).
NOT_REFUSALS = ("superseded", "rate_limited")
# The `role` label of each socket class in the metrics (the chat sockets are in chat.py).
SOCKET_ROLES = {
    "CustomerConsumer": "customer",
    "AgentConsumer": "agent",
    "CustomerChatConsumer": "chat",
    "AgentInboxConsumer": "inbox",
}
# How long the customer's consumer waits for any of the agent's sockets to answer a probe. A
# later answer still counts (CustomerConsumer.agent_here).
AGENT_PROBE_TIMEOUT = 1.0


# Full snapshots (and frames too large to parse here) per customer socket: a second on average,
# up to 10 at once (a single-page app changing routes quickly).
SNAPSHOTS_PER_SECOND, SNAPSHOT_BURST = 2.0, 10
MAX_WS_BYTES = 1_000_000  # daphne refuses WebSocket messages over 1 MiB, both ways

# The agent sockets of each session in this process. The customer's consumer hands page frames to
# them directly instead of through the channel layer, which costs a queue, a task and a dispatch
# per frame, and with Redis a round trip and a second process (bench/RESULTS.md). On Redis the
# layer carries page frames only to agent sockets on other workers: each agent socket announces
# its channel and its worker when it joins, leaves and answers a probe (CustomerConsumer.
# remote_agents). A load balancer that hashes a session's sockets onto one worker (docs/
# operations.md) makes every frame local; without one, sessions still work across workers.
LOCAL_AGENTS: dict[int, set["AgentConsumer"]] = {}
WORKER_ID = uuid.uuid4().hex  # this process, in the events agent sockets announce themselves by
# After the customer's socket connects, how long page frames go through the layer to every agent
# socket (besides the direct hand-off) while the probe finds out on which workers they are.
AGENTS_UNKNOWN_SECONDS = 2 * AGENT_PROBE_TIMEOUT


def _local_layer(layer) -> bool:
    return isinstance(layer, InMemoryChannelLayer)


def chunked(text: str, size: int = 250_000) -> Iterator[str]:
    """Frames no larger than daphne's limit: the text itself, or chunk frames to reassemble,
    made one at a time (a 30 MB page is a hundred of them: the caller yields between them)."""
    if len(text) <= size // 4 or len(text.encode()) <= MAX_WS_BYTES:
        yield text
        return
    start, part = 0, 0
    while start < len(text):
        step = size
        while True:
            piece = text[start : start + step]
            last = start + len(piece) >= len(text)
            frame = json.dumps(
                {"type": "chunk", "part": part, "last": last, "data": piece},
                separators=(",", ":"),
            )
            if len(frame.encode()) <= MAX_WS_BYTES or step < 1024:
                break
            step //= 2
        yield frame
        start += len(piece)
        part += 1


def finite_number(value: object) -> TypeGuard[float]:
    """A JSON number a browser can take back: not a boolean, NaN or infinite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


MAX_STROKE_POINTS = 400  # one drawn stroke; the workspace thins longer ones


def pong(ping: dict) -> dict:
    """The answer to a ping: the sender's own time back (`t`) and the server's clock in ms, from
    which a browser measures its clock's offset over the socket (NTP's way: half the round trip)."""
    sent = ping.get("t")
    return {
        "type": "pong",
        "t": sent if finite_number(sent) else None,
        "server": round(time.time() * 1000),
    }


def _header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def _session_agent(session_id: int):
    session = CobrowseSession.objects.filter(pk=session_id).select_related("agent").first()
    return session.agent if session else None


class _SessionSocket(AsyncWebsocketConsumer):
    """What every session socket shares (co-browse and chat): refusals, JSON frames, error frames,
    the frame rate and the end of a session."""

    session_id: int = 0  # the session's primary key once connected; 0 before (never a pk)
    ended = False
    rate: FrameRate | None = None
    background: set[asyncio.Task] | None = None
    refusing = False  # accepted only to say why it closes: not a connected socket
    counted: Gauge | None = None  # this socket's line of cobrowse_sockets, while it counts there

    @property
    def socket_role(self) -> str:
        return SOCKET_ROLES.get(type(self).__name__, type(self).__name__.lower())

    @classmethod
    def as_asgi(cls, **initkwargs) -> Any:
        """Channels' app that makes one consumer per connection (AsyncConsumer.as_asgi), which
        also takes the socket off cobrowse_sockets however it ended: closed, or failed (Redis
        gone) without a disconnect handler running."""

        async def app(scope, receive, send):
            consumer = cls(**initkwargs)
            try:
                return await consumer(scope, receive, send)
            finally:
                consumer.uncount()

        app.consumer_class = cls  # type: ignore[attr-defined]  # as Channels' own app has
        app.consumer_initkwargs = initkwargs  # type: ignore[attr-defined]
        functools.update_wrapper(app, cls, updated=())
        return app

    async def accept(self, subprotocol=None, headers=None) -> None:
        await super().accept(subprotocol, headers)
        if not self.refusing and self.counted is None:
            self.counted = metrics.SOCKETS.labels(self.socket_role)
            self.counted.inc()

    def uncount(self) -> None:
        if self.counted is not None:
            self.counted.dec()
            self.counted = None

    def soon(self, coroutine) -> None:
        """Run a coroutine beside the message loop (an error frame for a frame being dropped),
        keeping a reference until it is done: the event loop holds tasks only weakly."""
        if self.background is None:
            self.background = set()
        task = asyncio.ensure_future(coroutine)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def over_rate(self) -> bool:
        """True when this socket sends faster than COBROWSE_MAX_FRAMES_PER_SECOND allows."""
        if self.rate is None:
            self.rate = FrameRate(
                settings.COBROWSE_MAX_FRAMES_PER_SECOND, settings.COBROWSE_FRAME_BURST
            )
        if self.rate.allow():
            return False
        metrics.refused(self.socket_role, "rate_limited")
        if self.rate.should_warn():
            self.soon(
                self.send_error(
                    "rate_limited",
                    gettext(
                        "Too many frames per second; some were dropped "
                        "(COBROWSE_MAX_FRAMES_PER_SECOND)."
                    ),
                )
            )
        return True

    async def refuse(self, error: ServiceError) -> None:
        metrics.SOCKETS_REFUSED.labels(self.socket_role, error.code).inc()
        self.refusing = True
        # Accept first so that the browser can read why; a rejected handshake only says 1006.
        await self.accept()
        await self.send_json(error.to_frame())
        await self.close(code=error.close_code)

    async def send(self, text_data=None, bytes_data=None, close=False) -> None:
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except Disconnected:
            # The browser closed the socket while a group event for it was being handled: the
            # socket's websocket.disconnect is queued behind it and disconnect() still runs (it
            # tells the other side). Raising here would end the consumer without it.
            log.debug("send to a closed %s socket of session %s", self.socket_role, self.session_id)

    async def send_json(self, data: dict) -> None:
        await self.send(text_data=json.dumps(data, separators=(",", ":")))

    async def send_error(self, code: str, message: str) -> None:
        if code not in NOT_REFUSALS:
            metrics.refused(self.socket_role, code)
        await self.send_json({"type": "error", "code": code, "message": message})

    def parse(self, text_data: str | None) -> dict | None:
        """Decode a frame, or return None after queueing an error frame for the sender."""
        if text_data is None:
            self.soon(self.send_error("bad_frame", "Send JSON text frames."))
            return None
        try:
            data = json.loads(text_data)
        except RecursionError:
            self.too_deep(text_data)
            return None
        except ValueError:  # not JSON
            self.soon(self.send_error("bad_json", "The frame is not valid JSON."))
            return None
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            self.soon(
                self.send_error("bad_frame", "A frame is a JSON object with a string 'type'.")
            )
            return None
        return data

    def too_deep(self, text: str) -> None:
        """A frame nested deeper than the event loop's thread parses."""
        self.soon(self.send_error("bad_json", "The frame is not valid JSON."))

    async def dispatch_frame(self, data: dict) -> None:
        """Hand a parsed browser frame to its `frame_<type>` method (dots become underscores),
        as Channels does for layer events with get_handler_name; unknown types get an error."""
        kind = data["type"]
        handler = (
            getattr(self, "frame_" + kind.replace(".", "_"), None)
            if FRAME_TYPE.fullmatch(kind)
            else None
        )
        if handler is None:
            await self.send_error("unknown_type", f"Unknown frame type {kind[:40]!r}.")
            return
        await handler(data)

    async def end_session(self, reason: str) -> None:
        session = await database_sync_to_async(CobrowseSession.objects.get)(pk=self.session_id)
        await database_sync_to_async(services.session_end)(session=session, reason=reason)
        await announce_end(self.session_id, reason)

    async def session_ended(self, event: dict) -> None:
        self.ended = True
        await self.send_json(
            # Worded here, in this socket's language, not the announcer's.
            {"type": "ended", "reason": event["reason"], "message": end_message(event["reason"])}
        )
        await self.close(code=CLOSE_ENDED)


class _CobrowseSocket(ReaderLoopMixin, _SessionSocket):
    """The two co-browse sockets relay thousands of frames a second: they run the faster message
    loop of sessions_app/loop.py (the chat sockets keep Channels' own)."""

    frame_timer: Histogram | None = None

    async def websocket_receive(self, message: WebSocketReceiveEvent) -> None:
        started = perf_counter()
        try:
            await super().websocket_receive(message)
        finally:
            if self.frame_timer is None:
                self.frame_timer = metrics.FRAME_SECONDS.labels(self.socket_role)
            self.frame_timer.observe(perf_counter() - started)


class CustomerConsumer(_CobrowseSocket):
    """The widget on the customer's page. Authorised by its token, not by the session code."""

    expiry_task: asyncio.Task | None = None
    snapshots: FrameRate | None = None
    agent_lost_task: asyncio.Task | None = None
    agent_gone = False  # told the widget the agent's connection dropped; cleared by a join

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        token = (query.get("token") or [""])[0]
        origin = _header(self.scope, b"origin")
        try:
            session = await database_sync_to_async(services.session_customer_connect)(
                token=token, origin=origin, channel=self.channel_name
            )
        except ServiceError as error:
            await self.refuse(error)
            return
        self.session_id = session.pk
        self.agent_present = session.agent_id is not None
        self.stream = PageStream(max_bytes=settings.COBROWSE_MAX_SNAPSHOT_BYTES)
        self.budget = GuardBudget(settings.COBROWSE_GUARD_SECONDS_PER_MINUTE)
        self.over_budget = False
        self.page_url = session.current_url
        self.guard = PrivacyGuard(
            await database_sync_to_async(services.session_policy)(
                session_id=session.pk, url=session.current_url
            ),
            page_url=session.current_url,
        )
        self.denied_at = float("-inf")  # loop time of the customer's last denial
        self.refused_count = -1
        self.mode = session.mode
        self.agent_id = session.agent_id
        self.write_pending: asyncio.Task | None = None
        self.audit: list[dict] = []
        self.audit_task: asyncio.Task | None = None
        # Agent sockets of this session on other workers (channel name -> worker), and until when
        # frames go through the layer to all of them, found or not (AGENTS_UNKNOWN_SECONDS).
        self.remote_agents: dict[str, str] = {}
        self.agents_unknown_until = asyncio.get_running_loop().time() + AGENTS_UNKNOWN_SECONDS
        await self.channel_layer.group_add(customer_group(self.session_id), self.channel_name)
        # The guard's workers are ready before the page's first snapshot (policies/guard_pool.py).
        self.soon(pool(settings.COBROWSE_GUARD_WORKERS).start())
        await self.accept()
        await self.send_json(
            {
                "type": "state",
                "session": {"code": session.code, "code_display": session.code_display},
                "status": session.status,
                "mode": session.mode,
                "write_mode_enabled": session.site.write_mode_enabled,
                "agent": session.agent.get_full_name() or session.agent.get_username()
                if session.agent
                else None,
            }
        )
        # An older tab or page of the same customer gives way to this one.
        await self.channel_layer.group_send(
            customer_group(self.session_id),
            {"type": "customer.superseded", "channel": self.channel_name},
        )
        await self.channel_layer.group_send(
            agent_group(self.session_id), {"type": "customer.connected"}
        )
        if self.agent_present:
            # A new page (or a reconnect) starts with a full snapshot for the agent.
            await self.request_snapshot("reconnected")
            # The agent may have dropped while the customer changed pages: find out.
            self.agent_lost_task = asyncio.ensure_future(self.check_agent_is_here())
        else:
            # Nobody joined in time: end the waiting session and tell the customer.
            self.expiry_task = asyncio.ensure_future(self.expire_when_unjoined(session.created))
            # An agent who joined after the session was read above announced it before this
            # socket was in the group (a chat-linked join is that quick): look again.
            agent = await database_sync_to_async(_session_agent)(self.session_id)
            if agent is not None:
                name = agent.get_full_name() or agent.get_username()
                await self.agent_joined({"agent": name, "agent_id": agent.pk})

    async def expire_when_unjoined(self, created) -> None:
        deadline = created + timedelta(seconds=settings.COBROWSE_WAITING_TIMEOUT)
        await asyncio.sleep(max(0.0, (deadline - timezone.now()).total_seconds()) + 0.5)
        session = await database_sync_to_async(
            CobrowseSession.objects.filter(pk=self.session_id).first
        )()
        if session is not None and session.expiry_reason() == CobrowseSession.EndReason.EXPIRED:
            await self.end_session(CobrowseSession.EndReason.EXPIRED)

    async def disconnect(self, code: int) -> None:
        if self.expiry_task:
            self.expiry_task.cancel()
        if self.agent_lost_task:
            # The customer left too: the pause timeout (agent side) takes over from here.
            self.agent_lost_task.cancel()
        if not self.session_id:
            return
        if self.write_pending:
            # The page that was asked is gone: the agent must not wait for an answer.
            self.write_pending.cancel()
            await self.channel_layer.group_send(
                agent_group(self.session_id), {"type": "write.lapsed"}
            )
        await self.flush_audit()
        await self.channel_layer.group_discard(customer_group(self.session_id), self.channel_name)
        if self.ended or getattr(self, "superseded", False):
            return
        session = await database_sync_to_async(services.session_customer_left)(
            session_id=self.session_id, channel=self.channel_name
        )
        if session is not None:
            await self.channel_layer.group_send(
                agent_group(self.session_id), {"type": "customer.left"}
            )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None and len(text_data) > settings.COBROWSE_MAX_FRAME_BYTES:
            await self.send_error("too_large", "The frame is larger than the server accepts.")
            return
        if self.over_rate():
            # A dropped events frame leaves a sequence gap: the next one asks for a snapshot.
            return
        if bytes_data is not None:
            # A deflated frame (frontend/deflate.js). One that inflates past the inline limit is
            # inflated, parsed and guarded in a worker; smaller ones here, like text frames.
            if not self.agent_present:
                return  # nothing of the page is relayed before an agent joins: not inflated
            text_data = await self.inflated(bytes_data)
            if text_data is None:
                await self.large_frame(bytes_data)
                return
        if text_data is not None and len(text_data) > settings.COBROWSE_INLINE_FRAME_BYTES:
            chunk = parse_chunk(text_data)  # one string to scan, whatever its size
            if chunk is not None:
                await self.frame_chunk(chunk)
            else:
                await self.large_frame(text_data)
            return
        data = self.parse(text_data)
        if data is None:
            return
        if data["type"] == "events":
            await self.frame_events(data, text_data or "")  # relayed as the text it came in
        else:
            await self.dispatch_frame(data)

    async def inflated(self, data: bytes) -> str | None:
        """The text of a small deflated frame, or None when it inflates past
        COBROWSE_INLINE_FRAME_BYTES (a worker inflates those, never past the page limit) or is
        not deflated UTF-8 (the worker says so)."""
        try:
            raw, over = inflate_at_most(data, settings.COBROWSE_INLINE_FRAME_BYTES)
            return None if over else raw.decode("utf-8")
        except (zlib.error, UnicodeDecodeError):
            return None

    def too_deep(self, text: str) -> None:
        # A deep page (a long chain of nested elements): parsed in a worker, which recurses
        # further (policies/guard_pool.py), instead of being refused here.
        self.soon(self.large_frame(text))

    async def large_frame(self, text: str | bytes) -> None:
        """A frame too large to parse on the event loop (policies/guard_pool.py): parsed, and if
        it holds a full snapshot guarded, in a worker process."""
        if not self.agent_present:
            return  # nothing of the page is relayed before an agent joins: not even parsed
        if not await self.within_budget(has_snapshot=True):
            return
        # A new page's rules apply to its snapshot: its meta event is read from the frame's head.
        meta = peek_meta(text)
        if meta is not None and not self.snapshot_allowed():
            return
        href = await self.enter_page(meta) if meta is not None else None
        result = await self.guard_in_worker(text, href)
        if result is None:
            return
        if result.kind == "too_large":
            await self.send_error(
                "snapshot_too_large",
                gettext("The page is too large to share (COBROWSE_MAX_SNAPSHOT_BYTES)."),
            )
            await self.request_snapshot("too_large")
        elif result.kind == "bad_binary":
            await self.send_error("bad_frame", "A binary frame is deflated UTF-8 JSON (zlib).")
            await self.request_snapshot("bad_frame")
        elif result.kind == "too_deep":
            await self.send_error("page_too_deep", gettext(PAGE_TOO_DEEP))
            await self.to_agents({"type": "guard.over", "why": "too_deep"})
        elif result.kind in ("bad_json", "bad_frame"):
            await self.send_error(
                result.kind,
                "The frame is not valid JSON."
                if result.kind == "bad_json"
                else "A frame is a JSON object with a string 'type'.",
            )
        elif result.kind == "chunk":
            await self.frame_chunk(result.fields)
        elif result.kind != "events":
            await self.dispatch_frame(result.fields)
        elif result.seq is None:
            await self.send_error(
                "bad_frame", "An events frame has an integer 'seq' and a list 'events'."
            )
        else:
            verdict = self.stream.frame(result.seq, has_snapshot=result.has_snapshot)
            if verdict is Verdict.GAP:
                await self.request_snapshot("gap")
            elif verdict is Verdict.RELAY and not result.has_snapshot:
                # Changes are guarded with the page knowledge held here, on the event loop:
                # this many at once are not. A fresh snapshot (guarded in a worker) replaces them.
                await self.request_snapshot("large_change")
            elif verdict is Verdict.RELAY and (meta is not None or self.snapshot_allowed()):
                await self.relay_snapshot(result)

    # Browser frames, by type (dispatch_frame)

    async def frame_exit(self, data: dict) -> None:
        await self.end_session(CobrowseSession.EndReason.CUSTOMER_EXIT)

    async def frame_ping(self, data: dict) -> None:
        # The widget's heartbeat (once a second while an agent watches): the answer carries the
        # server's clock, and the agent learns that the customer's page is alive, how far the
        # customer's clock is from the server's and whether their tab is hidden (latency readout).
        await self.send_json(pong(data))
        offset, rtt = data.get("offset"), data.get("rtt")
        # Through the layer even when the agent's socket is in this process: with Redis, this is
        # what finds out that Redis went away (the send fails, the socket closes, the widget
        # reconnects and subscribes again), now that the page itself does not go through it.
        await self.channel_layer.group_send(
            agent_group(self.session_id),
            {
                "type": "customer.beat",
                "t": data["t"] if finite_number(data.get("t")) else None,
                "offset": round(offset) if finite_number(offset) and abs(offset) < 1e12 else None,
                "rtt": round(rtt) if finite_number(rtt) and 0 <= rtt < 600_000 else None,
                "hidden": data.get("hidden") is True,
            },
        )

    async def frame_write_approve(self, data: dict) -> None:
        await self.answer_write_request(approve=True)

    async def frame_write_deny(self, data: dict) -> None:
        await self.answer_write_request(approve=False)

    async def frame_mode_pointer(self, data: dict) -> None:
        if self.mode == CobrowseSession.Mode.WRITE:
            by = "customer_hidden" if data.get("reason") == "hidden" else "customer"
            await self.change_mode(CobrowseSession.Mode.POINTER, by=by)

    async def frame_refused(self, data: dict) -> None:
        # The widget refused an agent command (the first line of defence): counted here, once.
        metrics.refused("agent", "refused_by_page")
        message = data["message"] if isinstance(data.get("message"), str) else ""
        await self.channel_layer.group_send(
            agent_group(self.session_id),
            {
                "type": "command.refused",
                "message": message[:300] or gettext_noop("The page refused it."),
            },
        )

    # Write mode: consent, lapse, back to pointer

    async def answer_write_request(self, *, approve: bool) -> None:
        if self.write_pending is None:
            await self.send_error("no_request", "There is no write mode request to answer.")
            return
        self.write_pending.cancel()
        self.write_pending = None
        if approve:
            await self.change_mode(CobrowseSession.Mode.WRITE, by="customer")
        else:
            self.denied_at = asyncio.get_running_loop().time()
            await database_sync_to_async(services.session_write_denied)(session_id=self.session_id)
            await self.channel_layer.group_send(
                agent_group(self.session_id), {"type": "write.denied"}
            )

    async def lapse_write_request(self) -> None:
        await asyncio.sleep(settings.COBROWSE_WRITE_REQUEST_TIMEOUT)
        self.write_pending = None
        await self.send_json({"type": "write.lapsed"})
        await self.channel_layer.group_send(agent_group(self.session_id), {"type": "write.lapsed"})

    async def change_mode(self, mode: str, *, by: str) -> None:
        await database_sync_to_async(services.session_set_mode)(
            session_id=self.session_id, mode=mode, agent_id=self.agent_id, by=by
        )
        await announce_mode(self.session_id, mode, by)

    # Agent commands (already checked by the agent's consumer) go to the page, audited

    async def flush_audit(self) -> None:
        if self.audit:
            batch, self.audit = self.audit, []
            await database_sync_to_async(services.agent_actions_record)(actions=batch)

    async def flush_audit_soon(self) -> None:
        await asyncio.sleep(1.0)
        self.audit_task = None
        await self.flush_audit()

    async def frame_events(self, data: dict, text: str) -> None:
        seq, events = data.get("seq"), data.get("events")
        if not isinstance(seq, int) or not isinstance(events, list):
            await self.send_error(
                "bad_frame", "An events frame has an integer 'seq' and a list 'events'."
            )
            return
        if not self.agent_present:
            return  # nothing of the page is relayed before an agent joins
        has_snapshot = any(isinstance(e, dict) and e.get("type") == FULL_SNAPSHOT for e in events)
        verdict = self.stream.frame(seq, has_snapshot=has_snapshot)
        if verdict is Verdict.GAP:
            await self.request_snapshot("gap")
            return
        if verdict is Verdict.WAIT:
            return  # the agent cannot apply changes to a page it has not seen
        if not await self.within_budget(has_snapshot=has_snapshot):
            return
        if has_snapshot and not self.snapshot_allowed():
            return
        if has_snapshot:
            # Whole pages are guarded in a worker process (policies/guard_pool.py).
            href = await self.enter_page(next((e for e in events if is_meta(e)), None))
            result = await self.guard_in_worker(text, href)
            if result is not None:
                await self.relay_snapshot(result)
            return
        # Second line of defence: re-apply the policy; re-encode only if something changed.
        # Keystrokes cost a set lookup; larger batches of changes run in a thread.
        started = perf_counter()
        if len(text) > 65536:
            changed, alerts = await asyncio.to_thread(self.check_events, events, has_snapshot)
        else:
            changed, alerts = self.check_events(events, has_snapshot)
        self.budget.spend(perf_counter() - started)
        if changed:
            text = json.dumps(data, separators=(",", ":"))
        await self.relay_page_frame(text, alerts, has_snapshot=False)

    async def relay_page_frame(
        self,
        text: str | None,
        alerts: list,
        *,
        has_snapshot: bool,
        refused: list | None = None,
        packed: bytes | None = None,
    ) -> None:
        """`packed`: the frame already deflated (by a guard worker), else `text` is."""
        metrics.TO_AGENT[has_snapshot].inc()
        if alerts:
            metrics.PRIVACY_ALERTS.inc(len(alerts))
            await database_sync_to_async(services.privacy_alerts_record)(
                session_id=self.session_id, url=self.page_url, alerts=alerts
            )
        await self.share_refused_ids(refused)
        event: dict = {"type": "relay.customer", "text": text}
        if packed is not None:
            event = {"type": "relay.customer", "deflated": packed}
        elif text is not None and len(text) >= DEFLATE_MIN:
            # Deflated once for every agent socket, in a thread for a large page (zlib lets go
            # of the GIL); the agent's browser inflates it (frontend/deflate.js).
            if len(text) > 65536:
                event["deflated"] = await asyncio.to_thread(deflated, text)
            else:
                event["deflated"] = deflated(text)
            if len(event["deflated"]) <= MAX_WS_BYTES:
                del event["text"]  # one copy through the channel layer, the small one
        await self.to_agents(event)

    async def guard_in_worker(self, payload: str | bytes, href: str | None) -> FrameResult | None:
        """Parse and guard a frame in a worker process; None (and the frame dropped) when the
        worker failed."""
        try:
            result = await pool(settings.COBROWSE_GUARD_WORKERS).run(
                self.guard.policy,
                self.page_url,
                payload,
                href,
                settings.COBROWSE_MAX_SNAPSHOT_BYTES,
            )
        except Exception:
            log.exception("the guard worker failed on a frame of session %s", self.session_id)
            await self.send_error("guard_failed", "The server could not check this page.")
            await self.request_snapshot("guard_failed")
            return None
        self.budget.spend(result.seconds)
        metrics.GUARD[result.has_snapshot].observe(result.seconds)
        return result

    async def relay_snapshot(self, result: FrameResult) -> None:
        """A page guarded in a worker: take over its page knowledge, then relay it as the
        worker made it (deflated, or as text when even deflated it is over 1 MB)."""
        guard = PrivacyGuard(self.guard.policy, page_url=self.page_url)
        refused = await load_state(guard, result.state)
        self.guard = guard
        self.refused_count = -1
        await self.relay_page_frame(
            result.text, result.alerts, has_snapshot=True, refused=refused, packed=result.deflated
        )

    def snapshot_allowed(self) -> bool:
        """Pages (and large frames) a customer socket may send: each costs a page record, a
        policy lookup and a worker's time. The widget sends one per page and per request."""
        if self.snapshots is None:
            self.snapshots = FrameRate(SNAPSHOTS_PER_SECOND, SNAPSHOT_BURST)
        if self.snapshots.allow():
            return True
        metrics.refused("customer", "rate_limited")
        if self.snapshots.should_warn():
            self.soon(
                self.send_error(
                    "rate_limited", gettext("Too many pages per second; some were dropped.")
                )
            )
        # The agent's view needs a page after this: the next change asks for one.
        self.stream.snapshot_requested()
        return False

    async def within_budget(self, *, has_snapshot: bool) -> bool:
        """Whether this page may still use the guard (COBROWSE_GUARD_SECONDS_PER_MINUTE). Over
        it, the agent and the customer are told once and frames are dropped until it refills;
        then a fresh snapshot starts the view again."""
        if self.budget.allows():
            if not self.over_budget:
                return True
            self.over_budget = False
            if not has_snapshot:
                await self.request_snapshot("budget")
                return False
            return True
        if not self.over_budget:
            self.over_budget = True
            metrics.refused("customer", "page_too_large")
            await self.send_error("page_too_large", gettext(PAGE_TOO_LARGE))
            await self.to_agents({"type": "guard.over"})
        return False

    def check_events(self, events: list, has_snapshot: bool) -> tuple[bool, list]:
        started = perf_counter()
        try:
            return self.guard.check_events(events)
        finally:
            metrics.GUARD[has_snapshot].observe(perf_counter() - started)

    async def share_refused_ids(self, refused: list | None = None) -> None:
        """Tell the agent's consumer which node ids the agent may not act on (not its browser).
        `refused`: the list a guard worker already made for this page."""
        count = len(self.guard.masked) + len(self.guard.restricted)
        if count == self.refused_count:
            return
        self.refused_count = count
        ids = refused if refused is not None else self.guard.refused_ids()
        await self.to_agents({"type": "guard.refused", "ids": ids})

    async def to_agents(self, event: dict) -> None:
        """Page frames and what the agent may not touch, in order, to the agent's sockets:
        handed to those in this process, through the layer to those on other workers."""
        for agent in list(LOCAL_AGENTS.get(self.session_id, ())):
            await agent.on_customer_event(event)
        if _local_layer(self.channel_layer):
            return
        if self.remote_agents or asyncio.get_running_loop().time() < self.agents_unknown_until:
            metrics.LAYER_FRAMES.inc()
            # Agent sockets in this process skip the copy (AgentConsumer.customer_remote).
            await self.channel_layer.group_send(
                agent_group(self.session_id),
                {"type": "customer.remote", "origin": WORKER_ID, "event": event},
            )

    async def frame_chunk(self, data: dict) -> None:
        if not self.agent_present:
            self.stream.drop_chunks()  # nothing is reassembled, let alone parsed, before a join
            return
        text, error = self.stream.chunk(data.get("part"), data.get("last"), data.get("data"))
        if error is ChunkError.OUT_OF_ORDER:
            await self.send_error("bad_chunk", "Chunks must arrive in order, numbered from 0.")
            await self.request_snapshot("bad_chunk")
            return
        if error is ChunkError.TOO_LARGE:
            await self.send_error(
                "snapshot_too_large",
                "The page is too large to share (COBROWSE_MAX_SNAPSHOT_BYTES).",
            )
            return
        if text is None:
            return  # more to come
        if len(text) > settings.COBROWSE_INLINE_FRAME_BYTES:
            await self.large_frame(text)
            return
        inner = self.parse(text)
        if inner is None or inner.get("type") != "events":
            await self.send_error("bad_chunk", "Reassembled chunks must form an events frame.")
            return
        await self.frame_events(inner, text)

    async def request_snapshot(self, why: str) -> None:
        self.stream.snapshot_requested()
        await self.send_json({"type": "snapshot.request", "reason": why})

    async def enter_page(self, meta_event: dict | None) -> str | None:
        """A new page: remember where the customer is and load that page's policy. Returns the
        page's URL as the agent may see it (its query and fragment dropped), from the snapshot's
        meta event, or None without one."""
        href = None
        meta = meta_event.get("data") if isinstance(meta_event, dict) else None
        if isinstance(meta, dict):
            try:
                url = str(meta.get("href", ""))[:2000]
                width, height = int(meta.get("width", 0)), int(meta.get("height", 0))
            except (TypeError, ValueError):
                url = None
            if url is not None:
                # Path only (and the parameters the site allows): never stored, logged or shown.
                href = clean_url(url, self.guard.policy.get("kept_params") or ())
                self.page_url = href
                await database_sync_to_async(services.session_record_page)(
                    session_id=self.session_id, url=href, width=width, height=height
                )
        # The guard switches to the new page's rules before any of its events is relayed.
        policy = await database_sync_to_async(services.session_policy)(
            session_id=self.session_id, url=self.page_url
        )
        self.guard = PrivacyGuard(policy, page_url=self.page_url)
        self.refused_count = -1
        return href

    # Group events

    def note_agent_socket(self, event: dict) -> bool:
        """Remember where an agent socket that announced itself is; True if it is new here."""
        channel, worker = event.get("channel"), event.get("worker")
        if not isinstance(channel, str) or worker in (None, WORKER_ID):
            return False  # on this worker: LOCAL_AGENTS has it
        new = channel not in self.remote_agents
        self.remote_agents[channel] = worker
        return new

    async def agent_joined(self, event: dict) -> None:
        self.note_agent_socket(event)
        self.agent_present = True
        self.agent_gone = False
        if self.agent_lost_task:
            self.agent_lost_task.cancel()
            self.agent_lost_task = None
        self.agent_id = event.get("agent_id", self.agent_id)
        if self.expiry_task:
            self.expiry_task.cancel()
        await self.request_snapshot("agent_joined")
        await self.send_json({"type": "agent.joined", "agent": event["agent"]})

    async def agent_disconnected(self, event: dict) -> None:
        self.remote_agents.pop(str(event.get("channel")), None)
        # One of the agent's sockets closed. Another tab of theirs may still hold the session (on
        # any worker): only when none answers is the customer told, and the grace period starts.
        if self.agent_lost_task:
            self.agent_lost_task.cancel()
        self.agent_lost_task = asyncio.ensure_future(self.check_agent_is_here())

    async def check_agent_is_here(self) -> None:
        here = await self.probe_agent()
        if here:
            self.agent_lost_task = None
            return
        self.agent_gone = True
        self.agent_lost_task = asyncio.ensure_future(self.end_unless_agent_returns())
        await self.send_json({"type": "agent.disconnected", "grace": settings.COBROWSE_AGENT_GRACE})
        if self.mode == CobrowseSession.Mode.WRITE:
            # Nobody is left to type: ask again when the agent is back.
            await self.change_mode(CobrowseSession.Mode.POINTER, by="agent_disconnected")

    async def end_unless_agent_returns(self) -> None:
        await asyncio.sleep(settings.COBROWSE_AGENT_GRACE)
        # A socket of the agent's may have come back without a join (a late probe answer).
        here = await self.probe_agent()
        self.agent_lost_task = None
        if not here:
            await self.end_session(CobrowseSession.EndReason.AGENT_LOST)

    async def probe_agent(self) -> bool:
        """Ask the agent group whether any socket of the agent's is connected (any worker)."""
        self.agent_seen = asyncio.Event()
        self.agents_unknown_until = max(
            self.agents_unknown_until, asyncio.get_running_loop().time() + AGENTS_UNKNOWN_SECONDS
        )
        await self.channel_layer.group_send(
            agent_group(self.session_id), {"type": "agent.probe", "reply_to": self.channel_name}
        )
        try:
            await asyncio.wait_for(self.agent_seen.wait(), timeout=AGENT_PROBE_TIMEOUT)
            return True
        except TimeoutError:
            return False

    async def agent_here(self, event: dict) -> None:
        new = self.note_agent_socket(event)
        if new and asyncio.get_running_loop().time() >= self.agents_unknown_until:
            # A socket on another worker that missed the frames since it was last known of.
            await self.request_snapshot("agent_found")
        if getattr(self, "agent_seen", None) is not None:
            self.agent_seen.set()
        if self.agent_gone and "agent" in event:
            # The answer came after the probe gave up (a busy worker): the agent is here after
            # all, so the page is shared again instead of waiting for a rejoin that never comes.
            await self.agent_joined(event)

    async def write_requested(self, event: dict) -> None:
        # A request repeated right after a denial is not shown: no pressing the customer.
        wait = settings.COBROWSE_WRITE_RETRY_AFTER_DENIAL - (
            asyncio.get_running_loop().time() - self.denied_at
        )
        if wait > 0:
            await self.channel_layer.group_send(
                agent_group(self.session_id), {"type": "write.cooldown", "wait": wait}
            )
            return
        if self.write_pending:
            self.write_pending.cancel()
        self.write_pending = asyncio.ensure_future(self.lapse_write_request())
        await self.send_json(
            {
                "type": "write.request",
                "agent": event["agent"],
                "timeout": settings.COBROWSE_WRITE_REQUEST_TIMEOUT,
            }
        )

    async def mode_changed(self, event: dict) -> None:
        self.mode = event["mode"]
        if self.write_pending:
            self.write_pending.cancel()
            self.write_pending = None
        await self.send_json(
            {k: v for k, v in event.items() if k != "type"}
            | {"type": "mode", "message": mode_message(event["mode"], event["by"])}
        )

    async def agent_command(self, event: dict) -> None:
        command = event["command"]
        node_id = command.get("id")
        # Defence in depth: the page knowledge lives here; refuse what the guard would.
        if self.mode != CobrowseSession.Mode.WRITE:
            return
        refuses = self.guard.scroll_refusal if command["type"] == "scroll" else self.guard.refuses
        if node_id is not None and refuses(node_id):
            metrics.refused("agent", "restricted")
            await self.channel_layer.group_send(
                agent_group(self.session_id),
                {"type": "command.refused", "message": gettext_noop("That element is restricted.")},
            )
            return
        if command["type"] == "scroll":
            # Not an action on the page's content: relayed, not written to the audit trail.
            await self.send_json({"type": "agent.command", "command": command})
            return
        value = command.get("value")
        detail = command.get("action", "")
        if isinstance(value, str):
            detail = typed_length(len(value))  # never the text itself
        elif isinstance(command.get("checked"), bool):
            detail = "checked" if command["checked"] else "unchecked"
        if command.get("url"):
            kept = self.guard.policy.get("kept_params") or ()
            detail = f"{detail} {clean_url(command['url'], kept)}".strip()
        self.audit.append(
            {
                "session_id": self.session_id,
                "agent_id": self.agent_id,
                "kind": command["type"],
                "node_id": node_id,
                "target": self.guard.describe(node_id),
                "detail": detail[:300],
                "url": self.page_url[:2000],
                "created": timezone.now(),
            }
        )
        if len(self.audit) >= 50:
            await self.flush_audit()
        elif self.audit_task is None:
            self.audit_task = asyncio.ensure_future(self.flush_audit_soon())
        await self.send_json({"type": "agent.command", "command": command})

    async def agent_pointer(self, event: dict) -> None:
        await self.send(text_data=event["text"])

    async def customer_superseded(self, event: dict) -> None:
        if event["channel"] != self.channel_name:
            self.superseded = True
            await self.send_error("superseded", "Co-browsing continues in another tab or page.")
            await self.close(code=CLOSE_SUPERSEDED)


def inflate_at_most(data: bytes, limit: int) -> tuple[bytes, bool]:
    """Inflate zlib data up to `limit` bytes: (what came out, whether there was more)."""
    inflater = zlib.decompressobj()
    raw = inflater.decompress(data, limit)
    if inflater.unconsumed_tail or (len(raw) >= limit and not inflater.eof):
        return raw, True
    if not inflater.eof:
        raise zlib.error("the deflate stream is cut short")
    return raw, False


def deflated(text: str) -> bytes:
    return zlib.compress(text.encode(), 6)


def is_meta(event: object) -> bool:
    return isinstance(event, dict) and event.get("type") == META


def peek_meta(payload: str | bytes, window: int = 8192) -> dict | None:
    """The meta event (rrweb's first event of a page: its URL and size) of a frame too large to
    parse here, read from the frame's head alone: at most `window` characters are looked at
    (of a deflated frame, only that much is inflated)."""
    if isinstance(payload, bytes):
        try:
            head = zlib.decompressobj().decompress(payload, window).decode("utf-8", "ignore")
        except zlib.error:
            return None
    else:
        head = payload[:window]
    at = head.find('{"type":4,')
    if at < 0:
        return None
    try:
        event, _end = json.JSONDecoder().raw_decode(head, at)
    except (ValueError, RecursionError):
        return None
    return event if is_meta(event) else None


# The message for a page whose checks cost more than COBROWSE_GUARD_SECONDS_PER_MINUTE.
PAGE_TOO_LARGE = gettext_noop(
    "This page is too large to share: checking it would cost the server more than it allows "
    "(COBROWSE_GUARD_SECONDS_PER_MINUTE). The view comes back when the page is smaller or the "
    "minute has passed."
)


PAGE_TOO_DEEP = gettext_noop(
    "This page is nested too deeply to share: its elements are more than 4,000 levels deep."
)


class AgentConsumer(_CobrowseSocket):
    """The agent's mirror of one session. Connecting is joining."""

    pause_task: asyncio.Task | None = None
    user_id: int = 0  # the agent's, once connected
    write_audited_at = float("-inf")  # loop time of the last write request written to the audit
    denied_at = float("-inf")  # loop time of the customer's last denial
    customer_away = False  # between the customer's page closing and the next one connecting
    # None until the customer's consumer has shared what the agent may not touch: fail closed.
    refused_ids: dict[int, str] | None = None

    async def connect(self) -> None:
        activate_for_socket(self.scope)  # the agent's language for all this socket says
        user = self.scope.get("user")
        code = self.scope["url_route"]["kwargs"]["code"]
        if user is None or not user.is_authenticated:
            await self.refuse(
                ServiceError(
                    "not_authenticated", gettext("Log in to join a session."), close_code=4401
                )
            )
            return
        try:
            session = await database_sync_to_async(services.session_join)(
                agent=user, code=code, ip=services.limits.client_address(self.scope)
            )
        except ServiceError as error:
            await self.refuse(error)
            return
        self.session_id = session.pk
        self.user_id = user.pk
        self.agent_name = user.get_full_name() or user.get_username()
        self.mode = session.mode
        self.write_enabled = session.site.write_mode_enabled
        self.site_origins = set(session.site.origins)
        self.write_grace: asyncio.Task | None = None
        await self.channel_layer.group_add(agent_group(self.session_id), self.channel_name)
        LOCAL_AGENTS.setdefault(self.session_id, set()).add(self)
        await self.accept()
        await self.send_json(
            {
                "type": "state",
                "session": session.to_dict(),
                "write_mode_enabled": self.write_enabled,
                "site_origins": sorted(self.site_origins),
            }
        )
        if session.status == CobrowseSession.Status.PAUSED:
            self.customer_away = True
            self.start_pause_timer()
        await self.channel_layer.group_send(
            customer_group(self.session_id),
            {"type": "agent.joined", "agent": self.agent_name, "agent_id": user.pk}
            | self.whereabouts(),
        )

    def whereabouts(self) -> dict:
        """Where this socket is, for the customer's consumer (CustomerConsumer.remote_agents)."""
        return {"channel": self.channel_name, "worker": WORKER_ID}

    async def customer_remote(self, message: dict) -> None:
        """A page event through the layer (CustomerConsumer.to_agents)."""
        if message["origin"] != WORKER_ID:  # else it was handed to this socket already
            await self.on_customer_event(message["event"])

    async def disconnect(self, code: int) -> None:
        if self.pause_task:
            self.pause_task.cancel()
        if not self.session_id:
            return
        if self.write_grace:
            self.write_grace.cancel()
        await self.channel_layer.group_discard(agent_group(self.session_id), self.channel_name)
        local = LOCAL_AGENTS.get(self.session_id)
        if local is not None:
            local.discard(self)
            if not local:
                del LOCAL_AGENTS[self.session_id]
        if not self.ended and self.customer_away and self.mode == CobrowseSession.Mode.WRITE:
            # No customer page is there to find out whether another tab of the agent's is still
            # open (it does that when the customer is there): ask for write mode again when back.
            await self.change_mode(CobrowseSession.Mode.POINTER, by="agent_disconnected")
        if not self.ended:
            await self.channel_layer.group_send(
                customer_group(self.session_id),
                {"type": "agent.disconnected"} | self.whereabouts(),
            )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None and len(text_data) > 16384:
            await self.send_error(
                "too_large", gettext("Agent frames are small; this one is too large.")
            )
            return
        if self.over_rate():
            return
        data = self.parse(text_data)
        if data is None:
            return
        kind = data["type"]
        target = data.get("id")
        if target is not None and kind in NODE_COMMANDS:
            if not isinstance(target, int) or isinstance(target, bool):
                await self.send_error("bad_frame", "A node 'id' is an integer.")
                return
            if self.refused_ids is None and (
                kind in ("click", "spotlight") or self.mode == CobrowseSession.Mode.WRITE
            ):
                await self.send_error(
                    "not_ready",
                    gettext("The customer's page is still loading; try again in a moment."),
                )
                return
            reason = (self.refused_ids or {}).get(target)
            if reason:
                metrics.refused(self.socket_role, "restricted")
                await self.send_json(
                    {
                        "type": "error",
                        "code": "restricted",
                        "message": gettext("This element is a %(what)s: the agent cannot use it.")
                        % {"what": refusal_reason(reason)},
                        "id": target,
                    }
                )
                return
        await self.dispatch_frame(data)

    # Browser frames, by type (dispatch_frame)

    async def frame_pointer(self, data: dict) -> None:
        await self.show_pointer("pointer", data)

    async def frame_click(self, data: dict) -> None:
        # Pointer mode: a click to show. Write mode: a click on the page.
        if self.mode == CobrowseSession.Mode.WRITE:
            await self.on_command("click", data)
        else:
            await self.show_pointer("click", data)

    async def frame_input(self, data: dict) -> None:
        await self.on_command("input", data)

    async def frame_focus(self, data: dict) -> None:
        await self.on_command("focus", data)

    async def frame_scroll(self, data: dict) -> None:
        await self.on_command("scroll", data)

    async def frame_navigate(self, data: dict) -> None:
        await self.on_command("navigate", data)

    async def frame_write_request(self, data: dict) -> None:
        await self.request_write()

    async def frame_mode_pointer(self, data: dict) -> None:
        if self.mode == CobrowseSession.Mode.WRITE:
            await self.change_mode(CobrowseSession.Mode.POINTER, by="agent")

    async def frame_snapshot_request(self, data: dict) -> None:
        await self.channel_layer.group_send(
            customer_group(self.session_id),
            {"type": "agent.joined", "agent": self.agent_name, "agent_id": self.user_id},
        )

    async def frame_exit(self, data: dict) -> None:
        await self.end_session(CobrowseSession.EndReason.AGENT_EXIT)

    async def frame_ping(self, data: dict) -> None:
        await self.send_json(pong(data))

    # Drawing and spotlight: they point, they do not act on the page, so pointer mode allows them.

    async def frame_annotate(self, data: dict) -> None:
        """One stroke the agent drew over the mirror, in page coordinates, for the customer."""
        points = data.get("points")
        if (
            not isinstance(points, list)
            or not 2 <= len(points) <= MAX_STROKE_POINTS
            or not all(
                isinstance(p, list) and len(p) == 2 and finite_number(p[0]) and finite_number(p[1])
                for p in points
            )
        ):
            await self.send_error(
                "bad_frame",
                f"An annotate frame has 'points': 2 to {MAX_STROKE_POINTS} [x, y] number pairs.",
            )
            return
        stroke = [[round(float(x), 1), round(float(y), 1)] for x, y in points]
        await self.to_customer({"type": "agent.annotate", "points": stroke})

    async def frame_annotate_clear(self, data: dict) -> None:
        await self.to_customer({"type": "agent.annotate.clear"})

    async def frame_spotlight(self, data: dict) -> None:
        target = data.get("id")
        if not isinstance(target, int) or isinstance(target, bool):
            await self.send_error(
                "bad_frame", "A spotlight frame names a node by its integer 'id'."
            )
            return
        await self.to_customer({"type": "agent.spotlight", "id": target})

    async def to_customer(self, frame: dict) -> None:
        metrics.relayed_to_customer(frame["type"].removeprefix("agent."))
        await self.channel_layer.group_send(
            customer_group(self.session_id),
            {"type": "agent.pointer", "text": json.dumps(frame, separators=(",", ":"))},
        )

    async def show_pointer(self, kind: str, data: dict) -> None:
        """The agent's pointer or a click to show, in page coordinates, to the customer."""
        x, y = data.get("x"), data.get("y")
        if not (finite_number(x) and finite_number(y)):
            await self.send_error("bad_frame", f"A {kind} frame has numeric 'x' and 'y'.")
            return
        frame = {"type": f"agent.{kind}", "x": round(float(x), 1), "y": round(float(y), 1)}
        metrics.relayed_to_customer("pointer_click" if kind == "click" else kind)
        await self.channel_layer.group_send(
            customer_group(self.session_id),
            {"type": "agent.pointer", "text": json.dumps(frame, separators=(",", ":"))},
        )

    async def request_write(self) -> None:
        if not self.write_enabled:
            await self.send_error(
                "write_mode_disabled",
                gettext("Write mode is turned off for this site by an administrator."),
            )
        elif self.mode == CobrowseSession.Mode.WRITE:
            await self.send_error("already_write", gettext("The session is already in write mode."))
        elif (
            wait := settings.COBROWSE_WRITE_RETRY_AFTER_DENIAL
            - (asyncio.get_running_loop().time() - self.denied_at)
        ) > 0:
            await self.write_cooldown({"wait": wait})
        else:
            # Audited once per request window: repeats while one is pending are not new asks.
            now = asyncio.get_running_loop().time()
            if now - self.write_audited_at >= settings.COBROWSE_WRITE_REQUEST_TIMEOUT:
                self.write_audited_at = now
                await database_sync_to_async(services.session_write_requested)(
                    session_id=self.session_id, agent_id=self.user_id
                )
            await self.channel_layer.group_send(
                customer_group(self.session_id),
                {"type": "write.requested", "agent": self.agent_name},
            )

    async def change_mode(self, mode: str, *, by: str) -> None:
        await database_sync_to_async(services.session_set_mode)(
            session_id=self.session_id, mode=mode, agent_id=self.user_id, by=by
        )
        await announce_mode(self.session_id, mode, by)

    async def on_command(self, kind: str, data: dict) -> None:
        """Remote control: write mode only, never on restricted nodes, same-site URLs only."""
        if self.customer_away:
            # Nobody would receive it: say so rather than lose it.
            await self.send_error(
                "customer_away",
                gettext(
                    "The customer's page is changing; try again when it is back on the screen."
                ),
            )
            return
        if self.mode != CobrowseSession.Mode.WRITE:
            await self.send_error(
                "wrong_mode",
                gettext(
                    "The session is in pointer mode: ask the customer for write mode to type or "
                    "navigate."
                ),
            )
            return
        command: dict[str, Any] = {"type": kind}
        if kind in NODE_COMMANDS:
            node_id = data.get("id")
            if not isinstance(node_id, int) or isinstance(node_id, bool):
                await self.send_error("bad_frame", f"A {kind} command names a node 'id'.")
                return
            command["id"] = node_id
        if kind == "click":
            x, y = data.get("x", 0), data.get("y", 0)
            if finite_number(x) and finite_number(y):
                command["x"], command["y"] = round(float(x), 1), round(float(y), 1)
        elif kind == "scroll":
            x, y = data.get("x"), data.get("y")
            if not (
                finite_number(x)
                and finite_number(y)
                and 0 <= x <= 10_000_000
                and 0 <= y <= 10_000_000
            ):
                await self.send_error(
                    "bad_frame", "A scroll command has 'x' and 'y' offsets from 0 to 10,000,000."
                )
                return
            command["x"], command["y"] = round(x), round(y)
        elif kind == "input":
            value, checked = data.get("value"), data.get("checked")
            if isinstance(value, str) and len(value) <= 10_000:
                command["value"] = value
            elif isinstance(checked, bool):
                command["checked"] = checked
            else:
                await self.send_error(
                    "bad_frame", "An input command has a string 'value' or a boolean 'checked'."
                )
                return
        elif kind == "navigate":
            action = data.get("action")
            if action not in ("back", "forward", "refresh", "url"):
                await self.send_error(
                    "bad_frame", "Navigate with action back, forward, refresh or url."
                )
                return
            command["action"] = action
            if action == "url":
                url = data.get("url")
                if not isinstance(url, str) or origin_of(url) not in self.site_origins:
                    await self.send_error(
                        "foreign_url",
                        gettext(
                            "That address is outside the customer's site; the agent can only "
                            "navigate within %(origins)s."
                        )
                        % {"origins": ", ".join(sorted(self.site_origins))},
                    )
                    return
                command["url"] = url[:2000]
        metrics.relayed_to_customer(kind)
        await self.channel_layer.group_send(
            customer_group(self.session_id), {"type": "agent.command", "command": command}
        )

    def start_pause_timer(self) -> None:
        if self.pause_task:
            self.pause_task.cancel()
        self.pause_task = asyncio.ensure_future(self.end_after_pause())

    async def end_after_pause(self) -> None:
        await asyncio.sleep(settings.COBROWSE_PAUSE_TIMEOUT)
        session = await database_sync_to_async(
            CobrowseSession.objects.filter(pk=self.session_id).first
        )()
        if session is None or session.status != CobrowseSession.Status.PAUSED:
            return
        if session.expiry_reason(timezone.now() + timedelta(seconds=1)):
            await self.end_session(CobrowseSession.EndReason.PAUSE_TIMEOUT)

    async def end_write_unless_back(self) -> None:
        """A page change within the site keeps write mode; leaving the site does not."""
        await asyncio.sleep(settings.COBROWSE_WRITE_GRACE)
        self.write_grace = None
        if self.mode == CobrowseSession.Mode.WRITE:
            await self.change_mode(CobrowseSession.Mode.POINTER, by="customer_left")

    # Group events

    async def agent_probe(self, event: dict) -> None:
        await self.channel_layer.send(
            event["reply_to"],
            {"type": "agent.here", "agent": self.agent_name, "agent_id": self.user_id}
            | self.whereabouts(),
        )

    async def mode_changed(self, event: dict) -> None:
        self.mode = event["mode"]
        await self.send_json(
            {k: v for k, v in event.items() if k != "type"}
            | {"type": "mode", "message": mode_message(event["mode"], event["by"])}
        )

    async def write_cooldown(self, event: dict) -> None:
        await self.send_error(
            "write_cooldown",
            ngettext(
                "The customer declined write mode a moment ago; you can ask again in "
                "%(count)s second.",
                "The customer declined write mode a moment ago; you can ask again in "
                "%(count)s seconds.",
                max(1, round(event["wait"])),
            )
            % {"count": max(1, round(event["wait"]))},
        )

    async def write_denied(self, event: dict) -> None:
        self.denied_at = asyncio.get_running_loop().time()
        await self.send_json(
            {"type": "write.denied", "message": gettext("The customer declined write mode.")}
        )

    async def write_lapsed(self, event: dict) -> None:
        await self.send_json(
            {
                "type": "write.lapsed",
                "message": gettext("The customer did not answer the write mode request."),
            }
        )

    async def command_refused(self, event: dict) -> None:
        await self.send_json(
            # The two refusals worded here translate; the page's own words pass as they are.
            {"type": "error", "code": "refused_by_page", "message": gettext(event["message"])}
        )

    async def on_customer_event(self, event: dict) -> None:
        """Called by the customer's consumer in this process (see LOCAL_AGENTS), or with what it
        sent through the layer from another worker."""
        if self.ended:
            return
        try:
            await getattr(self, get_handler_name(event))(event)  # the same handler the layer calls
        except Exception:  # one agent's broken socket must not break the customer's
            log.exception("direct delivery to agent socket failed in session %s", self.session_id)

    async def relay_customer(self, event: dict) -> None:
        packed = event.get("deflated")
        if "text" not in event:
            await self.send(bytes_data=packed)
            return
        for frame in chunked(event["text"]):
            await self.send(text_data=frame)
            await asyncio.sleep(0)  # other sockets' turn between the pieces of a huge page

    async def guard_over(self, event: dict) -> None:
        if event.get("why") == "too_deep":
            code, message = "page_too_deep", gettext(PAGE_TOO_DEEP)
        else:
            code, message = "page_too_large", gettext(PAGE_TOO_LARGE)
        await self.send_json({"type": "error", "code": code, "message": message})

    async def guard_refused(self, event: dict) -> None:
        ids = event["ids"]
        refused: dict[int, str] = {}
        for start in range(0, len(ids), 5000):  # a huge page's list, a slice per loop turn
            refused.update((int(node_id), reason) for node_id, reason in ids[start : start + 5000])
            if len(ids) > 5000:
                await asyncio.sleep(0)
        self.refused_ids = refused

    async def customer_beat(self, event: dict) -> None:
        await self.send_json(
            {
                "type": "customer.beat",
                "t": event.get("t"),
                "offset": event["offset"],
                "rtt": event["rtt"],
                "hidden": event["hidden"],
            }
        )

    async def customer_connected(self, event: dict) -> None:
        self.customer_away = False
        if self.pause_task:
            self.pause_task.cancel()
            self.pause_task = None
        if self.write_grace:
            self.write_grace.cancel()
            self.write_grace = None
        await self.send_json({"type": "customer.connected"})

    async def customer_left(self, event: dict) -> None:
        self.customer_away = True
        self.start_pause_timer()
        if self.mode == CobrowseSession.Mode.WRITE:
            self.write_grace = asyncio.ensure_future(self.end_write_unless_back())
        await self.send_json(
            {
                "type": "customer.left",
                "message": gettext("Paused: the customer left the site."),
                "timeout": settings.COBROWSE_PAUSE_TIMEOUT,
            }
        )
