"""bench/hostile.py in its short form, in the suite (issue 13): one customer socket sending the
worst frames it may must not stall another live session. The benchmark starts its own daphne on
loopback, two victim sessions and an attacker process, and exits 1 when a phase raises the
victims' p99 latency by more than the limit or loses one of their frames. The full run and its
figures are in bench/RESULTS.md; the limit here is wider than the benchmark's 10 ms target,
because the suite's machine is shared with whatever else CI runs: it is there to catch stalls
(before this work a chunked 33 MB frame stalled the others for 936 ms, and before the garbage
collector was tuned in cobrowse/asgi.py large pages stalled them for 110-180 ms)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STALL_MS = 100  # a stall by anyone's measure; the benchmark's own target is 10 ms


def test_a_hostile_customer_socket_does_not_stall_another_live_session(tmp_path):
    out = tmp_path / "hostile.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "hostile.py"),
            "--short",
            "--limit-ms",
            str(STALL_MS),
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    phases = {row["phase"]: row for row in json.loads(out.read_text())}
    assert set(phases) == {
        "baseline", "unjoined_flood", "unjoined_chunks", "joined_chunks", "nested_buttons",
        "deep_chains", "selector_worst", "oversize",
    }  # fmt: skip
    for name, row in phases.items():
        assert row["n"] > 0 and row["victim_lost"] == 0, row
        assert row["p99_raise_ms"] <= STALL_MS, f"{name} stalled the other sessions: {row}"
    # The attacker was answered, not ignored: refusals it can read.
    assert any(phases["oversize"]["errors"]), phases["oversize"]
    assert run.returncode == 0, run.stdout[-3000:]
