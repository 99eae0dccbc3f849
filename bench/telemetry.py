"""Cost and timing of the telemetry logger, side by side with `sar -A` (sysstat).

Runs our logger at 1 Hz beside `sar -A` at 1 Hz over the same seconds, `--repeat`
times (the twin/sar ratio of each run, and its range), then at 10 and 100 Hz alone;
each logger in its own process, writing a real dataset. Prints CPU seconds per
minute of sampling (once started), share of one core, lateness p50/p99/max and
drift. Installs sysstat with apt-get if it is missing.

    .venv/bin/python bench/telemetry.py [--seconds 60] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

CHILD = r"""
import json, sys, time
from pathlib import Path
from core.telemetry.logger import RunClock, TelemetryLoop
from core.telemetry.sampler import SystemSampler
from core.telemetry.writer import DatasetWriter
from core.telemetry import columns as C
hz, seconds, out = float(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
sampler = SystemSampler(output_dir=out.parent)
writer = DatasetWriter(out, sampler.columns + C.QUALITY)
late = []
def on_sample(s):
    writer.write(s)
    late.append(s.values["sample_lateness_ms"])
loop = TelemetryLoop(sampler, 1.0 / hz, RunClock.start_now(), on_sample)
cpu0 = time.process_time()
loop.run(until_s=seconds)
cpu = time.process_time() - cpu0
writer.close()
counter = sampler.process_counter  # a /proc listing is a tick's priciest read
print(json.dumps({"cpu_s": cpu, "late": late, "rows": writer.rows,
                  "expected": int(seconds * hz + 1e-9), "listings": counter.listings,
                  "anchored": counter.anchored}))
"""


def ensure_sar() -> str | None:
    if shutil.which("sar"):
        return shutil.which("sar")
    if shutil.which("apt-get"):
        subprocess.run(
            "apt-get update -qq && apt-get install -y -qq sysstat",
            shell=True,
            check=False,
            capture_output=True,
        )
    return shutil.which("sar")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_logger(hz: float, seconds: float, out: Path, root: Path) -> dict[str, Any]:
    """One logger process at `hz` for `seconds`; its CPU once started, lateness and rows."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(hz), str(seconds), str(out)],
        capture_output=True,
        text=True,
        cwd=root,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run_beside_sar(sar: str, seconds: float, tmp: Path, root: Path) -> tuple[dict[str, Any], float]:
    """The 1 Hz logger and `sar -A` at 1 Hz over the same seconds; sar's CPU from its wait4
    (sadc included: sar waits for it)."""
    sar_proc = subprocess.Popen(
        [sar, "-A", "-o", str(tmp / "sa.bin"), "1", str(int(seconds))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ours = run_logger(1.0, seconds, tmp / "d1.csv", root)
    finally:
        _, status, usage = os.wait4(sar_proc.pid, 0)
        sar_proc.returncode = os.waitstatus_to_exitcode(status)
    (tmp / "sa.bin").unlink(missing_ok=True)
    (tmp / "d1.csv").unlink(missing_ok=True)
    return ours, usage.ru_utime + usage.ru_stime


def row(hz: float, seconds: float, r: dict[str, Any]) -> str:
    per_min = r["cpu_s"] / seconds * 60
    late = r["late"]
    return (
        f"{hz:>5g}Hz {r['rows']:>7} {per_min:>10.3f} {per_min / 60 * 100:>7.2f}% "
        f"{pct(late, 0.5):>7.2f}ms {pct(late, 0.99):>5.2f}ms {max(late):>5.2f}ms  "
        f"{r['rows'] - r['expected']:+d} rows (mean lateness {statistics.mean(late):.2f} ms); "
        f"/proc listed {r['listings']}x ({'link-count anchor' if r['anchored'] else 'no anchor'})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="per rate and run")
    parser.add_argument(
        "--repeat", type=int, default=3, help="1 Hz runs beside sar (the ratio's range)"
    )
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    tmp = Path(tempfile.mkdtemp(prefix="twin-bench-"))
    sar = ensure_sar()
    load_before = os.getloadavg()[0]
    try:
        pairs = []
        if sar:
            pairs = [run_beside_sar(sar, args.seconds, tmp, root) for _ in range(args.repeat)]
        else:
            pairs = [(run_logger(1.0, args.seconds, tmp / "d1.csv", root), math.nan)]
        results = [(1.0, r) for r, _ in pairs]
        results += [
            (hz, run_logger(hz, args.seconds, tmp / f"d{hz:g}.csv", root)) for hz in (10.0, 100.0)
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"telemetry logger, {args.seconds:g} s per run, {os.cpu_count()} CPUs")
    print(f"load average before: {load_before:.2f} (figures for the README need < 0.5)")
    print(
        f"{'rate':>7} {'rows':>7} {'cpu s/min':>10} {'% core':>8} {'late p50':>9} "
        f"{'p99':>7} {'max':>7}  drift"
    )
    for hz, r in results:
        print(row(hz, args.seconds, r))
    if not sar:
        print("sar: not available (sysstat could not be installed)")
        return 0
    ratios = []
    for i, (ours, sar_cpu) in enumerate(pairs, 1):
        twin_min, sar_min = ours["cpu_s"] / args.seconds * 60, sar_cpu / args.seconds * 60
        ratios.append(twin_min / sar_min)
        print(
            f"1 Hz run {i}: twin {twin_min:.3f} cpu s/min, sar -A {sar_min:.3f} cpu s/min "
            f"(same {args.seconds:g} s): twin/sar = {ratios[-1]:.2f}x"
        )
    print(
        f"1 Hz: twin/sar = {statistics.median(ratios):.2f}x median, "
        f"{min(ratios):.2f}-{max(ratios):.2f}x over {len(ratios)} runs (goal <= 1.00x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
