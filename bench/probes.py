"""What probes cost and what they see: twin's CPU with 10 http probes/s, the sched probe's
resolution, and a real loopback service's latency at rest and under CPU, memory, disk events.

    .venv/bin/python bench/probes.py [--seconds 20]

1. Probe cost: the real `twin --batch` (1 s sampling, no events) for S seconds, without probes
   and with one http probe every 0.1 s on a loopback service (in a child process, so its CPU is
   not twin's); twin's own CPU (user + system, from wait4) as a share of one core.
   Goal: at most 2 % of a core more with the probe.
2. The sched probe's resolution: the clock it reads, and its overshoot of a 1 ms sleep at rest
   (p50 / p99 / max over S seconds at 100 Hz). Goal: 0.1 ms or better.
3. A loopback service (2 ms of CPU per request, nice 0, this session) probed every 0.1 s by a
   twin run with a CPU, a memory and a disk event: the median of the per-interval p50 and p99
   at rest and during each event.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from loopback_service import start_service  # noqa: E402

from core.probes import ProbeSet, ProbeSpec  # noqa: E402

TWIN = [sys.executable, "-m", "cli"]


def read_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "system_metrics_dataset.csv", newline="") as f:
        return list(csv.DictReader(f))


def twin_cpu(profile: str, out: Path) -> tuple[float, Path]:
    """Run twin --batch on `profile`; its CPU as % of one core, and the run directory."""
    path = out / "profile.toml"
    path.write_text(profile)
    start = time.monotonic()
    proc = subprocess.Popen(
        [*TWIN, "--batch", str(path), "--out", str(out / "runs")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    assert proc.stdout is not None
    run_dir = Path(proc.stdout.read().strip().splitlines()[-1])
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"twin exited {os.waitstatus_to_exitcode(status)}")
    # start-up (imports) is the same in both runs; the difference is the probes
    return 100.0 * (usage.ru_utime + usage.ru_stime) / max(wall, 1e-9), run_dir


def probe_cost(seconds: float) -> None:
    service, port = start_service(2.0)
    try:
        base = f'name = "bench-probes"\n[run]\nbaseline_s = {seconds}\n'
        probe = (
            f'[[probes]]\nname = "api"\nkind = "http"\n'
            f'url = "http://127.0.0.1:{port}/"\nevery_s = 0.1\n'
        )
        with tempfile.TemporaryDirectory(prefix="twin-bench-probes-") as tmp:
            a, b = Path(tmp) / "without", Path(tmp) / "with"
            a.mkdir()
            b.mkdir()
            without, _ = twin_cpu(base, a)
            with_probe, run_dir = twin_cpu(base + probe, b)
            rows = read_rows(run_dir)
            done = sum(float(r["probe_api_count"]) for r in rows)
    finally:
        service.kill()
        service.wait()
    print(f"1. probe cost over {seconds:g} s at 1 s sampling (twin's own CPU, incl. start-up):")
    print(f"   without probes          {without:6.2f} % of a core")
    print(f"   10 http probes/s        {with_probe:6.2f} % of a core ({done:.0f} probes)")
    print(f"   difference              {with_probe - without:+6.2f} points (goal <= 2)")


def sched_resolution(seconds: float) -> None:
    info = time.get_clock_info("perf_counter")
    with tempfile.TemporaryDirectory() as tmp:
        probes = ProbeSet([ProbeSpec("wake", "sched", every_s=0.01)], Path(tmp))
        worker = probes.workers[0]
        samples: list[float] = []
        original = worker.kind.attempt

        def recording() -> float:
            value = original()
            samples.append(value * 1000.0)
            return value

        worker.kind.attempt = recording  # type: ignore[method-assign]
        probes.start()
        time.sleep(seconds)
        probes.stop()
    samples.sort()
    print(f"2. sched probe at rest, {len(samples)} wake-ups of a 1 ms sleep:")
    print(f"   clock {info.implementation}, resolution {info.resolution * 1e6:g} us")
    print(
        f"   overshoot p50 {statistics.median(samples):.3f} ms, "
        f"p99 {samples[int(0.99 * (len(samples) - 1))]:.3f} ms, max {samples[-1]:.3f} ms"
    )


def service_under_load(event_s: float) -> None:
    service, port = start_service(2.0)
    try:
        profile = f"""name = "bench-probe-service"
[sampling]
interval_s = 0.5
[run]
baseline_s = {event_s}
gap_s = {event_s / 2}
[[events]]
stressor = "cpu"
duration_s = {event_s}
[[events]]
stressor = "memory"
duration_s = {event_s}
params = {{ size_mb = 512 }}
[[events]]
stressor = "disk"
duration_s = {event_s}
params = {{ file_mb = 128, mode = "mixed" }}
[[probes]]
name = "api"
kind = "http"
url = "http://127.0.0.1:{port}/"
every_s = 0.1
"""
        with tempfile.TemporaryDirectory(prefix="twin-bench-probes-") as tmp:
            _, run_dir = twin_cpu(profile, Path(tmp))
            rows = read_rows(run_dir)
    finally:
        service.kill()
        service.wait()
    print("3. loopback service (2 ms CPU/request, nice 0) probed every 0.1 s, median per interval:")
    first = float(next(r["elapsed_s"] for r in rows if r["active_events"]))
    groups = {"at rest": [r for r in rows if float(r["elapsed_s"]) < first]}
    for event, kind in (("e01", "cpu"), ("e02", "memory"), ("e03", "disk")):
        groups[f"{event} {kind}"] = [r for r in rows if r["active_events"] == event]
    for name, group in groups.items():
        p50 = [float(r["probe_api_p50_ms"]) for r in group if r["probe_api_p50_ms"]]
        p99 = [float(r["probe_api_p99_ms"]) for r in group if r["probe_api_p99_ms"]]
        errors = sum(float(r["probe_api_errors"]) for r in group)
        if p50:
            print(
                f"   {name:<10} p50 {statistics.median(p50):7.2f} ms  "
                f"p99 {statistics.median(p99):7.2f} ms  errors {errors:.0f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    probe_cost(args.seconds)
    sched_resolution(min(args.seconds, 10.0))
    service_under_load(max(args.seconds / 2, 5.0))


if __name__ == "__main__":
    main()
