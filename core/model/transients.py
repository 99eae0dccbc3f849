"""Transient effects: what an event costs only while it builds up or lets go.

Filling is `core.model.fills`: memory rises along the learnt fill curve and a `memory_fill`
pulse lasts exactly the fill. Giving the memory back has a transient too: some of what an
event frees stays counted as used and drains at a steady pace, about 8 MiB/s on the bench VM
(the kernel's pace, not the plan's). How much is left depends on how long the event held its
memory: 0-250 MiB after 256-2048 MiB held 5-10 s, under 40 MiB after 768 MiB-22 GiB held
20-135 s. So the fill leaves a debt, a share of its size, that drains from the fill's end on,
seen only once the event lets go: `learn_release_profile` reads each training release's
residue and adds what drained while the event held (`ReleaseProfile`); a `memory_residue`
pulse after each memory event (feature `residue_mb`: what is left at the release) falls along
the drain until it is gone. Fit and predict both call `with_transients`, so they see events
alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.model.fills import (
    FILL_STEP_S,
    MAX_FILL_POINTS,
    MEMORY_FILL,
    MIB,
    MIN_FILL_EVENT_MB,
    FillProfile,
    event_fill_curve,
    level_before,
    with_fills,
)
from core.model.response import Array, Pulse

MEMORY_RESIDUE = "memory_residue"
TRANSIENT_KINDS = (MEMORY_FILL, MEMORY_RESIDUE)
MAX_RESIDUE_S = 30.0  # a release's residue is read, and predicted, at most this long after it
RESIDUE_FLOOR_MB = 16.0  # a residue smaller than this is the kernel's noise: drained
MIN_DRAIN_SAMPLES = 3  # samples of a draining residue its pace is read from
MIN_RELEASES = 2  # releases the residue is learnt from (one says nothing of how much it varies)


@dataclass(frozen=True)
class ReleaseProfile:
    """What a memory event's fill leaves to drain: `share` of its size (size-weighted over
    training, never more than `most_mb`, training's largest), draining at `drain_mb_s` from the
    fill's end; what is left when the event lets go stays counted as used until drained."""

    share: float
    drain_mb_s: float
    most_mb: float = math.inf

    def left_at_release(self, size_mb: float, hold_s: float) -> float:
        """MiB a release leaves after the event held its memory `hold_s` (from its fill's end)."""
        debt = min(self.share * size_mb, self.most_mb)
        return max(debt - self.drain_mb_s * hold_s, 0.0)

    def __str__(self) -> str:
        return (
            f"{100 * self.share:.1f} % of the size filled (at most {self.most_mb:.0f} MiB), "
            f"draining at {self.drain_mb_s:.1f} MiB/s"
        )


def _release_residue(
    t: Array, used: Array, pulse: Pulse, until: float, interval_s: float
) -> tuple[float, float | None] | None:
    """(MiB left counted as used at the release, MiB/s it drained at or None) of one memory
    event, from its second sample after the end until `until`, over the lower of the level just
    before the event and the lowest after it (the level it drains to); None when too few
    samples follow it."""
    window = (t > pulse.end_s + interval_s) & (t <= until) & np.isfinite(used)
    if window.sum() < MIN_DRAIN_SAMPLES:
        return None
    x, level = t[window] - pulse.end_s, used[window] / MIB
    before = level_before(t, used, pulse.start_s) / MIB
    floor = float(np.min(level)) if not np.isfinite(before) else min(before, float(np.min(level)))
    left = level - floor
    draining = np.nonzero(left <= RESIDUE_FLOOR_MB)[0]
    upto = int(draining[0]) if len(draining) else len(left)
    rate: float | None = None
    if upto >= MIN_DRAIN_SAMPLES:
        slope = float(np.polyfit(x[:upto], left[:upto], 1)[0])
        rate = -slope if slope < 0 else None
    start = float(left[0]) + (rate or 0.0) * float(x[0])  # back to the release itself
    return (start if float(left[0]) > RESIDUE_FLOOR_MB else 0.0), rate


def fill_end(t: Array, used: Array, pulse: Pulse, interval_s: float) -> float:
    """When a training event's memory was all resident: the sample its rise settled at (its
    own ramp's end, or its start, when the rise cannot be read)."""
    curve = event_fill_curve(t, used, pulse)
    if curve is None:
        return pulse.start_s + pulse.ramp_s
    return pulse.start_s + float(curve[0][-1]) + interval_s


@dataclass(frozen=True)
class Release:
    """One memory event's release as a run measured it: MiB left counted as used at the
    release, the MiB/s it drained at (None: unreadable) and how long the event held its memory
    (from its fill's end)."""

    pulse: Pulse
    left_mb: float
    drain_mb_s: float | None
    hold_s: float


def measured_releases(
    data: pd.DataFrame, pulses: Sequence[Pulse], interval_s: float
) -> list[Release]:
    """Every memory release of a run that samples follow before the next memory event starts
    (`MAX_RESIDUE_S` at most), and no other memory event held memory across."""
    if "mem_used_bytes" not in data.columns:
        return []
    t = data["elapsed_s"].to_numpy(dtype=float)
    used = pd.to_numeric(data["mem_used_bytes"], errors="coerce").to_numpy(dtype=float)
    memory = sorted((p for p in pulses if p.kind == "memory"), key=lambda p: p.start_s)
    out: list[Release] = []
    for pulse in memory:
        if pulse.features.get("size_mb", 0.0) < MIN_FILL_EVENT_MB:
            continue
        if any(p.start_s < pulse.end_s < p.end_s for p in memory):
            continue  # another event still holds memory: its release is not this one's
        later = [p.start_s for p in memory if p.start_s >= pulse.end_s]
        until = min([pulse.end_s + MAX_RESIDUE_S, *later])
        residue = _release_residue(t, used, pulse, until, interval_s)
        if residue is not None:
            hold = max(0.0, pulse.end_s - fill_end(t, used, pulse, interval_s))
            out.append(Release(pulse, residue[0], residue[1], hold))
    return out


def learn_release_profile(
    runs: Iterable[tuple[pd.DataFrame, Sequence[Pulse], float]],
) -> ReleaseProfile | None:
    """The debt the training runs' memory fills left (`ReleaseProfile`), from their
    `measured_releases`: each one's residue at the release plus what drained of it while the
    event held its memory (a release that left none: no debt); None when fewer than
    `MIN_RELEASES` were read or none drained at a readable pace."""
    read = [
        r for data, pulses, interval_s in runs for r in measured_releases(data, pulses, interval_s)
    ]
    rates = [r.drain_mb_s for r in read if r.drain_mb_s is not None]
    if len(read) < MIN_RELEASES or not rates:
        return None
    drain = float(np.median(rates))
    debts = [
        (r.pulse.features["size_mb"], r.left_mb + drain * r.hold_s if r.left_mb > 0 else 0.0)
        for r in read
    ]
    # the size-weighted share: a 256 MiB event's few MiB say little of a 2 GiB event's
    share = sum(debt * size for size, debt in debts) / sum(size * size for size, _ in debts)
    return ReleaseProfile(share, drain, max(debt for _, debt in debts))


def residue_pulses(pulses: Sequence[Pulse], release: ReleaseProfile) -> list[Pulse]:
    """One `memory_residue` pulse per memory event that leaves one: from its end, what is left
    (`ReleaseProfile.left_at_release`) draining at the learnt pace until it is gone (at most
    `MAX_RESIDUE_S`; until the next memory event, whose fill reuses what is still counted).
    An event holds its memory from its fill's end (its `memory_fill` pulse's, else its ramp's)."""
    memory = [p for p in pulses if p.kind == "memory"]
    fills = {p.start_s: p.end_s for p in pulses if p.kind == MEMORY_FILL}
    out: list[Pulse] = []
    for pulse in memory:
        size = pulse.features.get("size_mb", 0.0)
        if size <= 0 or release.drain_mb_s <= 0:
            continue
        hold = max(0.0, pulse.end_s - fills.get(pulse.start_s, pulse.start_s + pulse.ramp_s))
        left_mb = release.left_at_release(size, hold)
        later = [p.start_s for p in memory if p.start_s >= pulse.end_s]
        gone_s = left_mb / release.drain_mb_s
        length = min([gone_s, MAX_RESIDUE_S, *(s - pulse.end_s for s in later)])
        if left_mb <= 0 or length <= 0:
            continue
        points = int(min(max(1, np.ceil(length / FILL_STEP_S)), MAX_FILL_POINTS))
        x = (np.arange(points) + 0.5) * length / points
        levels = np.maximum(1.0 - x / gone_s, 0.0)
        features = {"residue_mb": left_mb}
        out.append(
            Pulse(MEMORY_RESIDUE, pulse.end_s, pulse.end_s + length, features, levels=tuple(levels))
        )
    return out


def with_transients(
    pulses: Sequence[Pulse],
    fill: FillProfile | None,
    n_cpus: int,
    release: ReleaseProfile | None = None,
) -> list[Pulse]:
    """`pulses` with each memory event's rise following its fill, plus one `memory_fill` pulse
    per memory event for the fill's own cost and, with a `release` learnt, one
    `memory_residue` pulse for what its release leaves (`residue_pulses`). No fill learnt: the
    rises as planned; a shaped memory event keeps its shape (its level, not the fill, sets
    the pace)."""
    out = with_fills(pulses, fill, n_cpus)
    return [*out, *residue_pulses(out, release)] if release is not None else out
