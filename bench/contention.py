"""Who feels the load: a loopback service's latency under twin's CPU stress and stress-ng's.

    .venv/bin/python bench/contention.py [--seconds 30] [--workers 6]

1. A loopback HTTP service (nice 0, started from this process's session, ~2 ms of CPU per
   request, `bench/loopback_service.py`) is asked every 0.1 s: p50/p99 at rest, under
   `stress-ng --cpu W`, under `twin stress cpu --load-percent 100 --workers W` (shared, the
   default) and the same with `--contention isolated`. Every load is started from this session,
   as an operator's shell would. Goal: twin's p99 rises at least as much as stress-ng's.
2. twin's own sampler under the same shared stress: sample lateness p50/p99/max at 10 Hz with
   the priority it takes by default (SCHED_FIFO 1 where allowed), with nice -10 only, and
   with no raise at all. Goal: p99 under 5 ms.
Installs stress-ng with apt-get when missing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from loopback_service import latencies_ms, percentile, start_service  # noqa: E402
from stressors import stop_group  # noqa: E402

from core.telemetry import sampler as sampler_module  # noqa: E402
from core.telemetry.logger import RunClock, TelemetryLoop  # noqa: E402
from core.telemetry.sampler import Sample, SystemSampler  # noqa: E402

EVERY_S = 0.1


def ensure_stress_ng() -> None:
    if shutil.which("stress-ng") is None:
        print("installing stress-ng ...", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", "stress-ng"], check=True)


def start_load(argv: list[str]) -> subprocess.Popen[bytes]:
    """A load in this session (its own process group only so it can be stopped as a whole)."""
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, process_group=0, cwd=ROOT
    )
    time.sleep(2.0)  # start-up, and let the scheduler settle
    return proc


def loads(workers: int, seconds: float) -> list[tuple[str, list[str] | None]]:
    twin = [sys.executable, "-m", "cli", "stress", "cpu", "--load-percent", "100",
            "--workers", str(workers), "--duration", f"{seconds + 10:g}"]  # fmt: skip
    return [
        ("none", None),
        (
            f"stress-ng --cpu {workers}",
            ["stress-ng", "--cpu", str(workers), "--timeout", f"{seconds + 10:g}"],
        ),
        (f"twin stress cpu --workers {workers} (shared)", twin),
        (
            f"twin stress cpu --workers {workers} --contention isolated",
            [*twin, "--contention", "isolated"],
        ),
    ]


def bench_service(seconds: float, workers: int) -> None:
    count = int(seconds / EVERY_S)
    print(
        f"\n## loopback service, 2 ms CPU per request, one every {EVERY_S:g} s, {count} requests"
        f" per load, {os.cpu_count()} CPUs, autogroup "
        f"{Path('/proc/sys/kernel/sched_autogroup_enabled').read_text().strip()}"
    )
    print(f"{'load':<52} {'p50 ms':>8} {'p99 ms':>8} {'p99 x':>6}")
    service, port = start_service()
    try:
        latencies_ms(port, 20)  # warm up
        rest_p99 = 0.0
        for label, argv in loads(workers, seconds):
            proc = start_load(argv) if argv else None
            try:
                values = latencies_ms(port, count)
            finally:
                if proc is not None:
                    stop_group(proc, grace_s=10.0)
            p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
            rest_p99 = rest_p99 or p99
            print(f"{label:<52} {p50:>8.1f} {p99:>8.1f} {p99 / rest_p99:>6.1f}", flush=True)
            time.sleep(1.0)
    finally:
        service.kill()
        service.wait()


def lateness(seconds: float, raise_priority: Callable[[], str]) -> tuple[str, list[float]]:
    """Sample lateness (ms) of a real TelemetryLoop at 10 Hz in its own thread."""
    out = Path(tempfile.mkdtemp(prefix="twin-bench-"))
    late: list[float] = []
    got: list[str] = []
    original = sampler_module.raise_thread_priority
    sampler_module.raise_thread_priority = lambda real_time=True: raise_priority()
    try:
        sampler = SystemSampler(output_dir=out)

        def on_sample(sample: Sample) -> None:
            late.append(sample.values["sample_lateness_ms"])

        loop = TelemetryLoop(sampler, 0.1, RunClock.start_now(), on_sample)

        def run() -> None:
            loop.run(until_s=seconds)
            got.append(sampler.priority)

        thread = threading.Thread(target=run, name="bench-telemetry")
        thread.start()
        thread.join()
        sampler.close()
    finally:
        sampler_module.raise_thread_priority = original
        shutil.rmtree(out, ignore_errors=True)
    return got[0], late


def bench_sampler(seconds: float, workers: int) -> None:
    print(
        f"\n## twin's sampler at 10 Hz under `twin stress cpu --workers {workers}` (shared), "
        f"{seconds:g} s each"
    )
    print(f"{'priority asked':<22} {'got':<34} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    variants: list[tuple[str, Callable[[], str]]] = [
        ("default", original_raise),
        ("nice only", lambda: original_raise(real_time=False)),
        ("none", lambda: "unchanged (not raised)"),
    ]
    twin = [sys.executable, "-m", "cli", "stress", "cpu", "--workers", str(workers),
            "--duration", f"{3 * (seconds + 5):g}"]  # fmt: skip
    proc = start_load(twin)
    try:
        for label, fn in variants:
            got, late = lateness(seconds, fn)
            print(
                f"{label:<22} {got:<34} {percentile(late, 0.5):>7.2f} "
                f"{percentile(late, 0.99):>7.2f} {max(late):>7.2f}",
                flush=True,
            )
    finally:
        stop_group(proc, grace_s=10.0)


original_raise = sampler_module.raise_thread_priority


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--only", default="service,sampler")
    args = parser.parse_args()
    ensure_stress_ng()
    if "service" in args.only:
        bench_service(args.seconds, args.workers)
    if "sampler" in args.only:
        bench_sampler(args.seconds, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
