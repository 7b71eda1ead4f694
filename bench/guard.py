"""Cost of the server privacy guard per frame, beside the JSON parse every frame already pays.

    .venv/bin/python bench/guard.py                       # this guard
    .venv/bin/python bench/guard.py --before git          # beside policies/guard.py at HEAD
    .venv/bin/python bench/guard.py --before /tmp/old.py  # beside another copy of the guard

Keystrokes (rrweb input events) cost a lookup; added subtrees and full snapshots run every rule
over their nodes once. The hostile rows are pages and batches built to make a guard walk up, back
or around for every node (the shapes of issue 13): each is timed on the guard alone, on a tree
built anew for each run, and reported with its size as JSON, so a cost per KB compares them.
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cobrowse.settings")
os.environ.setdefault("DEBUG", "true")  # the guard alone: no server, no secret key needed
import django

django.setup()

from policies import guard as current  # noqa: E402
from policies.autocomplete import SENSITIVE_FIELDS  # noqa: E402
from policies.selectors import DEFAULT_MASK_INPUT, DEFAULT_RESTRICT_SUBMIT  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

POLICY = {
    "mask": {
        "input": [*DEFAULT_MASK_INPUT, ".private-input", "#phone"],
        "text": [".private-text"],
        "block": ["img.private-image"],
    },
    "restrict": {"control": [*DEFAULT_RESTRICT_SUBMIT, ".danger"], "field": [".restricted-field"]},
}
# The hostile rows add a rule for another path, which applies inside frames as `iframe :is(...)`.
HOSTILE_POLICY = {**POLICY, "frames": {"mask": {"input": [".billing input"]}, "restrict": {}}}


class Ids:
    def __init__(self, start: int = 10) -> None:
        self.last = start

    def __call__(self) -> int:
        self.last += 1
        return self.last


def el(ids: Ids, tag: str, attrs: dict | None = None, children: list | None = None) -> dict:
    return {
        "type": 2,
        "id": ids(),
        "tagName": tag,
        "attributes": attrs or {},
        "childNodes": children or [],
    }


def text(ids: Ids, value: str) -> dict:
    return {"type": 3, "id": ids(), "textContent": value}


def document(*body: dict) -> dict:
    html = {"type": 2, "id": 2, "tagName": "html", "attributes": {}, "childNodes": []}
    html["childNodes"].append(
        {"type": 2, "id": 3, "tagName": "body", "attributes": {}, "childNodes": list(body)}
    )
    return {"type": 0, "id": 1, "childNodes": [html]}


def snapshot(*body: dict) -> dict:
    return {"type": 2, "data": {"node": document(*body)}, "timestamp": 1}


def mutation(**lists) -> dict:
    data = {"source": 0, "removes": [], "texts": [], "attributes": [], "adds": []}
    return {"type": 3, "data": {**data, **lists}}


def page(n_rows: int) -> dict:
    """A body with n rows, each a div of a label, an input and a button (and two texts)."""
    ids = Ids()
    rows = []
    for i in range(n_rows):
        attrs = {"name": f"f{i}", "value": "x"}
        if i % 10 == 0:
            attrs["autocomplete"] = "cc-number"
        rows.append(
            el(
                ids,
                "div",
                {"class": "row"},
                [
                    el(ids, "label", {}, [text(ids, f"Field {i}")]),
                    el(ids, "input", attrs),
                    el(
                        ids,
                        "button",
                        {"type": "submit" if i % 25 == 0 else "button"},
                        [text(ids, "Go")],
                    ),
                ],
            )
        )
    return document(*rows)


def chain(ids: Ids, tags: list[str], depth: int, leaf: dict | None = None) -> dict:
    """`depth` elements each inside the one before (built without recursion)."""
    top = el(ids, tags[0])
    current = top
    for level in range(1, depth):
        child = el(ids, tags[level % len(tags)])
        current["childNodes"].append(child)
        current = child
    if leaf is not None:
        current["childNodes"].append(leaf)
    return top


def deepest(node: dict) -> int:
    while node["childNodes"] and node["childNodes"][0]["type"] == 2:
        node = node["childNodes"][0]
    return node["id"]


# Hostile shapes: each builds (events to warm the guard up with, events to time).


def nested_buttons():
    ids = Ids()
    # ~60 KB: a form, then buttons without a type, each inside the one before.
    buttons = chain(ids, ["button"], 850)
    return [], [snapshot(el(ids, "form", {}, [buttons]))]


def deep_chain():
    ids = Ids()
    leaf = el(ids, "input", {"name": "card", "autocomplete": "cc-number"})
    return [], [
        snapshot(el(ids, "form", {"class": "billing"}, [chain(ids, ["div", "span"], 1000, leaf)]))
    ]


def many_chains():
    ids = Ids()
    chains = [chain(ids, ["div", "button", "label"], 256) for _ in range(100)]
    return [], [snapshot(el(ids, "form", {}, chains))]


def labels_for():
    ids = Ids()
    rows = []
    for i in range(5000):
        rows.append(el(ids, "label", {"for": f"f{i}"}, [text(ids, "Card")]))
        rows.append(el(ids, "input", {"id": f"f{i}", "class": "private-input" if i % 2 else ""}))
    events = [snapshot(*rows)]
    # A click on each label: which control does it choose?
    events += [{"type": 3, "data": {"source": 2, "type": 2, "id": row["id"]}} for row in rows[::2]]
    return [], events


def siblings_removed():
    ids = Ids()
    kids = [el(ids, "li", {"class": "item"}) for _ in range(5000)]
    warm = [snapshot(el(ids, "ul", {}, kids))]
    removes = [mutation(removes=[{"parentId": 0, "id": kid["id"]}]) for kid in kids]
    return warm, removes


def class_lists():
    ids = Ids()
    classes = " ".join(f"c{i}" for i in range(200))
    return [], [snapshot(*[el(ids, "div", {"class": f"{classes} x{i}"}) for i in range(1000)])]


def long_values():
    ids = Ids()
    # ~1 KB each: every default attribute rule reads them to the end. The card and password
    # field names glued together, so that each `[autocomplete~=name i]` finds its name but never
    # as a word, and `[name*=pass i]` / `[id*=pwd i]` only at the very end.
    glued = "x".join(SENSITIVE_FIELDS)
    value = (glued * (1 + 1000 // len(glued)))[:1000]
    attrs = {"autocomplete": value, "name": "n" * 1000 + "pass", "type": "t" * 1000}
    return [], [
        snapshot(*[el(ids, "input", dict(attrs, id=f"{'i' * 1000}{i}pwd")) for i in range(500)])
    ]


def adds_under_deep_node():
    ids = Ids()
    top = chain(ids, ["div", "form"], 1000)
    warm = [snapshot(top)]
    bottom = deepest(top)
    adds = [
        {"parentId": bottom, "node": el(ids, "button", {}, [text(ids, "Pay")])} for _ in range(1000)
    ]
    return warm, [mutation(adds=adds)]


def keystrokes_deep():
    ids = Ids()
    top = chain(ids, ["div", "form"], 1000, el(ids, "input", {"name": "city"}))
    warm = [snapshot(top)]
    field = deepest(top)
    keys = [
        {"type": 3, "data": {"source": 5, "id": field, "text": "x" * (i % 9)}} for i in range(5000)
    ]
    return warm, keys


HOSTILE = [
    ("nested buttons in a form", nested_buttons),
    ("1,000-deep chain", deep_chain),
    ("100 chains 256 deep", many_chains),
    ("5,000 labels with for= + a click each", labels_for),
    ("5,000 siblings removed one by one", siblings_removed),
    ("1,000 elements x 200 classes", class_lists),
    ("500 inputs, 1 KB values every default reads", long_values),
    ("1,000 adds under a 1,000-deep node", adds_under_deep_node),
    ("5,000 keystrokes 1,000 deep", keystrokes_deep),
]


def size_kb(events: list) -> float:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)  # the deep shapes nest further than json's default allows
    try:
        return len(json.dumps({"type": "events", "seq": 1, "events": events})) / 1024
    finally:
        sys.setrecursionlimit(limit)


def timed(fn, repeat: int) -> float:
    """Median µs of `repeat` runs (fewer when one run takes over a second)."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e6)
        if samples[-1] > 1e6:
            break
    return statistics.median(samples)


def hostile_row(module, build, repeat: int) -> float:
    """Median µs of the guard on the timed events (a new guard, a new tree and, for this guard,
    its rules compiled anew each run: a hostile page is never one the guard has seen)."""
    samples = []
    for _ in range(repeat):
        warm, events = build()
        if hasattr(module, "_plan"):
            # Rules compiled anew: nothing remembered about elements of an earlier run.
            module._plan.cache_clear()
        guard = module.PrivacyGuard(HOSTILE_POLICY)
        guard.check_events(warm)
        start = time.perf_counter()
        guard.check_events(events)
        samples.append((time.perf_counter() - start) * 1e6)
        if samples[-1] > 1e6:
            break
    return statistics.median(samples)


def frame_rows(module) -> dict[str, float]:
    results = {}
    for rows in (100, 2500):
        snapshot_text = json.dumps(
            {
                "type": "events",
                "seq": 1,
                "events": [{"type": 2, "data": {"node": page(rows)}, "timestamp": 1}],
            }
        )

        def parse_only(text=snapshot_text):
            json.loads(text)

        def parse_and_guard(text=snapshot_text):
            module.PrivacyGuard(POLICY).check_events(json.loads(text)["events"])

        def guard_only(text=snapshot_text) -> float:
            """The guard alone, on a page it has never seen (this guard: rules compiled anew)."""
            events = json.loads(text)["events"]
            if hasattr(module, "_plan"):
                module._plan.cache_clear()
            guard = module.PrivacyGuard(POLICY)
            start = time.perf_counter()
            guard.check_events(events)
            return (time.perf_counter() - start) * 1e6

        parse_and_guard()  # rules compiled once per process, as on a server
        results[f"full snapshot, {rows * 5} nodes: parse only (µs)"] = timed(parse_only, 7)
        results[f"full snapshot, {rows * 5} nodes: parse + guard (µs)"] = timed(parse_and_guard, 7)
        results[f"full snapshot, {rows * 5} nodes: guard only, unseen (µs)"] = statistics.median(
            guard_only() for _ in range(7)
        )

    guard = module.PrivacyGuard(POLICY)
    guard.check_events([{"type": 2, "data": {"node": page(100)}}])
    key = json.dumps(
        {
            "type": "events",
            "seq": 2,
            "events": [
                {
                    "type": 3,
                    "data": {"source": 5, "id": 13, "text": "abc", "isChecked": False},
                    "timestamp": 2,
                }
            ],
        }
    )
    results["keystroke frame: parse only (µs)"] = timed(lambda: json.loads(key), 2000)
    results["keystroke frame: parse + guard (µs)"] = timed(
        lambda: guard.check_events(json.loads(key)["events"]), 2000
    )
    add = json.dumps(
        {
            "type": "events",
            "seq": 3,
            "events": [
                {
                    "type": 3,
                    "data": {
                        "source": 0,
                        "removes": [],
                        "texts": [],
                        "attributes": [],
                        "adds": [
                            {"parentId": 11, "node": page(4)["childNodes"][0]["childNodes"][0]}
                        ],
                    },
                }
            ],
        }
    )
    results["added subtree (20 nodes): parse only (µs)"] = timed(lambda: json.loads(add), 500)
    results["added subtree (20 nodes): parse + guard (µs)"] = timed(
        lambda: guard.check_events(json.loads(add)["events"]), 500
    )
    return results


def load_before(source: str):
    """The guard to compare with: a file, or `git` for policies/guard.py at HEAD."""
    if source == "git":
        text = subprocess.run(
            ["git", "show", "HEAD:policies/guard.py"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        handle = tempfile.NamedTemporaryFile("wb", suffix=".py", delete=False)
        handle.write(text)
        handle.close()
        source = handle.name
    spec = importlib.util.spec_from_file_location("guard_before", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", help="a copy of the guard to compare with, or `git` (HEAD)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each hostile row")
    args = parser.parse_args()
    guards = [("after", current)]
    if args.before:
        guards.insert(0, ("before", load_before(args.before)))
    names = [name for name, _module in guards]
    header = f"{'':55s}" + "".join(f"{name:>12s}" for name in names)
    print(header)
    frames = {name: frame_rows(module) for name, module in guards}
    for row in frames[names[-1]]:
        print(f"{row:55s}" + "".join(f"{frames[name][row]:12.1f}" for name in names))
    print()
    print(
        f"{'hostile (guard only, ms; KB of JSON)':46s}{'KB':>9s}"
        + "".join(f"{name:>12s}" for name in names)
        + "".join(f"{name + ' µs/KB':>14s}" for name in names)
    )
    for label, build in HOSTILE:
        kb = size_kb(build()[1])
        cost = {name: hostile_row(module, build, args.repeat) for name, module in guards}
        print(
            f"{label:46s}{kb:9.0f}"
            + "".join(f"{cost[name] / 1000:12.1f}" for name in names)
            + "".join(f"{cost[name] / kb:14.1f}" for name in names)
        )


if __name__ == "__main__":
    main()
