"""How late planned events start when many overlap, and what the run said about it.

Runs the real `twin --batch` on a seeded random design compressed into a few minutes (66
events, up to ~9 at once on this machine's cores: every kind, with pairs starting together), or
on `--profile PATH`, then prints from the run's own files: each event's start lateness
(`start_elapsed_s - planned_start_s`) as p50/p99/max, how many were more than 100 ms late, the
run's `plan_misses`, and the most events planned at once.

    .venv/bin/python bench/start_lateness.py [--profile PATH] [--count 66]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.plan_misses import LATE_START_S  # noqa: E402
from core.rundir.layout import ANNOTATIONS, MANIFEST, SCHEDULE  # noqa: E402

DESIGN = """
name = "overlap-{count}"
[sampling]
interval_s = 1.0
[run]
mode = "parallel"
baseline_s = 3
[generate]
design = "random"
seed = 42
count = {count}
weights = {{ cpu = 3, memory = 2, disk = 1, network = 1 }}
duration_s = [6, 14]
gap_s = [0, 1]
overlap = 1.0
pair = 0.5
[generate.params.cpu]
load_percent = [20, 100]
workers = {{ choices = [1, 2] }}
[generate.params.memory]
size_mb = [64, 384]
[generate.params.disk]
mode = {{ choices = ["write", "read", "mixed"] }}
file_mb = [32, 128]
fsync = false
rate_mb_s = 50
[generate.params.network]
rate_mbit_s = [50, 500]
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def most_at_once(schedule: dict[str, object]) -> int:
    events = schedule.get("events") or []
    assert isinstance(events, list)
    edges = sorted(
        [(float(e["start_s"]), 1) for e in events]
        + [(float(e["start_s"]) + float(e["duration_s"]), -1) for e in events]
    )
    now = best = 0
    for _, step in edges:
        now += step
        best = max(best, now)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", type=Path, help="run this profile instead of the design")
    parser.add_argument("--count", type=int, default=66, help="events of the built-in design")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="twin-bench-start-"))
    try:
        profile = args.profile
        if profile is None:
            profile = tmp / "overlap.toml"
            profile.write_text(DESIGN.format(count=args.count))
        load_before = os.getloadavg()[0]
        done = subprocess.run(
            [sys.executable, "-m", "cli", "--batch", str(profile.absolute()), "--out", str(tmp)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        run_dir = Path(done.stdout.strip().splitlines()[-1])
        rows = list(csv.DictReader((run_dir / ANNOTATIONS).open()))
        late_ms = [
            (float(r["start_elapsed_s"]) - float(r["planned_start_s"])) * 1000
            for r in rows
            if r["start_elapsed_s"]
        ]
        schedule = json.loads((run_dir / SCHEDULE).read_text())
        misses = json.loads((run_dir / MANIFEST).read_text()).get("plan_misses", {})
        over = sum(1 for ms in late_ms if ms > LATE_START_S * 1000)
        print(
            f"start lateness, {len(late_ms)} events, up to {most_at_once(schedule)} at once, "
            f"{os.cpu_count()} CPUs, load average before: {load_before:.2f}"
        )
        print(
            f"  p50 {pct(late_ms, 0.5):+.0f} ms, p99 {pct(late_ms, 0.99):+.0f} ms, "
            f"max {max(late_ms):+.0f} ms; {over} more than {LATE_START_S * 1000:.0f} ms late"
        )
        print(f"  run.json plan_misses: {misses}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
