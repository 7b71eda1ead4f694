"""Large frames are parsed and guarded in worker processes, never on the server's event loop.

Why processes: the JSON parser and most of the guard hold Python's GIL, so a thread does not keep
a 30 MB snapshot (hundreds of milliseconds of parsing and matching) from stalling every other
socket of the worker (bench/hostile.py). A worker process has its own GIL.

What runs there is stateless: one frame's text and the policy in, and out what the consumer
needs to go on without parsing it again: the frame's type and sequence number, the text to relay
(re-encoded only if the guard changed it), the alerts, the ids the agent may not act on, and for
a full snapshot the guard's page knowledge, which the consumer loads in slices between other
sockets' turns (`load_state`). Changes to a page (incremental frames) need that knowledge, which
lives in the consumer: a large one is not guarded here; the consumer asks for a fresh snapshot
instead (sessions_app/consumers.py).

`COBROWSE_GUARD_WORKERS` sets the pool's size (0: a thread in the server process, as before,
for tests and single-core hosts). The pool starts with the first large frame, by `spawn` (never a
fork of a threaded server), and a worker that dies is replaced.
"""

import asyncio
import json
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from policies.guard import MASK_ATTR, RESTRICT_ATTR, Alert, Node, PrivacyGuard
from policies.urls import clean_url

# Attributes the guard reads after a snapshot besides those its selectors name (guard.rule_attrs):
# refusals (`for`, `form`, `href`), the audit trail's description (`id`, `class`) and passwords.
KEPT_ATTRS = frozenset(
    ("id", "class", "for", "form", "type", "name", "href", "xlink:href", MASK_ATTR, RESTRICT_ATTR)
)
MAX_DEFLATED = 1_000_000  # daphne's message limit, with room to spare
DEFLATE_MIN = 1024  # shorter frames go to the agent as text (sessions_app/consumers.py)
SLICE = 250  # nodes of page knowledge loaded per turn of the event loop (about 1 ms)
# Python frames a worker may nest: JSON nesting two per element level (the node and its list of
# children), so pages 4,000 elements deep parse, guard and encode (the main thread's 8 MB stack).
WORKER_RECURSION = 8_100


def worker_start() -> None:
    import os
    import sys

    sys.setrecursionlimit(WORKER_RECURSION)
    # Relaying frames comes first: on a busy machine the operating system runs the server's
    # event loop before the guard's workers.
    os.nice(10)
    # A server that is killed cannot stop its workers: they stop themselves.
    parent = os.getppid()

    def orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=orphaned, daemon=True, name="guard-worker-parent").start()


@dataclass
class FrameResult:
    """What a worker tells the consumer about one frame."""

    kind: str  # "events", "chunk", another frame type, or "bad_json" / "bad_frame"
    seq: int | None = None
    has_snapshot: bool = False
    text: str | None = None  # the frame to relay, only when it is too large to go deflated
    deflated: bytes | None = None  # the frame to relay, deflated (for the agent's socket)
    alerts: list[Alert] = field(default_factory=list)
    state: list[bytes] = field(default_factory=list)  # page knowledge, pickled in slices
    fields: dict = field(default_factory=dict)  # a chunk's part/last/data, another frame's data
    seconds: float = 0.0  # CPU the worker spent


def guard_frame(
    policy: dict, page_url: str, payload: str | bytes, href: str | None, limit: int = 0
) -> FrameResult:
    """Parse one large frame (text, or deflated bytes inflated here up to `limit` characters)
    and, for a full snapshot, guard it and deflate what is to be relayed (in a worker process)."""
    import pickle
    import zlib

    started = time.process_time()
    if isinstance(payload, bytes):
        try:
            inflater = zlib.decompressobj()
            raw = inflater.decompress(payload, limit)
            if inflater.unconsumed_tail or (len(raw) >= limit and not inflater.eof):
                return FrameResult("too_large", seconds=time.process_time() - started)
            if not inflater.eof:
                raise zlib.error("the deflate stream is cut short")
            text = raw.decode("utf-8")
        except (zlib.error, UnicodeDecodeError):
            return FrameResult("bad_binary", seconds=time.process_time() - started)
    else:
        text = payload
    try:
        data = json.loads(text)
    except RecursionError:
        return FrameResult("too_deep", seconds=time.process_time() - started)
    except ValueError:
        return FrameResult("bad_json", seconds=time.process_time() - started)
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return FrameResult("bad_frame", seconds=time.process_time() - started)
    if data["type"] != "events":
        if data["type"] == "chunk":
            return FrameResult("chunk", fields=data, seconds=time.process_time() - started)
        return FrameResult(data["type"], fields=data, seconds=time.process_time() - started)
    seq, events = data.get("seq"), data.get("events")
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(events, list):
        return FrameResult("bad_frame", seconds=time.process_time() - started)
    has_snapshot = any(isinstance(e, dict) and e.get("type") == 2 for e in events)
    result = FrameResult("events", seq=seq, has_snapshot=has_snapshot)
    if not has_snapshot:
        result.seconds = time.process_time() - started
        return result  # a change needs the page knowledge the consumer holds
    # Every page URL the agent will see is the path only (and the parameters the site allows):
    # the first meta's as the consumer recorded it, any other cleaned here.
    rewritten = False
    kept = policy.get("kept_params") or ()
    for event in events:
        if isinstance(event, dict) and event.get("type") == 4:
            meta = event.get("data")
            if not isinstance(meta, dict):
                continue
            clean = href if href is not None else clean_url(str(meta.get("href", ""))[:2000], kept)
            href = None  # the consumer's URL is the first meta's
            if meta.get("href") != clean:
                meta["href"] = clean
                rewritten = True
    guard = PrivacyGuard(policy, page_url=page_url)
    changed, alerts = guard.check_events(events)
    relayed = json.dumps(data, separators=(",", ":")) if changed or rewritten else text
    if len(relayed) >= DEFLATE_MIN:
        result.deflated = zlib.compress(relayed.encode(), 6)
    if result.deflated is None or len(result.deflated) > MAX_DEFLATED:
        result.deflated, result.text = None, relayed  # goes as text (in chunks when large)
    result.alerts = alerts
    refusals = dict(guard.refused_ids())
    keep = guard.rule_attrs | KEPT_ATTRS
    children, text_parent = guard.children, guard.text_parent
    rows = [
        (
            node_id,
            node.tag,
            {k: v for k, v in node.attrs.items() if k.lower() in keep},
            node.parent,
            children.get(node_id),
            guard.masked.get(node_id),
            guard.restricted.get(node_id),
            refusals.get(node_id),
        )
        for node_id, node in guard.elements.items()
    ]
    texts = list(text_parent.items())
    result.state = [pickle.dumps(rows[i : i + SLICE]) for i in range(0, len(rows), SLICE)]
    result.state += [
        pickle.dumps(texts[i : i + 4 * SLICE]) for i in range(0, len(texts), 4 * SLICE)
    ]
    # Nodes the guard masks or restricts without knowing them as elements (none today), the
    # documents and the password memory: small.
    loose_masked = {k: v for k, v in guard.masked.items() if k not in guard.elements}
    loose_restricted = {k: v for k, v in guard.restricted.items() if k not in guard.elements}
    result.state.append(
        pickle.dumps(
            {
                "documents": guard.documents,
                "password_fields": guard.password_fields,
                "masked": loose_masked,
                "restricted": loose_restricted,
                "rows": len(rows),
            }
        )
    )
    result.seconds = time.process_time() - started
    return result


async def load_state(guard: PrivacyGuard, state: list[bytes]) -> list[list]:
    """Fill a fresh guard with the page knowledge a worker sent, a slice per loop turn. Returns
    [node id, why] for every node the agent may not act on (PrivacyGuard.refused_ids)."""
    import pickle

    refused: list[list] = []
    guard.reset()
    rest = pickle.loads(state[-1])
    left = rest["rows"]
    for piece in state[:-1]:
        items = pickle.loads(piece)
        if left > 0:
            left -= len(items)
            for node_id, tag, attrs, parent, kids, masked, restricted, why in items:
                guard.elements[node_id] = Node(tag, attrs, parent)
                if kids is not None:
                    guard.children[node_id] = kids
                if masked is not None:
                    guard.masked[node_id] = masked
                if restricted is not None:
                    guard.restricted[node_id] = restricted
                if why is not None:
                    refused.append([node_id, why])
        else:
            guard.text_parent.update(items)
        await asyncio.sleep(0)
    guard.documents.update(rest["documents"])
    guard.masked.update(rest["masked"])
    guard.restricted.update(rest["restricted"])
    guard.password_fields |= rest["password_fields"]
    refused += [[node_id, guard.refuses(node_id)] for node_id in rest["masked"]]
    refused += [[node_id, guard.refuses(node_id)] for node_id in rest["restricted"]]
    return refused


def worker_ready() -> bool:
    return True


class GuardPool:
    """The worker processes of one server process, started on first use."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.executor: ProcessPoolExecutor | None = None
        self.lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self.lock:
            if self.executor is None:
                import multiprocessing

                executor = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=worker_start,
                )
                # The pool starts a process per job until it has them all, inside submit():
                # all of them now, in this thread, never in the event loop's.
                for future in [executor.submit(worker_ready) for _ in range(self.workers)]:
                    future.result()
                self.executor = executor
            return self.executor

    async def start(self) -> None:
        """Start the workers, in a thread: starting a process must not stall the event loop."""
        if self.workers > 0 and self.executor is None:
            await asyncio.to_thread(self._executor)

    async def run(
        self, policy: dict, page_url: str, payload: str | bytes, href: str | None, limit: int
    ) -> FrameResult:
        loop = asyncio.get_running_loop()
        if self.workers <= 0:
            return await asyncio.to_thread(guard_frame, policy, page_url, payload, href, limit)
        await self.start()
        try:
            return await loop.run_in_executor(
                self._executor(), guard_frame, policy, page_url, payload, href, limit
            )
        except BrokenProcessPool:
            # A worker died (killed, out of memory): start a new pool; this frame is refused.
            self.executor = None
            raise

    def shutdown(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None


_pools: dict[int, GuardPool] = {}


def pool(workers: int) -> GuardPool:
    if workers not in _pools:
        _pools[workers] = GuardPool(workers)
    return _pools[workers]
