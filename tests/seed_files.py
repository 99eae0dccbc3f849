"""Seed-project files written the way its psutil logger and runners write them (for the tests).

The logger: one row a second, local time without zone, MiB moved since the previous row with 3
decimals, GiB with 2, psutil's one-decimal percents, empty battery cells. The runners: the
logger's `timestamp,event,detail` start/end rows and the runner's header-less
`START,END,KIND,COMMAND` rows in one annotations file, Windows paths with backslashes.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

SEED_HEADER = (
    "timestamp,cpu_percent,cpu_count_logical,cpu_count_physical,ram_total_GB,ram_used_percent,"
    "ram_available_GB,swap_used_percent,disk_total_GB,disk_used_percent,disk_read_MB,"
    "disk_write_MB,net_sent_MB,net_recv_MB,battery_percent,battery_plugged,process_count"
)
T0 = datetime(2025, 3, 14, 9, 0, 0)  # local time, as the seed writes it
FMT = "%Y-%m-%d %H:%M:%S"
CPUS = os.cpu_count() or 1


@dataclass(frozen=True)
class Busy:
    """A window of the seed recording with known load: seconds from T0."""

    start: int
    end: int
    cpu: float = 0.0
    write_mb: float = 0.0


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime(FMT)


def write_dataset(
    path: Path, seconds: int, busy: list[Busy], *, skip: tuple[int, ...] = ()
) -> None:
    """`seconds` rows, one a second (rows in `skip` missing: the logger lagged)."""
    lines = [SEED_HEADER]
    for k in range(1, seconds + 1):
        if k in skip:
            continue
        load = next((b for b in busy if b.start < k <= b.end), None)
        cpu = round(load.cpu if load else 3.0, 1)
        gap = 2 if k - 1 in skip else 1  # a lagged row's delta covers two seconds
        write = round((load.write_mb if load else 0.5) * gap, 3)
        lines.append(
            f"{at(k)},{cpu},{CPUS},{max(CPUS // 2, 1)},15.5,{round(40.0 + (10 if load else 0), 1)},"
            f"9.3,0.0,468.4,61.2,{round(0.25 * gap, 3)},{write},{round(0.01 * gap, 3)},"
            f"{round(0.02 * gap, 3)},,,{300 + k % 3}"
        )
    path.write_text("\n".join(lines) + "\n")


def write_annotations(path: Path, rows: list[str]) -> None:
    path.write_text("timestamp,event,detail\n" + "\n".join(rows) + "\n")


def start_row(seconds: float, kind: str, pid: int, command: str) -> str:
    return f"{at(seconds)},start,{kind} | PID={pid} | {command}"


def end_row(seconds: float, kind: str, pid: int) -> str:
    return f"{at(seconds)},end,{kind} | PID={pid}"


def interval_row(start: float, end: float, kind: str, command: str) -> str:
    out = []
    w = csv.writer(_Lines(out), lineterminator="")
    w.writerow([at(start), at(end), kind, command])
    return out[0]


class _Lines:
    def __init__(self, sink: list[str]) -> None:
        self.sink = sink

    def write(self, text: str) -> None:
        self.sink.append(text)


def write_schedule(path: Path, events: list[tuple[str, float, float, str]]) -> None:
    """`(type, start seconds from T0, duration_s, cmd)` as the seed's make_schedule.py writes."""
    data = [
        {"type": kind, "start": (T0 + timedelta(seconds=s)).isoformat(), "duration_s": d, "cmd": c}
        for kind, s, d, c in events
    ]
    path.write_text(json.dumps(data, indent=2))
