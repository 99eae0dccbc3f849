"""Memory levels as if the kernel's per-CPU free lists held their usual count.

`mem_used_bytes` is MemTotal - MemAvailable, and the free pages on the per-CPU lists are not in
MemAvailable. Kernels from 6.7 tune those lists as allocations come and go (here between 22 and
224 MiB a CPU), so used memory wanders with nothing in use changing: on the bench VM, 12 holds
of one stressor settled from 78 MiB under to 4 MiB over idle + size (standard deviation 29.8
MiB), used minus the lists from 7.6 to 23.8 MiB over it (4.1; `bench/percpu.py`). A plan cannot tell
the count to come, so the fit learns on levels referred to the training runs' median count
(`steadied`: the centre a prediction aims at) and the bands add the count's own quantiles
(`pcp_tails` in a memory metric's fit, `intervals.wander`); a calibrated prediction's idle
levels are referred the same way (`steady_levels`), so the count at the moment of calibration
is not carried through the plan.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from core.model.fills import MIB
from core.model.intervals import TAILS
from core.model.metric_fit import HELD_GAIN, held_gain
from core.model.response import Array
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


def tails(counts: Array, ref: float, ram: float) -> dict[str, dict[str, float]]:
    """Per memory level, the quantiles (`intervals.TAILS`) of what the count's departure from
    `ref` moves it by: the bands' share for the count to come (`pcp_tails` in a fit)."""
    deviation = counts - ref
    return {
        name: {f"{p:g}": float(np.quantile(weight * deviation, p)) for p in TAILS}
        for name, weight in weights(ram).items()
    }


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


def summary(ref: float | None, fit: Mapping[str, object]) -> str:
    """What the model learnt of the lists, for a person (`fit`: used memory's)."""
    table = fit.get("pcp_tails")
    if ref is None or not isinstance(table, Mapping):
        return "not recorded in training (memory bands carry their wander in their offsets)"
    low, high = float(table["0.05"]) / MIB, float(table["0.95"]) / MIB
    return (
        f"memory learnt as at {ref / MIB:.0f} MiB on them (the median training sample); "
        f"their count moves used memory {low:+.0f} / {high:+.0f} MiB at its 5 / 95 % quantiles"
    )
