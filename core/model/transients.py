"""Transient effects: what an event costs only while it builds up, at the rate this machine fills.

A memory event makes its pages resident first (the CPU and I/O of faulting them in), then only
holds them. The fill takes `size_mb / rate` seconds, where `rate` is what the training runs'
memory rise showed (`learn_fill_rate`) times the share of a CPU the filler gets next to the
CPU events running at the same time (max-min fair sharing, as the scheduler does). So the
memory term rises over the fill, and a `memory_fill` pulse (feature `fill`: the cores the
filler uses) lasts exactly the fill: its CPU is a transient, not a constant of the event.
Fit and predict both call `with_transients`, so they see events alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from core.model.response import Array, Pulse

MEMORY_FILL = "memory_fill"
TRANSIENT_KINDS = (MEMORY_FILL,)
MIN_FILL_EVENT_MB = 128.0  # smaller events fill within a sample: their rise says nothing
MIB = 1024.0**2


def _at(t: Array, y: Array, when: float) -> float:
    """The level just before `when` (median of up to 3 samples)."""
    before = y[(t < when) & np.isfinite(y)][-3:]
    return float(np.median(before)) if len(before) else float("nan")


def event_fill_rate(t: Array, mem_used: Array, pulse: Pulse) -> float | None:
    """MiB/s one memory event filled at: twice the time to half its rise (a linear fill
    crosses half way at half its length), or None when the rise cannot be read."""
    size = pulse.features.get("size_mb", 0.0)
    if size < MIN_FILL_EVENT_MB or pulse.ramp_s > 0.0:
        return None
    base = _at(t, mem_used, pulse.start_s)
    inside = (t >= pulse.start_s) & (t <= pulse.end_s) & np.isfinite(mem_used)
    if not np.isfinite(base) or inside.sum() < 4:
        return None
    ti, rise = t[inside], (mem_used[inside] - base) / MIB
    final = float(np.median(rise[len(rise) // 2 :]))
    if final < 0.5 * size:
        return None
    above = np.nonzero(rise >= final / 2)[0]
    if not len(above):
        return None
    k = int(above[0])
    prev_t, prev_r = (pulse.start_s, 0.0) if k == 0 else (float(ti[k - 1]), float(rise[k - 1]))
    span = float(rise[k]) - prev_r
    half_t = float(ti[k]) if span <= 0 else prev_t + (final / 2 - prev_r) / span * (ti[k] - prev_t)
    fill_s = 2.0 * max(half_t - pulse.start_s, 0.05)
    return final / fill_s


def learn_fill_rate(runs: Iterable[tuple[pd.DataFrame, Sequence[Pulse]]]) -> float | None:
    """The median fill rate (MiB/s) over the training runs' unramped memory events."""
    rates: list[float] = []
    for data, pulses in runs:
        if "mem_used_bytes" not in data.columns:
            continue
        t = data["elapsed_s"].to_numpy(dtype=float)
        used = pd.to_numeric(data["mem_used_bytes"], errors="coerce").to_numpy(dtype=float)
        for pulse in pulses:
            if pulse.kind == "memory":
                rate = event_fill_rate(t, used, pulse)
                if rate is not None:
                    rates.append(rate)
    return float(np.median(rates)) if rates else None


def fair_share(demands: Sequence[float], capacity: float) -> list[float]:
    """Max-min fair allocation of `capacity` cores among threads wanting `demands` cores each."""
    left, out = capacity, [0.0] * len(demands)
    pending = sorted(range(len(demands)), key=lambda i: demands[i])
    while pending:
        even = left / len(pending)
        i = pending[0]
        if demands[i] <= even:
            out[i] = demands[i]
            left -= demands[i]
            pending.pop(0)
        else:
            for j in pending:
                out[j] = even
            break
    return out


def _filler_share(pulse: Pulse, others: Sequence[Pulse], n_cpus: int) -> float:
    """The cores a memory filler gets next to the CPU events running when it starts."""
    threads: list[float] = []
    for other in others:
        if other.kind == "cpu" and other.start_s <= pulse.start_s < other.end_s:
            cores = other.features.get("drive", 0.0) * n_cpus
            whole = int(np.ceil(cores - 1e-9))
            threads += [cores / whole] * whole if whole else []
    return fair_share([*threads, 1.0], float(n_cpus))[-1]


def with_transients(pulses: Sequence[Pulse], fill_mb_s: float | None, n_cpus: int) -> list[Pulse]:
    """`pulses` with each memory event's rise lasting its fill, plus one `memory_fill` pulse
    per memory event for the fill's own cost. Unchanged when no fill rate was learnt."""
    if not fill_mb_s or fill_mb_s <= 0:
        return list(pulses)
    out: list[Pulse] = []
    for pulse in pulses:
        if pulse.kind != "memory":
            out.append(pulse)
            continue
        share = max(_filler_share(pulse, pulses, n_cpus), 0.05)
        fill_s = pulse.features.get("size_mb", 0.0) / (fill_mb_s * share)
        ramp = max(pulse.ramp_s, fill_s)
        out.append(replace(pulse, ramp_s=ramp))
        end = min(pulse.end_s, pulse.start_s + ramp)
        cores = min(share, 1.0) * fill_s / ramp if ramp > 0 else min(share, 1.0)
        out.append(Pulse(MEMORY_FILL, pulse.start_s, end, {"fill": cores}))
    return out
