"""How far a memory hold lands from idle + size, with and without the kernel's per-CPU free lists.

    .venv/bin/python bench/percpu.py [--holds 12] [--seed 1]

Holds `twin stress memory` of a random size (256-2048 MiB) `--holds` times, each after 4 s of
quiet; reads, every 0.1 s, used memory (MemTotal - MemAvailable, the dataset's
`mem_used_bytes`) and the free pages on the per-CPU lists (/proc/zoneinfo, the dataset's
`mem_pcp_free_bytes`) over 2 s of idle before the hold and 3 s of the hold once filled. Prints
per hold the offset of the held level over idle + size, as used memory has it and as used
minus the lists has it, then the range and standard deviation of both: what the model can
learn from a plan (`core/model/percpu.py`) and what it can only band.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.telemetry.procfs import parse_keyed, parse_pcp_pages  # noqa: E402
from core.telemetry.sampler import PAGE_SIZE  # noqa: E402

MIB = 2**20
SIZES = (256, 768, 1024, 1536, 2048)
MEMINFO = frozenset({b"MemTotal", b"MemAvailable"})


def levels() -> tuple[float, float]:
    """(used MiB, per-CPU free lists MiB) now."""
    kib = parse_keyed(Path("/proc/meminfo").read_bytes(), MEMINFO)
    used = (kib[b"MemTotal"] - kib[b"MemAvailable"]) / 1024
    lists = parse_pcp_pages(Path("/proc/zoneinfo").read_bytes()) * PAGE_SIZE / MIB
    return used, lists


def window(seconds: float) -> tuple[float, float]:
    """Mean used and mean lists over `seconds`."""
    rows = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        rows.append(levels())
        time.sleep(0.1)
    return statistics.fmean(r[0] for r in rows), statistics.fmean(r[1] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--holds", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    raw, steady = [], []
    print("hold  size MiB  idle lists  held lists  used offset  used-lists offset")
    for i in range(args.holds):
        size = rng.choice(SIZES)
        time.sleep(4.0)
        idle_used, idle_lists = window(2.0)
        command = ["stress", "memory", "--size-mb", str(size), "--duration", "9"]
        stressor = subprocess.Popen(
            [sys.executable, "-m", "cli", *command],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(5.0)
            held_used, held_lists = window(3.0)
        finally:
            stressor.wait()
        raw.append(held_used - idle_used - size)
        steady.append((held_used - held_lists) - (idle_used - idle_lists) - size)
        print(
            f"{i:4d}  {size:8d}  {idle_lists:10.1f}  {held_lists:10.1f}  {raw[-1]:+11.1f}  "
            f"{steady[-1]:+17.1f}",
            flush=True,
        )
    for name, values in (("used memory", raw), ("used minus the lists", steady)):
        print(
            f"{name}: held offset over idle + size {min(values):+.1f} to {max(values):+.1f} MiB "
            f"(range {max(values) - min(values):.1f}, sd {statistics.stdev(values):.1f}) "
            f"over {len(values)} holds"
        )


if __name__ == "__main__":
    main()
