"""Snapshot and wire cost in real browsers: time and bytes from the agent joining to the first
complete mirror, for a small page, the demo checkout (full CSS) and a generated 10,000-node page;
bytes per keystroke and per second of scrolling. Bytes are what crossed the customer's socket:
since issue 13 large frames go deflated as binary messages, so "wire" is what was sent and
"inflated" the text it held (older code: the same, uncompressed). The customer page's longest
main-thread task (PerformanceObserver "longtask", 50 ms and over) while the agent joins and while
the customer types is reported too.

    .venv/bin/python bench/snapshot.py [--repeat 5] [--json out.json]

One headless Chromium, customer and agent side by side (as bench/lag.py), daphne on loopback.
"""

import argparse
import json
import pathlib
import statistics
import sys
import tempfile
import time
import zlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM_ARGS, Server  # noqa: E402
from tests.e2e.helpers import join, login, mirror, start_cobrowse  # noqa: E402

GENERATE = """n => {
  const main = document.querySelector('main');
  const box = document.createElement('section');
  box.id = 'generated';
  for (let i = 0; i < n / 4; i++) {
    const row = document.createElement('div');
    row.className = 'row';
    const label = document.createElement('span');
    label.textContent = 'Row ' + i;
    const b = document.createElement('b');
    b.textContent = String(i * 7);
    row.append(label, b);
    box.append(row);
  }
  const last = document.createElement('p');
  last.id = 'generated-end';
  last.textContent = 'end';
  box.append(last);
  main.prepend(box);
  return document.getElementsByTagName('*').length;
}"""


def measure_page(browser, srv, path, nodes, frames, phases):
    customer = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    agent = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    sent, stamps, received = [], [], []

    def on_sent(frame):
        sent.append(frame)
        stamps.append(time.perf_counter())

    def on_received(frame):
        # A binary message is a deflated page frame.
        text = frame if isinstance(frame, str) else '{"type":"events"'
        if text.startswith('{"type":"events"') or text.startswith('{"type":"chunk"'):
            received.append(time.perf_counter())

    customer.on("websocket", lambda ws: ws.on("framesent", on_sent))
    agent.on("websocket", lambda ws: ws.on("framereceived", on_received))
    code = start_cobrowse(customer, srv.customer_base + path)
    customer.evaluate(LONG_TASKS)
    count = (
        customer.evaluate(GENERATE, nodes)
        if nodes
        else customer.evaluate("document.getElementsByTagName('*').length")
    )
    marker = "#generated-end" if nodes else "footer"
    login(agent, srv.agent_base, "agent1")
    sent.clear()
    stamps.clear()
    received.clear()
    start = time.perf_counter()
    join(agent, code)
    expect(mirror(agent).locator(marker).first).to_be_attached(timeout=30_000)
    done = time.perf_counter()
    elapsed = (done - start) * 1000
    # Where the time goes (timestamps taken as Playwright reports each frame: approximate).
    big = [t for f, t in zip(sent, stamps, strict=True) if len(f) > 1000] or stamps[:1]
    if big and received:
        phases.append(
            {
                "join_to_snapshot_sent": (big[0] - start) * 1000,
                "snapshot_on_the_wire_and_server": (received[-1] - big[0]) * 1000,
                "agent_rebuild": (done - received[-1]) * 1000,
            }
        )
    wire = sum(len(wire_bytes(f)) for f in sent)
    inflated = sum(len(text_bytes(f)) for f in sent)
    if phases:
        longest = customer.evaluate("Math.max(0, ...window.__longTasks)")
        phases[-1]["customer_longest_task_ms"] = longest
    frames.append((customer, agent, sent))
    return count, elapsed, wire, inflated


# The customer page's long tasks (50 ms and more), from now on.
LONG_TASKS = """() => {
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longTasks.push(Math.round(entry.duration));
  }).observe({type: "longtask"});
}"""


def wire_bytes(frame) -> bytes:
    return frame.encode() if isinstance(frame, str) else frame


def text_bytes(frame) -> bytes:
    """What a frame carried: a binary one is deflated text."""
    return frame.encode() if isinstance(frame, str) else zlib.decompress(frame)


def finish(frames):
    customer, agent, _ = frames.pop()
    agent.get_by_test_id("exit-session").click()
    expect(agent.locator("#session-status")).to_have_text("Ended")
    customer.context.close()
    agent.context.close()


def run(repeat: int) -> dict:
    srv = Server(pathlib.Path(tempfile.mkdtemp()), name="bench-snapshot")
    srv.start()
    results: dict = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            frames: list = []
            for label, path, nodes in [
                ("small page (/demo/)", "/demo/", 0),
                ("demo checkout, full CSS", "/demo/checkout/", 0),
                ("generated 10,000 nodes", "/demo/", 10_000),
            ]:
                times, sizes, packed, counts, phases = [], [], [], [], []
                for _ in range(repeat):
                    count, elapsed, size, small = measure_page(
                        browser, srv, path, nodes, frames, phases
                    )
                    times.append(elapsed)
                    sizes.append(size)
                    packed.append(small)
                    counts.append(count)
                    if label.startswith("demo checkout") and _ == repeat - 1:
                        results.update(keystrokes_and_scroll(frames[-1]))
                    finish(frames)
                results[label] = {
                    "elements": counts[0],
                    "join_to_first_mirror_ms_median": round(statistics.median(times), 1),
                    "join_to_first_mirror_ms_all": [round(t) for t in times],
                    "snapshot_bytes_on_the_wire": int(statistics.median(sizes)),
                    "snapshot_bytes_inflated": int(statistics.median(packed)),
                    "phases_ms_median": {
                        key: round(statistics.median(p[key] for p in phases if key in p), 1)
                        for key in (phases[0] if phases else {})
                    },
                    "customer_longest_task_ms_max": max(
                        (p.get("customer_longest_task_ms", 0) for p in phases), default=0
                    ),
                }
            browser.close()
    finally:
        srv.stop()
    return results


def keystrokes_and_scroll(entry) -> dict:
    customer, _agent, sent = entry
    customer.click("#name")
    customer.wait_for_timeout(300)
    customer.evaluate(LONG_TASKS)
    sent.clear()
    text = "Typed by the customer one key at a time"
    for ch in text:
        customer.keyboard.type(ch)
        customer.wait_for_timeout(60)  # a fast typist: ~16 keys a second
    customer.wait_for_timeout(300)
    raw = sum(len(wire_bytes(f)) for f in sent)
    typed = {
        "bytes_per_keystroke": round(raw / len(text)),
        "frames_per_keystroke": round(len(sent) / len(text), 2),
        "customer_longest_task_while_typing_ms": customer.evaluate(
            "Math.max(0, ...window.__longTasks)"
        ),
    }
    customer.mouse.move(600, 400)
    sent.clear()
    start = time.perf_counter()
    while time.perf_counter() - start < 2.0:
        customer.mouse.wheel(0, 120)
        customer.wait_for_timeout(30)
        if customer.evaluate("window.scrollY + innerHeight >= document.body.scrollHeight - 5"):
            customer.evaluate("window.scrollTo(0, 0)")
    seconds = time.perf_counter() - start
    customer.wait_for_timeout(200)
    raw = sum(len(wire_bytes(f)) for f in sent)
    typed.update({"bytes_per_second_scrolling": round(raw / seconds)})
    return typed


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()
    result = run(args.repeat)
    print(json.dumps(result, indent=2))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2))
