"""What one hostile customer socket does to another live session (issue 13, isolation).

    .venv/bin/python bench/hostile.py [--seconds 6] [--json out.json] [--server-root DIR]

One daphne (embedded mode, a seeded SQLite copy, DEBUG off) on 127.0.0.1. Two victim sessions
(customer + agent sockets, a small snapshot, then 20 incremental frames/s each) are measured
throughout: latency = the victim customer's send time (in the frame's last timestamp) to the
victim agent's receipt, one clock. Phase by phase, a separate attacker process sends the worst
frames it can at the rate the server allows (COBROWSE_MAX_FRAMES_PER_SECOND, default 60/s, burst
200) for `--seconds`:

  baseline          no attacker
  unjoined_flood    1 MB events frames to a session no agent has joined
  unjoined_chunks   a 33 MB chunked frame, again and again, before any agent joined
  joined_chunks     the same with an agent joined (reassembly, parse, guard)
  nested_buttons    60 KB snapshots of buttons nested in a form (`form button:not([type])`)
  deep_chains       snapshots of one 1,000-deep chain and of 100 chains 256 deep
  selector_worst    ~900 KB snapshots built to be costly for every default selector
  oversize          frames over daphne's 1 MiB limit (each closes the socket; reconnect)

For each phase: the victims' median, p99 and max latency, the p99 raise over the baseline, the
frames the attacker managed to send and the error codes it was answered with. `--server-root`
runs the server from another checkout (an A/B of the same client against older code).
`--short` (CI) runs 3 s phases and exits 1 if any phase raises the victims' p99 by more than
`--limit-ms` (default 10) or loses a victim frame.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path

from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
import relay  # bench/relay.py: seeding, server start, payload helpers

VICTIMS = 2
VICTIM_RATE = 20  # frames/s per victim customer
ATTACK_RATE = 60  # COBROWSE_MAX_FRAMES_PER_SECOND's default
PHASES = (
    "baseline",
    "unjoined_flood",
    "unjoined_chunks",
    "joined_chunks",
    "nested_buttons",
    "deep_chains",
    "selector_worst",
    "oversize",
)


# ---------------------------------------------------------------- hostile payloads


class Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


def el(ids: Ids, tag: str, attrs: dict | None = None, children: list | None = None) -> dict:
    return {
        "type": 2,
        "id": ids(),
        "tagName": tag,
        "attributes": attrs or {},
        "childNodes": children or [],
    }


def page_of(ids: Ids, body_children: list, *, first: tuple | None = None) -> dict:
    body = {"type": 2, "id": 3, "tagName": "body", "attributes": {}, "childNodes": body_children}
    html = {"type": 2, "id": 2, "tagName": "html", "attributes": {}, "childNodes": [body]}
    return {"type": 0, "id": 1, "childNodes": [html]}


def nested_buttons(target_bytes: int = 60_000) -> dict:
    """A form holding buttons nested inside buttons, as deep as fits in the frame."""
    ids = Ids()
    ids.n = 10
    # As deep as the server's parser goes on its event loop (about 490 levels): deeper frames
    # go to a worker process (deep_chains).
    depth = min(450, target_bytes // 75)
    inner: list = []
    for i in range(depth):
        inner = [el(ids, "button", {"class": "btn btn-primary", "name": f"b{i}"}, inner)]
    return page_of(ids, [el(ids, "form", {"action": "/pay"}, inner)])


def chain(ids: Ids, depth: int) -> dict:
    node: dict = el(ids, "div")
    for _ in range(depth - 1):
        node = el(ids, "div", {}, [node])
    return node


def deep_chains() -> list[dict]:
    ids = Ids()
    ids.n = 10
    one = page_of(ids, [chain(ids, 1000)])
    ids2 = Ids()
    ids2.n = 10
    hundred = page_of(ids2, [chain(ids2, 256) for _ in range(100)])
    return [one, hundred]


def selector_worst(target_bytes: int = 2_000_000) -> dict:
    """Elements that look like every default rule's candidates without being one: inputs with
    long autocomplete token lists, labels pointing at other ids, buttons in forms, links."""
    ids = Ids()
    ids.n = 10
    rows = []
    size = 0
    i = 0
    tokens = " ".join(f"section-x{j}" for j in range(12)) + " shipping street-address"
    while size < target_bytes:
        field_id = f"f{i}"
        rows.append(
            el(
                ids,
                "form",
                {"class": " ".join(f"c{j}" for j in range(20)), "id": f"form{i}"},
                [
                    el(ids, "label", {"for": f"f{i + 1}"}, []),
                    el(
                        ids,
                        "input",
                        {"id": field_id, "name": f"pass-{i}", "autocomplete": tokens},
                    ),
                    el(ids, "button", {}, [el(ids, "span", {"class": "icon"})]),
                    el(ids, "a", {"href": f"/page/{i}"}, []),
                ],
            )
        )
        size += 620
        i += 1
    return page_of(ids, rows)


def snapshot_frame(seq: int, tree: dict, href: str) -> str:
    return relay.DUMPS({"type": "events", "seq": seq, "events": relay.snapshot_events(href, tree)})


def chunk_frames(text: str, piece: int = 750_000) -> list[str]:
    parts = [text[i : i + piece] for i in range(0, len(text), piece)]
    return [
        relay.DUMPS({"type": "chunk", "part": n, "last": n == len(parts) - 1, "data": p})
        for n, p in enumerate(parts)
    ]


def big_events_text(target_bytes: int, href: str) -> str:
    """A valid events frame of about `target_bytes`: a flat snapshot of many inputs."""
    ids = Ids()
    ids.n = 10
    rows = []
    per = 140
    for i in range(target_bytes // per):
        rows.append(el(ids, "input", {"name": f"n{i}", "autocomplete": "cc-number x"}))
    return snapshot_frame(1, page_of(ids, rows), href)


# ---------------------------------------------------------------- attacker (its own process)


async def _open(url: str, origin: str, headers: dict | None = None):
    ws = await connect(
        url,
        origin=origin,
        additional_headers=headers or {},
        compression=None,
        max_size=2**26,
        ping_interval=None,
        open_timeout=30,
        write_limit=2**22,
    )
    first = json.loads(await asyncio.wait_for(ws.recv(), 30))
    if first.get("type") != "state":
        raise RuntimeError(f"{url}: {first}")
    return ws


async def attack(phase: str, port: int, rows: list, seconds: float, out) -> None:
    origin = f"http://127.0.0.1:{port}"
    href = origin + "/bench/"
    unjoined, joined = rows[VICTIMS], rows[VICTIMS + 1]
    errors: Counter = Counter()
    sent = [0]
    deadline = time.monotonic() + seconds

    async def drain(ws):
        try:
            async for text in ws:
                if isinstance(text, str) and text.startswith('{"type":"error"'):
                    errors[json.loads(text).get("code", "?")] += 1
        except Exception as error:  # the server closed the socket: counted, not fatal here
            errors[f"closed:{type(error).__name__}"] += 1

    async def paced(ws, frames: list[str]) -> None:
        period, t_next, k = 1.0 / ATTACK_RATE, time.monotonic(), 0
        while time.monotonic() < deadline:
            try:
                await ws.send(frames[k % len(frames)])
            except Exception as error:  # closed by the server: say so, and stop this attack
                errors[f"send:{type(error).__name__}"] += 1
                return
            sent[0] += 1
            k += 1
            t_next += period
            await asyncio.sleep(max(0.0, t_next - time.monotonic()))

    async def customer(row):
        return await _open(f"ws://127.0.0.1:{port}/ws/customer/?token={row['token']}", origin)

    async def join(row):
        return await _open(
            f"ws://localhost:{port}/ws/agent/{row['code']}/",
            f"http://localhost:{port}",
            {"Cookie": f"sessionid={row['cookie']}"},
        )

    tasks = []
    sockets = []
    try:
        if phase == "unjoined_flood":
            ws = await customer(unjoined)
            sockets.append(ws)
            tasks.append(asyncio.ensure_future(drain(ws)))
            text = big_events_text(1_000_000, href)
            await paced(ws, [text])
        elif phase in ("unjoined_chunks", "joined_chunks"):
            ws = await customer(unjoined if phase == "unjoined_chunks" else joined)
            sockets.append(ws)
            if phase == "joined_chunks":
                sockets.append(await join(joined))
            tasks.append(asyncio.ensure_future(drain(ws)))
            frames = chunk_frames(big_events_text(33_000_000, href))
            await paced(ws, frames)
        elif phase == "oversize":
            text = "x" * (1_100_000)
            while time.monotonic() < deadline:
                try:
                    ws = await customer(unjoined)
                    await ws.send(text)
                    sent[0] += 1
                    await drain(ws)
                except Exception as error:  # refused handshakes are what is measured here
                    errors[f"connect:{type(error).__name__}"] += 1
                await asyncio.sleep(1.0 / 20)
        else:
            ws = await customer(joined)
            sockets.append(ws)
            tasks.append(asyncio.ensure_future(drain(ws)))
            sockets.append(await join(joined))
            if phase == "nested_buttons":
                trees = [nested_buttons()]
            elif phase == "deep_chains":
                trees = deep_chains()
            else:
                trees = [selector_worst()]
            # Snapshots are relayed whatever their sequence number: a few frames are enough.
            frames = []
            for seq, tree in enumerate(trees, 1):
                text = snapshot_frame(seq, tree, href)
                frames += chunk_frames(text) if len(text) > 900_000 else [text]
            await paced(ws, frames)
    finally:
        for ws in sockets:
            await ws.close()
        for task in tasks:
            task.cancel()
    out.put({"sent": sent[0], "errors": dict(errors)})


def attacker_main(phase, port, rows, seconds, out) -> None:
    sys.setrecursionlimit(20_000)  # the deep trees are encoded by the json module
    # A real attacker runs on its own machine: here it shares the 2 cores with the server and
    # the victims, so it yields the CPU to them rather than starve the server of it.
    os.nice(10)
    asyncio.run(attack(phase, port, rows, seconds, out))


# ---------------------------------------------------------------- victims (this process)


def as_text(message: str | bytes) -> str:
    """A frame's text: a binary one is a deflated page frame."""
    return message if isinstance(message, str) else zlib.decompress(message).decode()


class Victims:
    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []  # (send epoch ms, latency ms)
        self.sent: list[float] = []
        self.stop = False

    async def run_one(self, port: int, row: dict, ready: asyncio.Event, index: int) -> None:
        origin = f"http://127.0.0.1:{port}"
        cws = await _open(f"ws://127.0.0.1:{port}/ws/customer/?token={row['token']}", origin)
        seq = [0]

        async def send(events):
            seq[0] += 1
            await cws.send(relay.DUMPS({"type": "events", "seq": seq[0], "events": events}))

        async def customer_reader():
            async for text in cws:
                if '"snapshot.request"' in text:
                    await send(relay.snapshot_events(origin + "/bench/", relay.small_tree()))

        reader = asyncio.ensure_future(customer_reader())
        aws = await _open(
            f"ws://localhost:{port}/ws/agent/{row['code']}/",
            f"http://localhost:{port}",
            {"Cookie": f"sessionid={row['cookie']}"},
        )
        async for message in aws:
            if as_text(message).startswith('{"type":"events"'):
                break

        async def agent_reader():
            async for message in aws:
                text = as_text(message)
                t = relay.sent_time(text)
                if t is not None and text.startswith('{"type":"events"'):
                    self.samples.append((t, time.time() * 1000 - t))

        areader = asyncio.ensure_future(agent_reader())
        ready.set()
        import random

        rnd = random.Random(index)
        period, t_next, k = 1.0 / VICTIM_RATE, time.monotonic() + index * 0.025, 0
        while not self.stop:
            await asyncio.sleep(max(0.0, t_next - time.monotonic()))
            events = relay.incremental_events(k, rnd)
            self.sent.append(relay.stamp(events))
            await send(events)
            k += 1
            t_next += period
        await asyncio.sleep(1.0)
        areader.cancel()
        reader.cancel()
        await aws.close()
        await cws.close()


def summary(lat: list[float]) -> dict:
    if not lat:
        return {"n": 0}
    return {
        "n": len(lat),
        "median_ms": round(statistics.median(lat), 2),
        "p99_ms": round(relay.percentile(lat, 99), 2),
        "max_ms": round(max(lat), 2),
    }


async def measure(port: int, rows: list, phases: list[str], seconds: float) -> list[dict]:
    victims = Victims()
    readies = [asyncio.Event() for _ in range(VICTIMS)]
    runs = [
        asyncio.ensure_future(victims.run_one(port, rows[i], readies[i], i)) for i in range(VICTIMS)
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
    await asyncio.sleep(1.0)  # warm-up
    ctx = multiprocessing.get_context("spawn")
    results = []
    for phase in phases:
        out = ctx.Queue()
        proc = None
        if phase != "baseline":
            proc = ctx.Process(target=attacker_main, args=(phase, port, rows, seconds + 1.0, out))
            proc.start()
            await asyncio.sleep(1.0)  # its connections and first frames
        w0 = time.time() * 1000
        await asyncio.sleep(seconds)
        w1 = time.time() * 1000
        attacker = {}
        if proc is not None:
            await asyncio.get_running_loop().run_in_executor(None, proc.join, 120)
            if proc.is_alive():
                proc.kill()
            attacker = out.get(timeout=5) if not out.empty() else {"error": "no report"}
        await asyncio.sleep(1.5)  # late frames of the window arrive; the server settles
        lat = [ms for t, ms in victims.samples if w0 <= t < w1]
        sent = sum(1 for t in victims.sent if w0 <= t < w1)
        results.append({"phase": phase, **summary(lat), "victim_sent": sent, **attacker})
        print(json.dumps(results[-1]), flush=True)
    victims.stop = True
    await asyncio.gather(*runs, return_exceptions=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--short", action="store_true", help="3 s phases; exit 1 on a stall")
    parser.add_argument("--limit-ms", type=float, default=10.0)
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--json")
    parser.add_argument("--server-root", help="run the server from this checkout")
    parser.add_argument("--workdir", help="keep the seeded database and the server's log here")
    args = parser.parse_args()
    seconds = 3.0 if args.short else args.seconds
    phases = [p for p in args.phases.split(",") if p]
    if phases[0] != "baseline":
        phases.insert(0, "baseline")
    if args.server_root:
        relay.ROOT = Path(args.server_root).resolve()
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        workdir = Path(args.workdir or tmp)  # --workdir keeps the server's log
        workdir.mkdir(parents=True, exist_ok=True)
        port = relay.free_port()
        origins = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
        db, rows = relay.seed(workdir, VICTIMS + 2, origins)
        servers = relay.Servers("A", workdir, db, rows, {"A": port})
        try:
            servers.start()
            results = asyncio.run(measure(port, rows, phases, seconds))
        finally:
            servers.stop()
    base = results[0]
    failed = []
    for row in results:
        row["p99_raise_ms"] = round(row.get("p99_ms", 0) - base.get("p99_ms", 0), 2)
        lost = row["victim_sent"] - row.get("n", 0)
        row["victim_lost"] = lost
        if row["phase"] != "baseline" and (row["p99_raise_ms"] > args.limit_ms or lost > 0):
            failed.append(row["phase"])
    print(f"{'phase':<16} {'median':>8} {'p99':>8} {'max':>8} {'raise':>8} {'lost':>5} errors")
    for row in results:
        print(
            f"{row['phase']:<16} {row.get('median_ms', '-'):>8} {row.get('p99_ms', '-'):>8} "
            f"{row.get('max_ms', '-'):>8} {row['p99_raise_ms']:>8} {row['victim_lost']:>5} "
            f"{row.get('errors', '')}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if failed:
        print(f"stalled other sessions: {', '.join(failed)} (limit {args.limit_ms} ms)")
        if args.short:
            sys.exit(1)


if __name__ == "__main__":
    main()
