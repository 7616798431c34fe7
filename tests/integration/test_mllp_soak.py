"""The soak benchmark in CI-sized form: its script runs end to end (listener process with default options,
8 stop-and-wait connections resending on NAK and re-sending a tenth of what they sent) and reports zero commit
failures, no negative ACK and a flat RSS. Throughput over time is judged by the full run (docs/performance.md),
not here: a shared CI machine's speed varies too much in 15 seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_soak_script_runs_and_holds_its_invariants() -> None:
    embedded = ["--embedded"] if os.environ.get("WARDFLOW_TEST_EMBEDDED") == "1" else []
    done = subprocess.run([sys.executable, "benchmarks/mllp_soak.py", "--minutes", "0.25", "--interval", "5",
                           "--connections", "8", *embedded], cwd=REPO, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    (run,) = result["runs"]
    assert run["listener"]["commit_failures"] == 0 and run["listener"]["naks"] == 0
    assert run["listener"]["duplicates"] > 0                          # resends were part of the traffic
    assert run["targets_met"]["zero_commit_failures"] and run["targets_met"]["rss_flat"]
    assert all(not row["naks"] for row in run["intervals"]) and len(run["intervals"]) == 3
