"""Memory levels as if the kernel's per-CPU free lists held their usual count.

`mem_used_bytes` is MemTotal - MemAvailable, and the free pages on the per-CPU lists are not in
MemAvailable. Kernels from 6.7 tune those lists as allocations come and go (here between 22 and
224 MiB a CPU), so used memory wanders with nothing in use changing: on the bench VM, 12 holds
of one stressor settled from 78 MiB under to 4 MiB over idle + size (standard deviation 29.8
MiB), used minus the lists from 7.6 to 23.8 MiB over it (4.1; `bench/percpu.py`). So the fit
learns on levels referred to the training runs' median count (`steadied`), a calibrated
prediction's idle levels are referred the same way (`steady_levels`), and a prediction adds
back what the count the plan will see moves them by (`offsets`: the count drawn from the plan's
memory events, `core.model.pcp_lists`, from a calibration's own count); the bands add the
quantiles of the count's departure from that drawing (`pcp_tails` in a memory metric's fit,
`intervals.wander`). `read_training` reads all of it off the training runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from core.model.fills import MEMORY_FILL, MIB
from core.model.intervals import TAILS
from core.model.metric_fit import HELD_GAIN, held_gain
from core.model.pcp_lists import ListsProfile, holds_of, learn_lists
from core.model.response import Array, Pulse
from core.model.transients import fill_end
from core.telemetry.columns import PCP_FREE

PCP = PCP_FREE.name
MIN_SAMPLES = 20


def weights(ram: float) -> dict[str, float]:
    """What one byte on the lists moves each memory level by: what a byte counted as used
    does (`metric_fit.held_gain`, per MiB there)."""
    gains = {name: held_gain(name, ram) for name in (*HELD_GAIN, "mem_percent")}
    return {name: gain / MIB for name, gain in gains.items() if gain is not None}


def list_counts(frames: Iterable[pd.DataFrame]) -> Array | None:
    """The lists' count (bytes) at every sample of the runs; None unless every run recorded
    them (older runs, imported data, a kernel without pagesets)."""
    values: list[Array] = []
    for data in frames:
        if PCP not in data.columns:
            return None
        column = pd.to_numeric(data[PCP], errors="coerce").to_numpy(dtype=float)
        values.append(column[np.isfinite(column)])
    pooled: Array = np.concatenate(values) if values else np.array([])
    return pooled if len(pooled) >= MIN_SAMPLES else None


def reference(counts: Array) -> float:
    """The count the memory levels are learnt at: the median (the lists sit near their floor
    most of the time and climb well above it now and then, so the mean is no typical count)."""
    return float(np.median(counts))


def tails(deviation: Array, ram: float) -> dict[str, dict[str, float]]:
    """Per memory level, the quantiles (`intervals.TAILS`) of what the count's `deviation` (from
    what the model draws of it: the reference, or `pcp_lists`) moves it by: the bands' share
    for the count to come (`pcp_tails` in a fit)."""
    return {
        name: {f"{p:g}": float(np.quantile(weight * deviation, p)) for p in TAILS}
        for name, weight in weights(ram).items()
    }


def read_training(
    runs: Sequence[tuple[pd.DataFrame, Sequence[Pulse], float]],
) -> tuple[float, ListsProfile | None, Array] | None:
    """What training runs (data, their events' pulses, sampling interval) tell of the lists:
    the reference count, how they move with memory events (`pcp_lists.learn_lists`; each
    event holding its memory from its measured fill's end) and every sample's departure from
    what that profile draws (from the reference, without one): None unless every run
    recorded them."""
    pooled = list_counts(data for data, _, _ in runs)
    if pooled is None:
        return None
    ref = reference(pooled)
    per_run = []
    for data, pulses, interval_s in runs:
        t = pd.to_numeric(data["elapsed_s"], errors="coerce").to_numpy(dtype=float)
        count = pd.to_numeric(data[PCP], errors="coerce").to_numpy(dtype=float)
        used = pd.to_numeric(data.get("mem_used_bytes", pd.Series(np.nan, index=data.index)))
        level = used.to_numpy(dtype=float)
        memory = [p for p in pulses if p.kind == "memory"]
        fill_ends = {p.start_s: fill_end(t, level, p, interval_s) for p in memory}
        ok = np.isfinite(count) & np.isfinite(t)
        per_run.append((t[ok], count[ok], holds_of(memory, fill_ends)))
    profile = learn_lists(per_run)
    parts = [
        c - (profile.counts(t, holds, float(c[0])) if profile is not None else ref)
        for t, c, holds in per_run
        if len(c)
    ]
    return ref, profile, np.concatenate(parts)


def offsets(
    lists: ListsProfile | None,
    ref: float | None,
    ram: float,
    t: Array,
    pulses: Sequence[Pulse],
    start_bytes: float | None = None,
) -> dict[str, Array]:
    """Per memory level, what the lists' count a plan's `pulses` will see (`lists.counts`, from
    `start_bytes`, a calibration's count) moves it by against `ref`, the count the levels were
    learnt at; empty when the model learnt no profile."""
    if lists is None or ref is None:
        return {}
    fill_ends = {p.start_s: p.end_s for p in pulses if p.kind == MEMORY_FILL}
    start = start_bytes if start_bytes is not None and math.isfinite(start_bytes) else None
    count = lists.counts(t, holds_of(pulses, fill_ends), start)
    return {name: weight * (count - ref) for name, weight in weights(ram).items()}


def steadied(data: pd.DataFrame, ref: float, ram: float) -> pd.DataFrame:
    """A copy of `data` whose memory levels are as if the lists held `ref` bytes."""
    out = data.copy()
    deviation = pd.to_numeric(out[PCP], errors="coerce").fillna(ref) - ref
    for name, weight in weights(ram).items():
        if name in out.columns:
            out[name] = pd.to_numeric(out[name], errors="coerce") - weight * deviation
    return out


def steady_levels(levels: Mapping[str, float], ref: float | None, ram: float) -> dict[str, float]:
    """Measured levels (a calibration's) referred to the lists' training `ref`, their count
    then `ref` (referring twice changes nothing); unchanged when the model learnt none or the
    levels hold no count."""
    out = dict(levels)
    count = out.get(PCP)
    if ref is None or count is None or not math.isfinite(count):
        return out
    for name, weight in weights(ram).items():
        if name in out:
            out[name] = out[name] - weight * (count - ref)
    out[PCP] = ref
    return out


def summary(ref: float | None, fit: Mapping[str, object], lists: ListsProfile | None = None) -> str:
    """What the model learnt of the lists, for a person (`fit`: used memory's)."""
    table = fit.get("pcp_tails")
    if ref is None or not isinstance(table, Mapping):
        return "not recorded in training (memory bands carry their wander in their offsets)"
    low, high = float(table["0.05"]) / MIB, float(table["0.95"]) / MIB
    drawn = f"; {lists}; beyond that" if lists is not None else "; their count"
    return (
        f"memory learnt as at {ref / MIB:.0f} MiB on them (the median training sample)"
        f"{drawn} moves used memory {low:+.0f} / {high:+.0f} MiB at its 5 / 95 % quantiles"
    )
