"""Browser lag: customer DOM change -> visible in the agent's mirror, one clock (one browser).

Starts daphne on the real app (as the e2e tests do), opens the demo checkout as the customer and the
workspace as agent1 in one headless Chromium, then changes the customer's DOM and timestamps each
change where the mirror's document shows it (a MutationObserver on the sandboxed iframe's document,
read from the workspace page). Beside it, the workspace's own latency readout (data-lag of
data-testid=latency-readout: the median of its last 9 lags, from the events' timestamps and both
clocks' offsets measured over the sockets), read after each change. Prints medians and p99 and
writes them as JSON if asked.

    .venv/bin/python bench/lag.py [--changes 200] [--bursts 20] [--json out.json]
"""

import argparse
import json
import pathlib
import statistics
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM_ARGS, Server  # noqa: E402
from tests.e2e.helpers import join, login, mirror, start_cobrowse  # noqa: E402

OBSERVE = """() => {
  const doc = document.querySelector('[data-testid=cobrowse-view] iframe').contentDocument;
  window.__seen = {};
  new MutationObserver(() => {
    const el = doc.getElementById('bench-target');
    if (el) window.__seen[el.textContent] = performance.timeOrigin + performance.now();
    for (const row of doc.querySelectorAll('.bench-row')) {
      if (!window.__seen[row.textContent]) window.__seen[row.textContent] = performance.timeOrigin + performance.now();
    }
  }).observe(doc, {subtree: true, childList: true, characterData: true});
}"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(changes: int, bursts: int) -> dict:
    srv = Server(pathlib.Path(tempfile.mkdtemp()))
    srv.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            customer = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
            agent = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
            code = start_cobrowse(customer, srv.customer_base + "/demo/checkout/")
            login(agent, srv.agent_base, "agent1")
            join(agent, code)
            mirror(agent).locator("#name").wait_for()
            customer.evaluate(
                "() => { const d = document.createElement('div'); d.id = 'bench-target';"
                " d.textContent = 'start'; document.querySelector('main').prepend(d); }"
            )
            mirror(agent).locator("#bench-target").wait_for()
            agent.evaluate(OBSERVE)

            single = []
            readout = []
            for i in range(changes):
                label = f"change-{i}"
                t0 = customer.evaluate(
                    "label => { const t = performance.timeOrigin + performance.now();"
                    " document.getElementById('bench-target').textContent = label; return t; }",
                    label,
                )
                agent.wait_for_function("label => window.__seen[label]", arg=label, timeout=5000)
                single.append(agent.evaluate("label => window.__seen[label]", label) - t0)
                shown = agent.get_by_test_id("latency-readout").get_attribute("data-lag")
                if shown and i >= 10:  # once its window holds only these changes
                    readout.append(int(shown))
                customer.wait_for_timeout(20)

            burst = []
            for b in range(bursts):
                labels = [f"burst-{b}-{k}" for k in range(20)]
                t0 = customer.evaluate(
                    "labels => { const t = performance.timeOrigin + performance.now();"
                    " const main = document.querySelector('main');"
                    " for (const l of labels) { const r = document.createElement('p');"
                    " r.className = 'bench-row'; r.textContent = l; main.append(r); }"
                    " return t; }",
                    labels,
                )
                last = labels[-1]
                agent.wait_for_function("l => window.__seen[l]", arg=last, timeout=5000)
                burst.append(agent.evaluate("l => window.__seen[l]", last) - t0)
                customer.wait_for_timeout(50)
            browser.close()
    finally:
        srv.stop()
    return {
        "single_changes": len(single),
        "single_median_ms": round(statistics.median(single), 1),
        "single_p99_ms": round(percentile(single, 99), 1),
        "bursts": len(burst),
        "burst_of_20_median_ms": round(statistics.median(burst), 1),
        "burst_of_20_p99_ms": round(percentile(burst, 99), 1),
        "readout_samples": len(readout),
        "readout_median_ms": round(statistics.median(readout), 1) if readout else None,
        "readout_p99_ms": round(percentile(readout, 99), 1) if readout else None,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--bursts", type=int, default=20)
    parser.add_argument("--json")
    args = parser.parse_args()
    result = run(args.changes, args.bursts)
    print(json.dumps(result, indent=2))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2))
