"""Relay under load: N customer sockets each send rrweb batches at 10 frames/s to N agent sockets.

    .venv/bin/python bench/relay.py --sessions 100,500,1000 --seconds 10 [--json out.json]

Targets, each started fresh for every N on 127.0.0.1 (free ports):
  A       the project: one daphne process, in-memory channel layer, temp SQLite file
  B       the project: two daphne processes sharing a private redis-server (REDIS_URL, the
          default pub/sub layer); customers connect to one, agents to the other (no hashing)
  C       the same two processes, both sockets of session i on one of them, chosen by a hash of
          the session ID as nginx's `hash ... consistent` does (docs/operations.md); the client
          connects straight to that worker instead of through nginx, so that only the servers'
          CPU is counted
  R       one daphne process on Redis, both sockets of every session on it (a worker on Redis)

--database postgres runs every project target on a private PostgreSQL 15 (each run from a copy
of the seeded database, CREATE DATABASE ... TEMPLATE), instead of a copy of a seeded SQLite file.
  bare    bench/bare_relay.py, a `websockets` server forwarding frames between pairs of sockets
  rrweb   the rrweb-relay package (python-socketio) served by daphne, its own protocol

One asyncio load client (this process, the `websockets` library, no compression) opens N customer
and N agent sockets, completes each target's snapshot handshake, then sends rrweb-shaped
incremental batches (~300-600 bytes; the send time is the last event's `timestamp`) at 10 frames/s
per customer for a warm-up second plus the measured window. The agent side records receive time -
send time. Server CPU comes from /proc/<pid>/stat (utime+stime) over the window; RSS per session is
(VmRSS with N live sessions - VmRSS before any socket) / N. Every wait has a deadline and the whole
run stops starting new targets after --budget seconds.
"""

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
CLK = os.sysconf("SC_CLK_TCK")
RATE = 10  # frames per second per customer
P99_LIMIT_MS = 50.0
HOLD_FRACTION = 0.97  # "holds 10 frames/s": at least this share of the offered frames delivered
RRWEB_SECRET = "bench-only-secret-" + "x" * 16
# cobrowse.settings refuses its built-in key with DEBUG off, and the servers run as in production.
BENCH_SECRET_KEY = "bench-only-not-secret-" + "0123456789abcdef" * 3


# ---------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime, stime


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def wait_tcp(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port} after {timeout} s")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


# ---------------------------------------------------------------- rrweb-shaped payloads


def small_tree() -> dict:
    """A small page: html > head(title) + body(h1, form with a name and an email input)."""
    nid = iter(range(1, 10_000))

    def el(tag, attrs=None, children=()):
        return {
            "type": 2,
            "tagName": tag,
            "attributes": attrs or {},
            "childNodes": list(children),
            "id": next(nid),
        }

    def text(t):
        return {"type": 3, "textContent": t, "id": next(nid)}

    doc = {"type": 0, "childNodes": [], "id": next(nid)}
    head = el("head", {}, [el("title", {}, [text("Checkout")])])
    body = el(
        "body",
        {},
        [
            el("h1", {}, [text("Checkout")]),
            el(
                "form",
                {"id": "checkout"},
                [
                    el("input", {"id": "name", "name": "name", "type": "text"}),
                    el("input", {"id": "email", "name": "email", "type": "email"}),
                ],
            ),
        ],
    )
    doc["childNodes"] = [
        {"type": 1, "name": "html", "publicId": "", "systemId": "", "id": next(nid)},
        el("html", {"lang": "en"}, [head, body]),
    ]
    return doc


def big_tree(nodes: int = 10_000) -> dict:
    """A generated page with `nodes` nodes: rows of <div class><span>text</span></div> in <main>."""
    counter = [0]

    def nid():
        counter[0] += 1
        return counter[0]

    doc_id, html_id, head_id, body_id, main_id = nid(), nid(), nid(), nid(), nid()
    rows = []
    while counter[0] + 3 <= nodes:
        i = len(rows)
        span = {
            "type": 2,
            "tagName": "span",
            "attributes": {"class": "label"},
            "childNodes": [{"type": 3, "textContent": f"Product {i} - in stock", "id": nid()}],
            "id": nid(),
        }
        rows.append(
            {
                "type": 2,
                "tagName": "div",
                "attributes": {"class": f"row row-{i % 7}", "data-sku": f"SKU{i:05d}"},
                "childNodes": [span],
                "id": nid(),
            }
        )
    main = {"type": 2, "tagName": "main", "attributes": {}, "childNodes": rows, "id": main_id}
    body = {"type": 2, "tagName": "body", "attributes": {}, "childNodes": [main], "id": body_id}
    head = {"type": 2, "tagName": "head", "attributes": {}, "childNodes": [], "id": head_id}
    html = {
        "type": 2,
        "tagName": "html",
        "attributes": {},
        "childNodes": [head, body],
        "id": html_id,
    }
    return {"type": 0, "childNodes": [html], "id": doc_id}, counter[0]


def snapshot_events(href: str, tree: dict) -> list:
    now = int(time.time() * 1000)
    return [
        {"type": 4, "data": {"href": href, "width": 1280, "height": 720}, "timestamp": now},
        {
            "type": 2,
            "data": {"node": tree, "initialOffset": {"top": 0, "left": 0}},
            "timestamp": now + 1,
        },
    ]


def incremental_events(k: int, rnd: random.Random) -> list:
    """One 100 ms batch: usually a mouse-move batch, every 4th frame an input plus a scroll.

    The last event's timestamp is the send time (epoch ms, float) and is set by the sender.
    """
    if k % 4 == 3:
        return [
            {
                "type": 3,
                "data": {
                    "source": 5,
                    "text": "Ada Lovelace"[: 1 + k % 12],
                    "isChecked": False,
                    "id": 9,
                },
                "timestamp": 0,
            },
            {
                "type": 3,
                "data": {"source": 3, "id": 1, "x": 0, "y": rnd.randrange(0, 3000)},
                "timestamp": 0,
            },
            {
                "type": 3,
                "data": {
                    "source": 2,
                    "type": 2,
                    "id": 9,
                    "x": rnd.randrange(1280),
                    "y": rnd.randrange(720),
                    "pointerType": 0,
                },
                "timestamp": 0,
            },
        ]
    positions = [
        {"x": rnd.randrange(1280), "y": rnd.randrange(720), "id": 7, "timeOffset": -100 + 12 * j}
        for j in range(8)
    ]
    return [{"type": 3, "data": {"source": 1, "positions": positions}, "timestamp": 0}]


def stamp(events: list) -> float:
    t = time.time() * 1000
    events[-1]["timestamp"] = round(t, 3)
    return t


def sent_time(text: str) -> float | None:
    i = text.rfind('"timestamp":')
    if i < 0:
        return None
    j = i + 12
    end = j
    while end < len(text) and text[end] in "0123456789.":
        end += 1
    try:
        return float(text[j:end])
    except ValueError:
        return None


DUMPS = json.JSONEncoder(separators=(",", ":")).encode


# ---------------------------------------------------------------- protocol adapters


def as_text(frame) -> str:
    """A frame the project's agent socket received: text, or a deflated binary frame (pages of
    1,024 characters and more, docs/protocol.md)."""
    if isinstance(frame, bytes):
        import zlib

        return zlib.decompress(frame).decode()
    return frame


class Target:
    """How one server is reached and spoken to. Subclasses fill in the details."""

    name = "?"

    def customer_url(self, i: int) -> tuple[str, dict]: ...
    def agent_url(self, i: int) -> tuple[str, dict]: ...


class Shared:
    """State of one load run, shared by all session tasks."""

    def __init__(self, n: int):
        self.n = n
        self.ready = 0
        self.all_ready = asyncio.Event()
        self.go = asyncio.Event()
        self.stop_at = 0.0
        self.win0 = self.win1 = 0.0  # epoch ms of the measured window
        self.latencies: list[float] = []
        self.sent_in_window = 0
        self.late_ms: list[float] = []
        self.errors: list[str] = []
        self.snapshot_bytes = 0
        self.retries = 0

    def mark_ready(self):
        self.ready += 1
        if self.ready == self.n:
            self.all_ready.set()

    def on_frame(self, text: str) -> None:
        t = sent_time(text)
        if t is not None and self.win0 <= t < self.win1:
            self.latencies.append(time.time() * 1000 - t)


async def sender_loop(shared: Shared, i: int, send_frame) -> None:
    """10 frames/s at absolute times, phase-staggered across customers."""
    rnd = random.Random(i)
    await shared.go.wait()
    period = 1.0 / RATE
    t_next = time.monotonic() + (i % 100) / 100 * period
    k = 0
    while True:
        now = time.monotonic()
        if now >= shared.stop_at:
            return
        if t_next > now:
            await asyncio.sleep(t_next - now)
            if time.monotonic() >= shared.stop_at:
                return
        events = incremental_events(k, rnd)
        t = stamp(events)
        if shared.win0 <= t < shared.win1:
            shared.sent_in_window += 1
            shared.late_ms.append((time.monotonic() - t_next) * 1000)
        await send_frame(k, events)
        k += 1
        t_next += period


class Project(Target):
    """The co-browse service: /ws/customer/?token= and /ws/agent/<code>/ with a session cookie.
    `route(i)`: the (customer, agent) ports of session i."""

    def __init__(self, rows, route, name):
        self.rows, self.route, self.name = rows, route, name

    async def _open(self, shared: Shared, url: str, origin: str, headers: dict):
        """Connect and read the `state` frame. A handshake answered 500 is retried (config B:
        two processes on one SQLite file hit 'database is locked' on concurrent joins)."""
        for attempt in range(8):
            try:
                ws = await connect(
                    url,
                    origin=origin,
                    additional_headers=headers,
                    compression=None,
                    max_size=2**24,
                    ping_interval=None,
                    open_timeout=30,
                )
            except websockets.InvalidStatus as e:
                if e.response.status_code != 500 or attempt == 7:
                    raise
                shared.retries += 1
                await asyncio.sleep(0.05 * (attempt + 1) + random.random() * 0.1)
                continue
            first = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if first.get("type") != "state":
                raise RuntimeError(f"{url}: {first}")
            return ws

    async def session(self, shared: Shared, i: int, sem: asyncio.Semaphore, tree: dict) -> None:
        row = self.rows[i]
        cport, aport = self.route(i)
        origin_c = f"http://127.0.0.1:{cport}"
        async with sem:
            cws = await self._open(
                shared,
                f"ws://127.0.0.1:{cport}/ws/customer/?token={row['token']}&session={row['code']}",
                origin_c,
                {},
            )
        seq = [0]
        lock = asyncio.Lock()

        async def send_events(events):
            async with lock:
                seq[0] += 1
                await cws.send(DUMPS({"type": "events", "seq": seq[0], "events": events}))

        async def customer_reader():
            async for text in cws:
                if '"snapshot.request"' in text:
                    await send_events(snapshot_events(origin_c + "/bench/", tree))

        reader = asyncio.ensure_future(customer_reader())
        async with sem:
            aws = await self._open(
                shared,
                f"ws://localhost:{aport}/ws/agent/{row['code']}/",
                f"http://localhost:{aport}",
                {"Cookie": f"sessionid={row['cookie']}"},
            )
        try:
            async with asyncio.timeout(60):
                async for frame in aws:
                    if as_text(frame).startswith('{"type":"events"'):
                        break
            shared.mark_ready()

            async def agent_reader():
                async for frame in aws:
                    shared.on_frame(as_text(frame))

            areader = asyncio.ensure_future(agent_reader())
            await sender_loop(shared, i, lambda k, ev: send_events(ev))
            await asyncio.sleep(2.0)  # drain
            areader.cancel()
        finally:
            reader.cancel()
            await aws.close()
            await cws.close()


class Bare(Target):
    name = "bare"

    def __init__(self, port):
        self.port = port

    async def session(self, shared: Shared, i: int, sem: asyncio.Semaphore, tree: dict) -> None:
        async with sem:
            cws = await connect(
                f"ws://127.0.0.1:{self.port}/c/{i}",
                compression=None,
                max_size=2**24,
                ping_interval=None,
                open_timeout=30,
            )
            await asyncio.wait_for(cws.recv(), 30)
        seq = [0]

        async def send_events(events):
            seq[0] += 1
            await cws.send(DUMPS({"type": "events", "seq": seq[0], "events": events}))

        async def customer_reader():
            async for text in cws:
                if '"snapshot.request"' in text:
                    await send_events(snapshot_events("http://127.0.0.1/bench/", tree))

        reader = asyncio.ensure_future(customer_reader())
        async with sem:
            aws = await connect(
                f"ws://127.0.0.1:{self.port}/a/{i}",
                compression=None,
                max_size=2**24,
                ping_interval=None,
                open_timeout=30,
            )
            await asyncio.wait_for(aws.recv(), 30)
        try:
            async with asyncio.timeout(60):
                async for text in aws:
                    if text.startswith('{"type":"events"'):
                        break
            shared.mark_ready()

            async def agent_reader():
                async for text in aws:
                    shared.on_frame(text)

            areader = asyncio.ensure_future(agent_reader())
            await sender_loop(shared, i, lambda k, ev: send_events(ev))
            await asyncio.sleep(2.0)
            areader.cancel()
        finally:
            reader.cancel()
            await aws.close()
            await cws.close()


def jwt_hs256(payload: dict, secret: str) -> str:
    import base64
    import hashlib
    import hmac

    def b64(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    head = b64(DUMPS({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(DUMPS(payload).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


class RrwebRelay(Target):
    """rrweb-relay's socket.io protocol, spoken directly over `websockets` (Engine.IO v4 frames:
    "0" open, "40" connect with auth, "42[...]" event, "2"/"3" ping/pong), so that the client cost
    is the same library as for the other targets."""

    name = "rrweb"

    def __init__(self, port):
        self.port = port

    async def _open(self, role: str, i: int):
        ws = await connect(
            f"ws://127.0.0.1:{self.port}/socket.io/?EIO=4&transport=websocket",
            compression=None,
            max_size=2**27,
            ping_interval=None,
            open_timeout=30,
        )
        opened = await asyncio.wait_for(ws.recv(), 30)
        if not opened.startswith("0"):
            raise RuntimeError(f"engine.io open: {opened[:100]}")
        token = jwt_hs256(
            {"user_id": f"{role}-{i}", "email": f"{role}{i}@bench.test", "role": role}, RRWEB_SECRET
        )
        await ws.send("40" + DUMPS({"token": token}))
        while True:
            msg = await asyncio.wait_for(ws.recv(), 30)
            if msg == "2":
                await ws.send("3")
            elif msg.startswith("40"):
                return ws
            else:
                raise RuntimeError(f"socket.io connect refused: {msg[:200]}")

    async def session(self, shared: Shared, i: int, sem: asyncio.Semaphore, tree: dict) -> None:
        sid = f"bench-{i}"
        async with sem:
            cws = await self._open("customer", i)
            await cws.send(
                "42"
                + DUMPS(
                    [
                        "tracker:start",
                        {"sessionId": sid, "site": "bench", "url": "http://127.0.0.1/bench/"},
                    ]
                )
            )
            snap = snapshot_events("http://127.0.0.1/bench/", tree)
            await cws.send(
                "42"
                + DUMPS(
                    [
                        "tracker:events",
                        {
                            "events": [
                                {"event": snap[0], "isCheckout": True},
                                {"event": snap[1], "isCheckout": False},
                            ]
                        },
                    ]
                )
            )

        async def customer_reader():
            async for text in cws:
                if text == "2":
                    await cws.send("3")

        reader = asyncio.ensure_future(customer_reader())
        async with sem:
            aws = await self._open("admin", i)
            await aws.send("42" + DUMPS(["admin:watch", sid]))
        try:
            async with asyncio.timeout(60):
                async for text in aws:
                    if text == "2":
                        await aws.send("3")
                    elif text.startswith('42["watch:init"'):
                        if '"type":2' not in text:
                            raise RuntimeError(f"session {i}: watch:init without a snapshot")
                        break
            shared.mark_ready()

            async def agent_reader():
                async for text in aws:
                    if text == "2":
                        await aws.send("3")
                    else:
                        shared.on_frame(text)

            areader = asyncio.ensure_future(agent_reader())

            async def send(k, events):
                await cws.send(
                    "42" + DUMPS(["tracker:events", {"events": [{"event": e} for e in events]}])
                )

            await sender_loop(shared, i, send)
            await asyncio.sleep(2.0)
            areader.cancel()
        finally:
            reader.cancel()
            await aws.close()
            await cws.close()


async def load(
    target, n: int, seconds: float, pids: list[int], extra_pids: list[int], tree: dict
) -> dict:
    shared = Shared(n)
    rss_idle = sum(rss_kb(p) for p in pids)
    sem = asyncio.Semaphore(32)
    t_conn = time.monotonic()
    tasks = [asyncio.ensure_future(target.session(shared, i, sem, tree)) for i in range(n)]

    def failed() -> list:
        return [t for t in tasks if t.done() and (t.cancelled() or t.exception())]

    deadline = time.monotonic() + max(90, n * 0.12)
    while not shared.all_ready.is_set() and time.monotonic() < deadline:
        if failed() and len(failed()) + shared.ready >= n:
            break
        await asyncio.sleep(0.1)
    connect_s = time.monotonic() - t_conn
    errs = failed()
    if not shared.all_ready.is_set():
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        first = next((repr(t.exception()) for t in errs if not t.cancelled()), "timeout")
        return {
            "ok": False,
            "error": f"only {shared.ready}/{n} sessions ready after "
            f"{connect_s:.0f} s; first error: {first[:300]}",
        }
    rss_ready = sum(rss_kb(p) for p in pids)
    warm = 1.0
    now_ms = time.time() * 1000
    shared.win0 = now_ms + warm * 1000
    shared.win1 = shared.win0 + seconds * 1000
    shared.stop_at = time.monotonic() + warm + seconds
    shared.go.set()
    await asyncio.sleep(warm)
    cpu0 = [cpu_seconds(p) for p in pids]
    ecpu0 = [cpu_seconds(p) for p in extra_pids]
    me0 = os.times()
    await asyncio.sleep(seconds)
    cpu1 = [cpu_seconds(p) for p in pids]
    ecpu1 = [cpu_seconds(p) for p in extra_pids]
    me1 = os.times()
    rss_live = sum(rss_kb(p) for p in pids)
    done, pending = await asyncio.wait(tasks, timeout=20)
    for t in pending:
        t.cancel()
    errors = [repr(t.exception())[:200] for t in done if not t.cancelled() and t.exception()]
    lat = shared.latencies
    delivered = len(lat)
    offered = n * RATE * seconds
    server_cpu = sum(cpu1) - sum(cpu0)
    result = {
        "ok": True,
        "sessions": n,
        "connect_s": round(connect_s, 1),
        "offered_frames_per_s": offered / seconds,
        "sent_frames_per_s": round(shared.sent_in_window / seconds),
        "delivered_frames_per_s": round(delivered / seconds),
        "delivered_share": round(delivered / offered, 4) if offered else 0,
        "lost_in_window": shared.sent_in_window - delivered,
        "latency_median_ms": round(statistics.median(lat), 2) if lat else None,
        "latency_p99_ms": round(percentile(lat, 99), 2) if lat else None,
        "latency_max_ms": round(max(lat), 1) if lat else None,
        "client_send_lateness_p99_ms": round(percentile(shared.late_ms, 99), 1)
        if shared.late_ms
        else None,
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_share_of_one_core": round(server_cpu / seconds, 2),
        "server_cpu_us_per_frame": round(server_cpu / delivered * 1e6, 1) if delivered else None,
        "extra_cpu_us_per_frame": round((sum(ecpu1) - sum(ecpu0)) / delivered * 1e6, 1)
        if delivered and extra_pids
        else None,
        "client_cpu_share_of_one_core": round(
            (me1.user + me1.system - me0.user - me0.system) / seconds, 2
        ),
        "rss_idle_kb": rss_idle,
        "rss_ready_kb": rss_ready,
        "rss_live_kb": rss_live,
        "rss_kb_per_session": round((rss_live - rss_idle) / n, 1),
        "errors_after_ready": len(errors),
        "handshake_retries": shared.retries,
    }
    if errors:
        result["first_error"] = errors[0]
    result["holds"] = bool(
        lat
        and result["delivered_share"] >= HOLD_FRACTION
        and result["latency_p99_ms"] <= P99_LIMIT_MS
    )
    return result


# ---------------------------------------------------------------- servers


class Servers:
    """Start the processes of one target for one run; stop them afterwards."""

    def __init__(
        self,
        kind: str,
        workdir: Path,
        db_template,
        rows: list,
        ports: dict,
        profile: bool = False,
    ):
        """`db_template`: the seeded SQLite file, or a Database (PostgreSQL)."""
        self.kind, self.workdir, self.db_template = kind, workdir, db_template
        self.rows, self.ports = rows, ports
        self.procs: list[subprocess.Popen] = []
        self.extra: list[subprocess.Popen] = []
        self.redis: subprocess.Popen | None = None

    def _spawn(self, args, env, log_name) -> subprocess.Popen:
        log = open(self.workdir / log_name, "ab")
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def django_env(self, db) -> dict:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "cobrowse.settings",
            "SECRET_KEY": BENCH_SECRET_KEY,  # DEBUG off, as in production
            "SQLITE_PATH": str(db),
            "LOG_LEVEL": "WARNING",
            "COBROWSE_PAUSE_TIMEOUT": "3600",
            "COBROWSE_WAITING_TIMEOUT": "3600",
            # One site stands for every simulated customer: lift the per-site cap (default 500).
            "COBROWSE_MAX_LIVE_SESSIONS_PER_SITE": "0",
        }
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        return env

    def start(self) -> Target:
        if self.kind in PROJECT:
            if isinstance(self.db_template, Database):
                env = self.django_env(self.workdir / "unused.sqlite3")
                env["DATABASE_URL"] = self.db_template.fresh_copy()
            else:
                db = self.workdir / f"run-{self.kind}.sqlite3"
                shutil.copyfile(self.db_template, db)  # every run starts from the seeded state
                env = self.django_env(db)
            daphne = [PY, "-m", "daphne", "-b", "127.0.0.1", "-p"]
            if self.kind == "A":
                port = self.ports["A"]
                self.procs.append(
                    self._spawn(
                        [*daphne, str(port), "cobrowse.asgi:application"], env, "daphne-A.log"
                    )
                )
                wait_tcp(port, self.procs[0])
                self._warm(port)
                return Project(self.rows, lambda i: (port, port), "A")
            rport = free_port()
            self.redis = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(rport),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.workdir),
                ],
                stdout=open(self.workdir / "redis.log", "ab"),
                stderr=subprocess.STDOUT,
            )
            self.extra.append(self.redis)
            wait_tcp(rport, self.redis)
            env["REDIS_URL"] = f"redis://127.0.0.1:{rport}/0"
            workers = (
                [self.ports["B1"]] if self.kind == "R" else [self.ports["B1"], self.ports["B2"]]
            )
            for port in workers:
                self.procs.append(
                    self._spawn(
                        [*daphne, str(port), "cobrowse.asgi:application"],
                        env,
                        f"daphne-{self.kind}-{port}.log",
                    )
                )
            for proc, port in zip(self.procs, workers, strict=True):
                wait_tcp(port, proc)
                self._warm(port)
            if self.kind == "R":
                return Project(self.rows, lambda i: (workers[0], workers[0]), "R")
            if self.kind == "C":

                def hashed(i: int) -> tuple[int, int]:
                    port = workers[session_hash(self.rows[i]["code"]) % len(workers)]
                    return port, port

                return Project(self.rows, hashed, "C")
            return Project(self.rows, lambda i: (workers[0], workers[1]), "B")
        port = free_port()
        if self.kind == "bare":
            self.procs.append(
                self._spawn(
                    [PY, str(ROOT / "bench" / "bare_relay.py"), str(port)],
                    dict(os.environ),
                    "bare.log",
                )
            )
            wait_tcp(port, self.procs[0])
            return Bare(port)
        env = {**os.environ, "RRWEB_RELAY_SECRET": RRWEB_SECRET}
        self.procs.append(
            self._spawn(
                [
                    PY,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "bench.rrweb_relay_app:application",
                ],
                env,
                "rrweb.log",
            )
        )
        wait_tcp(port, self.procs[0])
        return RrwebRelay(port)

    def _warm(self, port: int) -> None:
        """Load Django's URLconf, templates and ORM once so that 'idle' RSS is a warmed server."""
        for _ in range(3):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/demo/", timeout=10).read()
            except OSError:
                pass

    def stop(self) -> None:
        for p in self.procs + self.extra:
            stop(p)


PROJECT = ("A", "B", "C", "R")


def session_hash(code: str) -> int:
    """Which worker a session's sockets go to: a stable hash of its ID (nginx's is CRC32 on a
    ring of points per server; any stable hash spreads sessions the same way for this)."""
    import zlib

    return zlib.crc32(code.encode())


class Database:
    """A private PostgreSQL 15 (tests.e2e.test_faults.Postgres) holding the seeded database as a
    template; each run gets a fresh copy of it."""

    def __init__(self) -> None:
        from tests.e2e.test_faults import Postgres

        self.server = Postgres()
        self.server.start()
        self.base = self.server.url.rsplit("/", 1)[0]
        self.url = self.base + "/seed"
        self.runs = 0
        self.sql("CREATE DATABASE seed")

    def sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.server.url, autocommit=True) as conn:
            conn.execute(statement)

    def fresh_copy(self) -> str:
        self.runs += 1
        if self.runs > 1:
            self.sql(f"DROP DATABASE IF EXISTS run{self.runs - 1} WITH (FORCE)")
        self.sql(f"CREATE DATABASE run{self.runs} TEMPLATE seed")
        return f"{self.base}/run{self.runs}"

    def stop(self) -> None:
        self.server.stop()


def seed(workdir: Path, n: int, origins: list[str], database=None) -> tuple:
    db = workdir / "seed.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cobrowse.settings",
        "SECRET_KEY": BENCH_SECRET_KEY,
        "SQLITE_PATH": str(db),
        "COBROWSE_MAX_LIVE_SESSIONS_PER_SITE": "0",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    if database is not None:
        env["DATABASE_URL"] = database.url
        db = database
    t0 = time.monotonic()
    subprocess.run(
        [PY, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    out = workdir / "rows.json"
    res = subprocess.run(
        [PY, str(ROOT / "bench" / "relay_setup.py"), str(n), str(out), *origins],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(
        f"[seed] migrate + {res.stdout.strip()} (total {time.monotonic() - t0:.1f} s)", flush=True
    )
    return db, json.loads(out.read_text())


def run_one(kind, n, seconds, workdir, db, rows, ports, tree, profile_out=None) -> dict:
    servers = Servers(kind, workdir, db, rows, ports)
    prof = None
    try:
        target = servers.start()
        pids = [p.pid for p in servers.procs]
        extra = [p.pid for p in servers.extra]
        if profile_out:
            # Sample the (first) server process for the length of the run, idle included.
            prof = subprocess.Popen(
                [
                    str(Path(PY).parent / "py-spy"),
                    "record",
                    "-p",
                    str(pids[-1]),
                    "-d",
                    str(int(seconds + 40)),
                    "-r",
                    "50",
                    "-f",
                    "raw",
                    "-o",
                    str(profile_out),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        result = asyncio.run(load(target, n, seconds, pids, extra, tree))
        if prof:
            prof.send_signal(signal.SIGINT)
            try:
                prof.wait(timeout=20)
            except subprocess.TimeoutExpired:
                prof.kill()
    finally:
        if prof and prof.poll() is None:
            prof.kill()
        servers.stop()
    result["target"] = kind
    return result


def snapshot_timing(workdir, db, rows, ports, repeats: int = 5) -> dict:
    """Server path for a first mirror: customer sends the full snapshot frame, agent receives it.

    Config A, one session. The agent asks for a snapshot `repeats` times for each page; the
    time is from the customer's send to the agent's receipt (guard included)."""
    small, (big, big_nodes) = small_tree(), big_tree(10_000)
    out = {}
    servers = Servers("A", workdir, db, rows, ports)
    try:
        target = servers.start()

        async def measure(tree):
            row = rows[0]
            port = target.route(0)[0]
            origin_c = f"http://127.0.0.1:{port}"
            cws = await connect(
                f"ws://127.0.0.1:{port}/ws/customer/?token={row['token']}",
                origin=origin_c,
                compression=None,
                max_size=2**24,
                ping_interval=None,
            )
            await cws.recv()
            aws = await connect(
                f"ws://localhost:{port}/ws/agent/{row['code']}/",
                origin=f"http://localhost:{port}",
                additional_headers={"Cookie": f"sessionid={row['cookie']}"},
                compression=None,
                max_size=2**24,
                ping_interval=None,
            )
            await aws.recv()
            seq, times, size = 0, [], 0
            for r in range(repeats + 1):
                async with asyncio.timeout(30):
                    while '"snapshot.request"' not in await cws.recv():
                        pass
                    seq += 1
                    frame = DUMPS(
                        {
                            "type": "events",
                            "seq": seq,
                            "events": snapshot_events(origin_c + "/bench/", tree),
                        }
                    )
                    size = len(frame.encode())
                    t0 = time.perf_counter()
                    await cws.send(frame)
                    while not as_text(await aws.recv()).startswith('{"type":"events"'):
                        pass
                    if r:  # the first one warms the policy cache
                        times.append((time.perf_counter() - t0) * 1000)
                await aws.send('{"type":"snapshot.request"}')
            await aws.close()
            await cws.close()
            return size, times

        for label, tree in (("small", small), (f"generated_{big_nodes}_nodes", big)):
            size, times = asyncio.run(measure(tree))
            out[label] = {
                "frame_bytes": size,
                "median_ms": round(statistics.median(times), 1),
                "max_ms": round(max(times), 1),
                "repeats": len(times),
            }
    finally:
        servers.stop()
    return out


def summarize_profile(raw: Path, top: int = 15) -> list:
    """Collapsed stacks -> share of samples per function (self and inclusive)."""
    if not raw.exists():
        return []
    total, own, incl = 0, {}, {}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        c = int(count)
        total += c
        frames = stack.split(";")
        own[frames[-1]] = own.get(frames[-1], 0) + c
        for f in set(frames):
            incl[f] = incl.get(f, 0) + c
    rows = sorted(own.items(), key=lambda kv: -kv[1])[:top]
    return [
        {
            "function": f,
            "self_pct": round(100 * c / total, 1),
            "inclusive_pct": round(100 * incl[f] / total, 1),
        }
        for f, c in rows
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", default="100,500,1000")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--targets", default="bare,rrweb,A,B")
    ap.add_argument(
        "--search",
        action="store_true",
        help="for A, bisect coarsely below the first failing N (time permitting)",
    )
    ap.add_argument("--snapshot", action="store_true", help="also time full-snapshot frames")
    ap.add_argument(
        "--profile", type=int, default=0, help="run py-spy on config A at this N (an extra run)"
    )
    ap.add_argument("--budget", type=float, default=540, help="no new run starts after this")
    ap.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--json", default=str(ROOT / "bench" / "relay-results.json"))
    args = ap.parse_args()

    started = time.monotonic()
    ns = sorted(int(x) for x in args.sessions.split(","))
    targets = [t for t in args.targets.split(",") if t and t != "none"]
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    workdir = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    ports = {"A": free_port(), "B1": free_port(), "B2": free_port()}
    origins = [f"http://127.0.0.1:{p}" for p in ports.values()]
    tree = small_tree()
    report = {
        "machine": {
            "cores": os.cpu_count(),
            "python": sys.version.split()[0],
            "websockets": websockets.__version__,
        },
        "args": vars(args),
        "runs": [],
        "workdir": str(workdir),
    }

    def save():
        Path(args.json).write_text(json.dumps(report, indent=2))

    db, rows = (None, [])
    database = Database() if args.database == "postgres" else None
    if set(PROJECT) & set(targets) or args.snapshot:
        db, rows = seed(workdir, max([*ns, args.profile]), origins, database)

    def over_budget() -> bool:
        return time.monotonic() - started > args.budget

    first_fail: dict[str, int] = {}
    last_pass: dict[str, int] = {}
    for n in ns:
        for kind in targets:
            if over_budget():
                print(f"[skip] {kind} N={n}: over the {args.budget:.0f} s budget", flush=True)
                report["runs"].append(
                    {"target": kind, "sessions": n, "ok": False, "error": "skipped: time budget"}
                )
                continue
            t0 = time.monotonic()
            try:
                r = run_one(kind, n, args.seconds, workdir, db, rows, ports, tree)
            except Exception as e:  # record and go on with the next target
                r = {"target": kind, "sessions": n, "ok": False, "error": repr(e)[:300]}
            r["wall_s"] = round(time.monotonic() - t0, 1)
            report["runs"].append(r)
            save()
            print(
                f"[{kind:5s} N={n:5d}] "
                + json.dumps(
                    {
                        k: r.get(k)
                        for k in (
                            "ok",
                            "delivered_frames_per_s",
                            "latency_median_ms",
                            "latency_p99_ms",
                            "server_cpu_us_per_frame",
                            "rss_kb_per_session",
                            "holds",
                            "error",
                            "wall_s",
                        )
                    }
                ),
                flush=True,
            )
            if r.get("holds"):
                last_pass[kind] = max(last_pass.get(kind, 0), n)
            elif kind not in first_fail:
                first_fail[kind] = n

    if args.search:
        for kind in [k for k in PROJECT if k in first_fail]:
            lo, hi = last_pass.get(kind, 0), first_fail[kind]
            for _ in range(3):
                mid = (lo + hi) // 2
                mid -= mid % 50 if mid > 100 else 0
                if mid <= lo or mid >= hi or over_budget():
                    break
                try:
                    r = run_one(kind, mid, args.seconds, workdir, db, rows, ports, tree)
                except Exception as e:
                    r = {"target": kind, "sessions": mid, "ok": False, "error": repr(e)[:300]}
                r["search"] = True
                report["runs"].append(r)
                save()
                print(
                    f"[{kind:5s} N={mid:5d} search] holds={r.get('holds')} "
                    f"p99={r.get('latency_p99_ms')} share={r.get('delivered_share')}",
                    flush=True,
                )
                if r.get("holds"):
                    lo = mid
                else:
                    hi = mid
            last_pass[kind] = max(last_pass.get(kind, 0), lo)
    report["largest_n_holding"] = last_pass

    if args.profile and not over_budget():
        raw = workdir / "pyspy-A.txt"
        try:
            r = run_one(
                "A", args.profile, args.seconds, workdir, db, rows, ports, tree, profile_out=raw
            )
            r["profiled"] = True
            report["runs"].append(r)
            report["profile_A"] = summarize_profile(raw)
            shutil.copyfile(raw, ROOT / "bench" / "relay-pyspy-A.txt")
        except Exception as e:
            report["profile_A"] = f"failed: {e!r}"
        save()

    if args.snapshot and not over_budget():
        try:
            report["snapshot"] = snapshot_timing(workdir, db, rows, ports)
        except Exception as e:
            report["snapshot"] = f"failed: {e!r}"
        print("[snapshot] " + json.dumps(report["snapshot"]), flush=True)
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    if database is not None:
        database.stop()
    save()
    print(f"[done] {report['elapsed_s']} s; largest N holding: {last_pass}; json: {args.json}")


if __name__ == "__main__":
    main()
