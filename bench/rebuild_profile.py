"""Where the agent's and the customer's browsers spend the first mirror of a large page (issue
13, item 2).

    COBROWSE_UNMINIFIED=1 npm run --silent build   # readable function names
    .venv/bin/python bench/rebuild_profile.py [--nodes 10000] [--top 25]
    npm run --silent build                         # the minified bundles again

Chromium's own sampling profiler (DevTools protocol, 100 µs interval) runs in the agent's page
and in the customer's from the **Join co-browse** click until the page's last element is in the
mirror. Printed: the
time, then the functions with the most self time, and the share of the samples in the replayer
(rrweb), in the workspace's own code and in the browser (layout, style, parsing, garbage).
"""

import argparse
import collections
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from bench.snapshot import GENERATE  # noqa: E402
from tests.e2e.conftest import CHROMIUM_ARGS, Server  # noqa: E402
from tests.e2e.helpers import join, login, mirror, start_cobrowse  # noqa: E402


def main(nodes: int, top: int) -> None:
    srv = Server(pathlib.Path(tempfile.mkdtemp()), name="bench-rebuild")
    srv.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            customer = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
            agent = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
            code = start_cobrowse(customer, srv.customer_base + "/demo/")
            count = customer.evaluate(GENERATE, nodes)
            login(agent, srv.agent_base, "agent1")
            profilers = {"agent": agent, "customer": customer}
            for page in profilers.values():
                cdp = page.context.new_cdp_session(page)
                cdp.send("Profiler.enable")
                cdp.send("Profiler.setSamplingInterval", {"interval": 100})
                cdp.send("Profiler.start")
                page._bench_cdp = cdp  # type: ignore[attr-defined]
            start = time.perf_counter()
            join(agent, code)
            expect(mirror(agent).locator("#generated-end")).to_be_attached(timeout=30_000)
            elapsed = (time.perf_counter() - start) * 1000
            profiles = {
                side: page._bench_cdp.send("Profiler.stop")["profile"]  # type: ignore[attr-defined]
                for side, page in profilers.items()
            }
            browser.close()
    finally:
        srv.stop()
    print(f"{count} elements; join -> last element in the mirror: {elapsed:.0f} ms")
    for side, bundle in (("agent", "workspace.js"), ("customer", "widget.js")):
        report(side, bundle, profiles[side], top)


def report(side: str, bundle: str, profile: dict, top: int) -> None:
    """Self time per function, and the share of the samples by where the code comes from."""
    by_id = {node["id"]: node for node in profile["nodes"]}
    self_us: collections.Counter = collections.Counter()
    where: collections.Counter = collections.Counter()
    deltas = profile["timeDeltas"]
    for sample, delta in zip(profile["samples"], [*deltas[1:], 0], strict=True):
        frame = by_id[sample]["callFrame"]
        name = frame["functionName"] or "(anonymous)"
        url = frame["url"].rsplit("/", 1)[-1]
        self_us[f"{name} {url}:{frame['lineNumber'] + 1}"] += delta
        if name == "(idle)":
            where["idle"] += delta
        elif bundle in url:
            where[f"{bundle} (rrweb + this project's code)"] += delta
        elif url:
            where[url] += delta
        else:
            where["browser: " + name] += delta
    total = sum(where.values()) or 1
    print(f"== the {side}'s page: share of samples")
    for key, us in where.most_common(12):
        print(f"  {us / 1000:8.1f} ms  {100 * us / total:5.1f} %  {key}")
    print(f"   top {top} functions by self time:")
    for key, us in self_us.most_common(top):
        print(f"  {us / 1000:8.1f} ms  {key}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    main(args.nodes, args.top)
