"""Synthetic run bundles with known responses, for tests and benchmarks (not the product).

`write_bundle` writes the four files of the run bundle contract (names from
`core.rundir.layout`). Each event adds, to each metric named in its `responses`,
a ramp of known size that starts `delay_s` after the event start, reaches its
full size `ramp_s` later (`ramp_s=0`: a step) and, after the event ends, falls
back to baseline linearly over `recovery_s`. With `noise=0` the data are exact,
so the measured onset, rise and recovery can be checked against the formula.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.rundir.layout import ANNOTATION_COLUMNS, ANNOTATIONS, DATASET, MANIFEST, SCHEDULE

CONTRACT_TAIL = [
    "mem_percent",
    "mem_used_bytes",
    "mem_available_bytes",
    "swap_percent",
    "disk_read_bytes_per_s",
    "disk_write_bytes_per_s",
    "disk_read_ops_per_s",
    "disk_write_ops_per_s",
    "net_sent_bytes_per_s",
    "net_recv_bytes_per_s",
    "load_1m",
    "process_count",
]
EXTRAS = [
    "cpu_iowait_percent",
    "cpu_steal_percent",
    "psi_cpu_some_percent",
    "psi_memory_some_percent",
    "psi_io_some_percent",
    "ctx_switches_per_s",
    "sample_interval_s",
    "sample_lateness_ms",
    "logger_cpu_percent",
]
MEM_TOTAL = 16 * 2**30
BASELINES: dict[str, float] = {
    "cpu_percent": 3.0,
    "mem_used_bytes": 4.0 * 2**30,
    "swap_percent": 0.0,
    "disk_read_bytes_per_s": 1e4,
    "disk_write_bytes_per_s": 5e4,
    "disk_read_ops_per_s": 2.0,
    "disk_write_ops_per_s": 5.0,
    "net_sent_bytes_per_s": 2e3,
    "net_recv_bytes_per_s": 3e3,
    "load_1m": 0.3,
    "process_count": 250.0,
    "cpu_iowait_percent": 0.2,
    "cpu_steal_percent": 0.0,
    "psi_cpu_some_percent": 0.5,
    "psi_memory_some_percent": 0.0,
    "psi_io_some_percent": 0.1,
    "ctx_switches_per_s": 2000.0,
    "logger_cpu_percent": 0.4,
}
START = datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Response:
    """A known response of one metric to one event."""

    size: float
    delay_s: float = 0.0
    ramp_s: float = 0.0
    recovery_s: float = 0.0


@dataclass(frozen=True)
class SynthEvent:
    id: str
    stressor: str
    start_s: float
    duration_s: float
    params: dict[str, Any] = field(default_factory=dict)
    responses: dict[str, Response] = field(default_factory=dict)
    label: str = ""
    status: str = "completed"

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


def _shape(t: np.ndarray, ev: SynthEvent, r: Response) -> np.ndarray:
    rel = t - ev.start_s - r.delay_s
    up = np.clip(rel / r.ramp_s, 0.0, 1.0) if r.ramp_s > 0 else (rel > 0).astype(float)
    inside = (t > ev.start_s) & (t <= ev.end_s)
    after = t > ev.end_s
    out = np.where(inside, up, 0.0)
    if r.recovery_s > 0:
        # the level reached at the end decays linearly to zero
        end_level = (
            float(np.clip((ev.duration_s - r.delay_s) / r.ramp_s, 0, 1)) if r.ramp_s > 0 else 1.0
        )
        down = end_level * (1.0 - np.clip((t - ev.end_s) / r.recovery_s, 0.0, 1.0))
        out = np.where(after, down, out)
    return r.size * out


def make_dataset(
    duration_s: float,
    events: list[SynthEvent],
    *,
    interval_s: float = 1.0,
    noise: float = 0.0,
    seed: int = 0,
    n_cpus: int | None = None,
    extras: bool = True,
) -> pd.DataFrame:
    """The dataset as a frame (vectorized over rows; one pass per event and metric)."""
    n_cpus = n_cpus or os.cpu_count() or 1
    rng = np.random.default_rng(seed)
    n = round(duration_s / interval_s)
    t = np.round(np.arange(1, n + 1) * interval_s, 6)
    values: dict[str, np.ndarray] = {k: np.full(n, v, dtype=float) for k, v in BASELINES.items()}
    for ev in events:
        for metric, resp in ev.responses.items():
            values.setdefault(metric, np.zeros(n))
            values[metric] = values[metric] + _shape(t, ev, resp)
    if noise > 0:
        for key, arr in values.items():
            scale = noise * 1e3 if "bytes" in key else noise
            values[key] = arr + rng.normal(0.0, scale, n)
    for key in list(values):
        if key.endswith("percent"):
            values[key] = np.clip(values[key], 0.0, 100.0)
        elif key != "mem_available_bytes":
            values[key] = np.maximum(values[key], 0.0)
    stamps = pd.DatetimeIndex([START]).repeat(n) + pd.to_timedelta(t, unit="s")
    frame = pd.DataFrame(
        {
            "timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z",
            "elapsed_s": t,
            "cpu_percent": values["cpu_percent"],
        }
    )
    for i in range(n_cpus):
        frame[f"cpu{i}_percent"] = np.clip(values["cpu_percent"] + (i % 3 - 1) * 0.5, 0, 100)
    used = values["mem_used_bytes"]
    frame["mem_percent"] = used / MEM_TOTAL * 100.0
    frame["mem_used_bytes"] = np.round(used)
    frame["mem_available_bytes"] = np.round(MEM_TOTAL - used)
    for col in CONTRACT_TAIL[3:]:
        frame[col] = values[col]
    ids = np.full(n, "", dtype=object)
    for ev in events:
        inside = (t > ev.start_s) & (t <= ev.end_s)
        ids[inside] = np.where(ids[inside] == "", ev.id, ids[inside] + ";" + ev.id)
    frame["active_events"] = ids
    if extras:
        for col in EXTRAS:
            if col == "sample_interval_s":
                frame[col] = interval_s
            elif col == "sample_lateness_ms":
                frame[col] = np.abs(rng.normal(0.0, 2.0, n)).round(3)
            else:
                frame[col] = values[col]
    return frame


def write_bundle(
    run: Path,
    events: list[SynthEvent],
    *,
    duration_s: float,
    interval_s: float = 1.0,
    noise: float = 0.0,
    seed: int = 0,
    name: str = "synthetic",
    truncate_last: bool = False,
    drop_rows: tuple[int, ...] = (),
    n_cpus: int | None = None,
) -> Path:
    """Write a run bundle to `run` (created); return `run`."""
    run.mkdir(parents=True, exist_ok=True)
    frame = make_dataset(
        duration_s, events, interval_s=interval_s, noise=noise, seed=seed, n_cpus=n_cpus
    )
    if drop_rows:
        frame = frame.drop(index=list(drop_rows)).reset_index(drop=True)
    text = frame.to_csv(index=False, float_format="%.10g", lineterminator="\n")
    if truncate_last:
        text = text[: len(text) - 1 - len(text.rstrip("\n").rsplit("\n", 1)[1]) // 2]
    (run / DATASET).write_text(text)

    def iso(s: float) -> str:
        return (START + timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    ann = pd.DataFrame(
        [
            {
                "event_id": ev.id,
                "stressor": ev.stressor,
                "label": ev.label,
                "params": json.dumps(ev.params),
                "planned_start_s": ev.start_s,
                "planned_end_s": ev.end_s,
                "start_time": iso(ev.start_s),
                "end_time": iso(ev.end_s) if ev.status != "running" else "",
                "start_elapsed_s": ev.start_s,
                "end_elapsed_s": ev.end_s if ev.status != "running" else "",
                "status": ev.status,
                "message": "",
            }
            for ev in events
        ],
        columns=ANNOTATION_COLUMNS,
    )
    ann.to_csv(run / ANNOTATIONS, index=False, lineterminator="\n")
    schedule = {
        "name": name,
        "mode": "sequential",
        "seed": seed,
        "interval_s": interval_s,
        "baseline_s": min((ev.start_s for ev in events), default=duration_s),
        "total_s": duration_s,
        "events": [
            {
                "id": ev.id,
                "stressor": ev.stressor,
                "label": ev.label,
                "params": ev.params,
                "start_s": ev.start_s,
                "duration_s": ev.duration_s,
            }
            for ev in events
        ],
    }
    (run / SCHEDULE).write_text(json.dumps(schedule, indent=2) + "\n")
    manifest = {
        "tool": "server-twin",
        "version": "0.1.0",
        "profile": name,
        "host": {"hostname": "synthetic-host"},
        "status": "completed",
        "sample_count": len(frame),
        "interval_s": interval_s,
        "start_time": iso(0.0),
        "end_time": iso(duration_s),
    }
    (run / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return run


def many_events(duration_s: float, count: int, *, seed: int = 1) -> list[SynthEvent]:
    """`count` sequential events of all stressors spread over `duration_s` (for benchmarks)."""
    rng = np.random.default_rng(seed)
    slot = duration_s / (count + 1)
    kinds = [
        ("cpu", "load_percent", "cpu_percent", 50.0),
        ("memory", "size_mb", "mem_used_bytes", 2.0 * 2**30),
        ("disk", "write_mb_s", "disk_write_bytes_per_s", 5e7),
        ("network", "rate_mb_s", "net_sent_bytes_per_s", 2e7),
    ]
    out: list[SynthEvent] = []
    for i in range(count):
        stressor, param, metric, size = kinds[i % len(kinds)]
        level = float(rng.choice([25, 50, 75]))
        out.append(
            SynthEvent(
                id=f"e{i + 1:03d}",
                stressor=stressor,
                start_s=round(slot * (i + 1), 0),
                duration_s=round(slot * 0.6, 0),
                params={param: level},
                responses={
                    metric: Response(size * level / 50.0, delay_s=1.0, ramp_s=3.0, recovery_s=4.0),
                    "load_1m": Response(level / 50.0, delay_s=2.0, ramp_s=30.0, recovery_s=60.0),
                },
            )
        )
    return out
