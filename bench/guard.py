"""Cost of the server privacy guard per frame, beside the JSON parse every frame already pays.

    .venv/bin/python bench/guard.py

Keystrokes (rrweb input events) cost a set lookup; added subtrees run soupsieve on a small
ancestor chain + subtree; full snapshots run every selector over the page once.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cobrowse.settings")
os.environ.setdefault("DEBUG", "true")  # the guard alone: no server, no secret key needed
import django

django.setup()

from policies.guard import PrivacyGuard  # noqa: E402
from policies.selectors import DEFAULT_MASK_INPUT, DEFAULT_RESTRICT_SUBMIT  # noqa: E402

POLICY = {
    "mask": {
        "input": [*DEFAULT_MASK_INPUT, ".private-input", "#phone"],
        "text": [".private-text"],
        "block": ["img.private-image"],
    },
    "restrict": {"control": [*DEFAULT_RESTRICT_SUBMIT, ".danger"], "field": [".restricted-field"]},
}


def page(n_rows: int) -> dict:
    """A body with n rows, each a label, an input and a button (3 elements + 2 texts a row)."""
    next_id = [10]

    def new(tag, attrs=None, children=None):
        next_id[0] += 1
        return {
            "type": 2,
            "id": next_id[0],
            "tagName": tag,
            "attributes": attrs or {},
            "childNodes": children or [],
        }

    def text(value):
        next_id[0] += 1
        return {"type": 3, "id": next_id[0], "textContent": value}

    rows = []
    for i in range(n_rows):
        attrs = {"name": f"f{i}", "value": "x"}
        if i % 10 == 0:
            attrs["autocomplete"] = "cc-number"
        rows.append(
            new(
                "div",
                {"class": "row"},
                [
                    new("label", {}, [text(f"Field {i}")]),
                    new("input", attrs),
                    new("button", {"type": "submit" if i % 25 == 0 else "button"}, [text("Go")]),
                ],
            )
        )
    body = {"type": 2, "id": 3, "tagName": "body", "attributes": {}, "childNodes": rows}
    return {
        "type": 0,
        "id": 1,
        "childNodes": [
            {"type": 2, "id": 2, "tagName": "html", "attributes": {}, "childNodes": [body]}
        ],
    }


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e6)
    return statistics.median(samples)


def main() -> None:
    results = {}
    for rows in (100, 2500):  # ~500 and ~12,500 nodes
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
            PrivacyGuard(POLICY).check_events(json.loads(text)["events"])

        results[f"full snapshot, {rows * 5} nodes: parse only (µs)"] = timed(parse_only, 5)
        results[f"full snapshot, {rows * 5} nodes: parse + guard (µs)"] = timed(parse_and_guard, 5)

    guard = PrivacyGuard(POLICY)
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
    for name, value in results.items():
        print(f"{name:55s} {value:10.1f}")


if __name__ == "__main__":
    main()
