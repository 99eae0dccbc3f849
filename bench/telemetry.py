"""Cost and timing of the telemetry logger, side by side with `sar -A` (sysstat).

Runs our logger at 1, 10 and 100 Hz (each in its own process, writing a real
dataset), while `sar -A` samples at 1 Hz over the same period. Prints CPU
seconds per minute of sampling (once started), share of one core, lateness
p50/p99/max and drift. Installs sysstat with apt-get if it is missing.

    .venv/bin/python bench/telemetry.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

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
last = loop.samples
writer.close()
print(json.dumps({"cpu_s": cpu, "late": late, "rows": writer.rows,
                  "expected": int(seconds * hz + 1e-9)}))
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="per rate")
    args = parser.parse_args()
    rates = [1.0, 10.0, 100.0]
    root = Path(__file__).resolve().parents[1]
    tmp = Path(tempfile.mkdtemp(prefix="twin-bench-"))
    sar = ensure_sar()
    sar_proc = None
    total = args.seconds * len(rates)
    if sar:
        sar_proc = subprocess.Popen(
            [sar, "-A", "-o", str(tmp / "sa.bin"), "1", str(int(total))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    load_before = os.getloadavg()[0]
    results = []
    for hz in rates:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(hz), str(args.seconds), str(tmp / f"d{hz:g}.csv")],
            capture_output=True,
            text=True,
            cwd=root,
            check=True,
        )
        results.append((hz, json.loads(out.stdout)))
    sar_cpu = None
    if sar_proc is not None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        sar_proc.wait()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        sar_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(f"telemetry logger, {args.seconds:g} s per rate, {os.cpu_count()} CPUs")
    print(f"load average before: {load_before:.2f} (figures for the README need < 0.5)")
    print(
        f"{'rate':>7} {'rows':>7} {'cpu s/min':>10} {'% core':>8} {'late p50':>9} "
        f"{'p99':>7} {'max':>7}  drift"
    )
    for hz, r in results:
        per_min = r["cpu_s"] / args.seconds * 60
        late = r["late"]
        print(
            f"{hz:>5g}Hz {r['rows']:>7} {per_min:>10.3f} {per_min / 60 * 100:>7.2f}% "
            f"{pct(late, 0.5):>7.2f}ms {pct(late, 0.99):>5.2f}ms {max(late):>5.2f}ms  "
            f"{r['rows'] - r['expected']:+d} rows (mean lateness {statistics.mean(late):.2f} ms)"
        )
    if sar_cpu is not None:
        per_min = sar_cpu / total * 60
        print(f"sar -A 1Hz       {per_min:>10.3f} {per_min / 60 * 100:>7.2f}%   (same period)")
        ours = results[0][1]["cpu_s"] / args.seconds * 60
        print(f"1 Hz: twin/sar = {ours / per_min:.2f}x (goal <= 1.00x, same run)")
    else:
        print("sar: not available (sysstat could not be installed)")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
