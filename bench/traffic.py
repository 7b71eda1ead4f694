"""Bytes per minute of a scripted co-browse session on the demo shop, both ways (issue 13).

    .venv/bin/python bench/traffic.py [--minutes 5] [--json out.json]

One headless Chromium, customer and agent side by side, daphne on loopback. The agent joins, then
each minute the customer opens the next of three pages (home, products, checkout), moves the
mouse for 20 s, scrolls for 10 s, types for 10 s where there is a field (the checkout) and reads
for the rest. Counted per minute: what the customer's co-browse socket sent (upstream) and what
the agent's socket received (downstream), as they crossed the wire (deflated frames as sent).
"""

import argparse
import json
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM_ARGS, Server  # noqa: E402
from tests.e2e.helpers import join, login, mirror, start_cobrowse  # noqa: E402

PAGES = ["/demo/", "/demo/products/", "/demo/checkout/"]


def size(frame) -> int:
    return len(frame.encode() if isinstance(frame, str) else frame)


def one_minute(customer, base: str, page: str, until: float) -> None:
    customer.goto(base + page)
    customer.wait_for_timeout(1500)  # the widget reconnects and sends the new page
    start = time.monotonic()
    x = 0
    while time.monotonic() - start < 20:  # the mouse wanders
        x = (x + 37) % 1200
        customer.mouse.move(40 + x, 100 + (x * 7) % 500)
        customer.wait_for_timeout(50)
    start = time.monotonic()
    while time.monotonic() - start < 10:  # reading down the page and back up
        customer.mouse.wheel(0, 120)
        customer.wait_for_timeout(100)
        if customer.evaluate("window.scrollY + innerHeight >= document.body.scrollHeight - 5"):
            customer.evaluate("window.scrollTo(0, 0)")
    if customer.locator("#name").count():
        customer.click("#name")
        customer.fill("#name", "")
        for ch in "Ada Lovelace, 12 Analytical Street":
            customer.keyboard.type(ch)
            customer.wait_for_timeout(250)  # about 4 keys a second, for 10 s
    customer.wait_for_timeout(max(0, int((until - time.monotonic()) * 1000)))


def run(minutes: int) -> dict:
    srv = Server(pathlib.Path(tempfile.mkdtemp()), name="bench-traffic")
    srv.start()
    up: list[tuple[float, int]] = []
    down: list[tuple[float, int]] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            customer = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
            agent = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()

            def watch_customer(ws):
                if "/ws/customer/" in ws.url:
                    ws.on("framesent", lambda f: up.append((time.monotonic(), size(f))))

            def watch_agent(ws):
                if "/ws/agent/" in ws.url:
                    ws.on("framereceived", lambda f: down.append((time.monotonic(), size(f))))

            customer.on("websocket", watch_customer)
            agent.on("websocket", watch_agent)
            code = start_cobrowse(customer, srv.customer_base + PAGES[0])
            login(agent, srv.agent_base, "agent1")
            join(agent, code)
            expect(mirror(agent).locator("footer").first).to_be_attached(timeout=30_000)
            started = time.monotonic()
            for minute in range(minutes):
                one_minute(
                    customer,
                    srv.customer_base,
                    PAGES[(minute + 1) % len(PAGES)],
                    started + 60 * (minute + 1),
                )
            agent.get_by_test_id("exit-session").click()
            browser.close()
    finally:
        srv.stop()

    def per_minute(samples):
        return [
            sum(n for t, n in samples if started + 60 * m <= t < started + 60 * (m + 1))
            for m in range(minutes)
        ]

    upstream, downstream = per_minute(up), per_minute(down)
    return {
        "minutes": minutes,
        "upstream_bytes_per_minute": upstream,
        "downstream_bytes_per_minute": downstream,
        "upstream_kb_per_minute_median": round(statistics.median(upstream) / 1000, 1),
        "downstream_kb_per_minute_median": round(statistics.median(downstream) / 1000, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()
    result = run(args.minutes)
    print(json.dumps(result, indent=2))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2))
