"""Soak: a long `twin --batch` run with periodic events; is twin still healthy at the end?

Runs the real `twin --batch` (default 2 minutes at 10 Hz, a short stress event every
`--period` seconds, rotating cpu, memory, disk and network) and samples twin's own
process every `--every` seconds: RSS, open file descriptors, threads. At the end it
prints the RSS trend (first and last thirds), the exact row count against the planned
one, the event outcomes and the run bundle checker's verdict. Exits 1 if a check fails:
RSS grew by more than `--max-growth-mib`, rows missing, an event not completed, or
a stressor process left behind.

    .venv/bin/python bench/soak.py                       # 2 minutes
    .venv/bin/python bench/soak.py --minutes 60 --hz 10  # the full soak
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.rundir.layout import ANNOTATIONS, DATASET, MANIFEST, SCHEDULE
from core.telemetry.logger import expected_samples

ROOT = Path(__file__).resolve().parents[1]
CHECKER = ROOT / "tests" / "tools" / "check_run.py"
MIB = 1 << 20
EVENTS = [
    ("cpu", "{ load_percent = 30, workers = 1 }"),
    ("memory", "{ size_mb = 64 }"),
    ("disk", "{ file_mb = 32, rate_mb_s = 8 }"),
    ("network", "{ rate_mbit_s = 50 }"),
]


def soak_profile(seconds: float, hz: float, period: float, event_s: float) -> str:
    lines = [
        'name = "soak"',
        "[sampling]",
        f"interval_s = {1.0 / hz!r}",
        "[run]",
        'mode = "parallel"',
        "baseline_s = 5",
    ]
    t, k = 0.0, 0
    while t + event_s <= seconds - 10:
        kind, params = EVENTS[k % len(EVENTS)]
        lines += [
            "[[events]]",
            f'stressor = "{kind}"',
            f"start_s = {t:g}",
            f"duration_s = {event_s:g}",
            f'label = "soak {k + 1}"',
            f"params = {params}",
        ]
        t += period
        k += 1
    if k == 0:  # too short for one event: stretch the baseline instead
        lines[5] = f"baseline_s = {seconds / 2:g}"
    else:  # the last event may end early; the end baseline fills up to `seconds`
        pass
    return "\n".join(lines) + "\n"


def stress_left(groups: set[int]) -> list[int]:
    """Live processes in the process groups of the stressors this twin started (other runs on
    the machine are not ours to count)."""
    found = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) in groups and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
        except OSError:
            continue
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--hz", type=float, default=10.0)
    ap.add_argument("--period", type=float, default=30.0, help="seconds between event starts")
    ap.add_argument("--event-s", type=float, default=8.0, help="length of each event")
    ap.add_argument("--every", type=float, default=10.0, help="seconds between RSS samples")
    ap.add_argument("--out", type=Path, default=None, help="runs directory (default: a temp dir)")
    ap.add_argument("--max-growth-mib", type=float, default=8.0)
    args = ap.parse_args()

    seconds = args.minutes * 60
    out = args.out or Path(tempfile.mkdtemp(prefix="twin-soak-"))
    profile = out / "soak.toml"
    out.mkdir(parents=True, exist_ok=True)
    profile.write_text(soak_profile(seconds, args.hz, args.period, args.event_s))
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "--batch", str(profile), "--out", str(out / "runs")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    me = psutil.Process(proc.pid)
    t0 = time.monotonic()
    trace: list[tuple[float, int, int, int]] = []
    print(f"soak: {args.minutes:g} min at {args.hz:g} Hz, twin pid {proc.pid}, out {out}")
    print(f"{'t_s':>7} {'rss_mib':>8} {'fds':>4} {'threads':>7}", flush=True)
    next_t = 2.0
    groups: set[int] = set()
    while proc.poll() is None:
        now = time.monotonic() - t0
        with contextlib.suppress(psutil.Error, OSError):  # each stressor leads its own group
            groups.update(c.pid for c in me.children() if os.getpgid(c.pid) == c.pid)
        if now >= next_t:
            try:
                with me.oneshot():
                    rss, fds, threads = me.memory_info().rss, me.num_fds(), me.num_threads()
            except psutil.Error:
                break
            trace.append((now, rss, fds, threads))
            print(f"{now:7.0f} {rss / MIB:8.2f} {fds:4d} {threads:7d}", flush=True)
            next_t += args.every
        time.sleep(0.2)
    stdout, stderr = proc.communicate()
    code = proc.returncode
    run_dir = Path(stdout.strip().splitlines()[-1]) if stdout.strip() else None
    problems: list[str] = []
    if code != 0:
        problems.append(f"twin exited {code}: {stderr.strip().splitlines()[-1:]}")
    if run_dir is None or not run_dir.is_dir():
        print("\n".join(["soak: no run directory", *problems]))
        return 1
    manifest = json.loads((run_dir / MANIFEST).read_text())
    schedule = json.loads((run_dir / SCHEDULE).read_text())
    with (run_dir / DATASET).open() as f:
        rows = sum(1 for _ in f) - 1
    expected = expected_samples(schedule["total_s"], schedule["interval_s"])
    with (run_dir / ANNOTATIONS).open() as f:
        statuses = [r["status"] for r in csv.DictReader(f)]
    checker = subprocess.run(
        [sys.executable, str(CHECKER), str(run_dir)], capture_output=True, text=True
    )
    third = max(1, len(trace) // 3)
    first = statistics.median(r for _, r, _, _ in trace[:third]) / MIB if trace else 0.0
    last = statistics.median(r for _, r, _, _ in trace[-third:]) / MIB if trace else 0.0
    peak = max((r for _, r, _, _ in trace), default=0) / MIB
    fds = sorted({f for _, _, f, _ in trace})
    print(f"run: {run_dir} status={manifest['status']} exit={code}")
    print(
        f"rss: first third median {first:.2f} MiB, last third median {last:.2f} MiB, "
        f"growth {last - first:+.2f} MiB, peak {peak:.2f} MiB"
    )
    print(f"fds seen: {fds[0] if fds else '?'}..{fds[-1] if fds else '?'}")
    print(f"rows: {rows} of {expected} planned ({schedule['total_s']:g} s at {args.hz:g} Hz)")
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    print(f"events: {len(statuses)} {counts}")
    print(f"checker: {checker.stdout.strip().splitlines()[-1] if checker.stdout else '?'}")
    if last - first > args.max_growth_mib:
        problems.append(f"RSS grew {last - first:.2f} MiB")
    if rows != expected or manifest["sample_count"] != expected:
        problems.append(f"rows {rows} (manifest {manifest['sample_count']}) != {expected}")
    if any(s != "completed" for s in statuses):
        problems.append(f"events not all completed: {counts}")
    if checker.returncode != 0:
        problems.append("the run bundle checker found problems")
    time.sleep(1.0)
    print(f"stressor process groups seen: {len(groups)}, left: {len(stress_left(groups))}")
    if stress_left(groups):
        problems.append(f"stressor processes left: {stress_left(groups)}")
    for p in problems:
        print(f"soak: FAIL: {p}")
    print("soak: OK" if not problems else "soak: FAILED")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
