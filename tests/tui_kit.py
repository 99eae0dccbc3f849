"""Fakes for the TUI tests: a deterministic sampler and in-process stressors.

`FakeSampler` implements `core.telemetry.sampler.Sampler` with the contract
columns of a two-core machine plus a few extras; its values are a pure
function of the read count, so graphs are the same on every run.
`fake_stressors()` returns a `start_stressor` whose handles never start a
process: they end at their duration or when stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.runner import HandleLike, StartStressor
from core.telemetry import columns as C
from core.telemetry.logger import RunClock
from core.telemetry.sampler import Sample

FAKE_CORES = 2
MiB = 1024.0 * 1024.0


class FakeSampler:
    """A two-core machine whose load follows slow waves."""

    def __init__(self, cores: int = FAKE_CORES) -> None:
        self.cores = cores
        self.reads = 0
        self._columns = (
            list(C.CONTRACT_BEFORE_CORES)
            + [C.cpu_core_column(i) for i in range(cores)]
            + list(C.CONTRACT_AFTER_CORES)
            + [C.psi_column("cpu", "some"), C.temperature_column("cpu")]
        )

    @property
    def columns(self) -> list[C.Column]:
        return self._columns

    def prime(self, now: float) -> None:
        self.reads = 0

    def read(self, now: float) -> dict[str, float]:
        self.reads += 1
        return fake_values(self.reads, self.cores)


def fake_values(k: int, cores: int = FAKE_CORES) -> dict[str, float]:
    """The values of read number `k` (deterministic)."""
    wave = (math.sin(k / 6.0) + 1) / 2
    v: dict[str, float] = {"cpu_percent": 10 + 60 * wave}
    for i in range(cores):
        v[f"cpu{i}_percent"] = 5 + 90 * ((math.sin(k / (4.0 + i)) + 1) / 2)
    total = 8192 * MiB
    used = total * (0.3 + 0.1 * wave)
    v.update(
        {
            "mem_percent": 100 * used / total,
            "mem_used_bytes": used,
            "mem_available_bytes": total - used,
            "swap_percent": 0.0,
            "disk_read_bytes_per_s": 2 * MiB * wave,
            "disk_write_bytes_per_s": 5 * MiB * (1 - wave),
            "disk_read_ops_per_s": 10 * wave,
            "disk_write_ops_per_s": 20 * wave,
            "net_sent_bytes_per_s": 300_000 * wave,
            "net_recv_bytes_per_s": 900_000 * wave,
            "load_1m": 0.5 + wave,
            "process_count": 200,
            "psi_cpu_some_percent": 20 * wave,
            "temp_cpu_c": 45 + 10 * wave,
        }
    )
    return v


def fake_samples(count: int, events: Mapping[int, tuple[str, ...]] | None = None) -> list[Sample]:
    """`count` samples at 1 s on a fixed clock; `events` maps sample index -> active ids."""
    clock = RunClock(0.0, datetime(2025, 1, 1, tzinfo=UTC))
    out = []
    for k in range(1, count + 1):
        out.append(
            Sample(
                timestamp=clock.wall_at(float(k)),
                elapsed_s=float(k),
                values=fake_values(k),
                active_events=(events or {}).get(k, ()),
            )
        )
    return out


@dataclass(frozen=True)
class FakeExit:
    ok: bool = True
    reason: str = ""


class FakeHandle:
    """A stressor that does nothing but keep time."""

    def __init__(self, kind: str, duration_s: float) -> None:
        self.kind = kind
        self.deadline = time.monotonic() + duration_s
        self.stopped = False

    def poll(self) -> FakeExit | None:
        if self.stopped or time.monotonic() >= self.deadline:
            return FakeExit()
        return None

    def stop(self, grace_s: float = 2.0) -> FakeExit:
        self.stopped = True
        return FakeExit()

    def work(self) -> dict[str, float]:
        return {"stress_cpu_loops_per_s": 1000.0} if self.kind == "cpu" else {}


def fake_stressors(started: list[tuple[str, dict[str, Any]]] | None = None) -> StartStressor:
    """A `start_stressor` of `FakeHandle`s; records each start in `started`."""

    def start(
        kind: str, params: Mapping[str, Any], duration: float, scratch: Path, eid: str
    ) -> HandleLike:
        if started is not None:
            started.append((kind, dict(params)))
        return FakeHandle(kind, duration)

    return start
