"""How the kernel's per-CPU free lists move with memory events: the count a plan will see.

The free pages on the lists count as used memory (`core.model.percpu`), and they follow memory
events in a way a plan tells (kernel 6.7+, `mm: tune PCP high automatically`; seen on every
recording of the bench VM, two boots):
- a fill takes them first: while a memory event holds its memory the lists sit at a floor
  (`held_bytes`: 14-90 MiB there, mostly 20-40);
- a release hands its pages to them, up to their raised `high` mark: they jump (up to 590 MiB
  after a 2 GiB release) and then drain back to where they idle (`idle_bytes`) at a steady pace
  (`drain_bytes_s`: the kernel frees at most 32 batches a CPU a second, ~8 MiB/s a CPU);
- the longer the event held its memory, the less they jump: the kernel lowers the raised mark by
  an eighth every second (`HIGH_DECAY_PER_S`); a 4 GiB release after a 50 s hold found them at
  their floor on every recording, 2 GiB after 3-7 s sent them up by 100-500 MiB.
`ListsProfile.counts` draws that for a plan; `learn_lists` reads it off training runs. What the
count does beyond it (which CPU frees, how far a mark was raised) is the bands' share
(`percpu.tails` of the count's departure from this).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.model.response import Array, BoolArray, Pulse

MIB = 1024**2
HIGH_DECAY_PER_S = 7.0 / 8.0
"""What of a list's raised `high` mark a second keeps: the kernel lowers it by an eighth at each
vmstat update (`decay_pcp_high`, every `vm.stat_interval`, 1 s by default)."""
JUMP_WINDOW_S = 2.0  # a release's pages are on the lists within this
TAKEN_AFTER_S = 1.0  # a fill has taken the lists this long after its event starts
SETTLED_MB = 16.0  # a count this close to idle has drained
MIN_DRAIN_SAMPLES = 4
MIN_HELD_SAMPLES = 5


@dataclass(frozen=True)
class MemoryHold:
    """One memory event as the lists see it: when it took memory and let go, how much, and how
    long it held all of it (from its fill's end)."""

    start_s: float
    end_s: float
    size_mb: float
    hold_s: float


@dataclass(frozen=True)
class ListsProfile:
    """The lists' count (bytes) with no memory event (`idle_bytes`), while one holds memory
    (`held_bytes`), and after a release: a jump over the held floor by the event's size
    (`jumps`: (MiB, bytes at no hold) pairs by size, interpolated, the ends held), lowered by
    the hold, drained at `drain_bytes_s` (None: not learnt, no jump drawn)."""

    idle_bytes: float
    held_bytes: float
    drain_bytes_s: float | None = None
    jumps: tuple[tuple[float, float], ...] = ()

    def jump(self, size_mb: float, hold_s: float) -> float:
        """Bytes a release of `size_mb` after a `hold_s` hold puts on the lists over the floor."""
        if not self.jumps or not self.drain_bytes_s:
            return 0.0
        sizes = [s for s, _ in self.jumps]
        values = [j for _, j in self.jumps]
        kept: float = HIGH_DECAY_PER_S ** max(float(hold_s), 0.0)
        return float(np.interp(size_mb, sizes, values)) * kept

    def counts(
        self, t: Array, holds: Sequence[MemoryHold], start_bytes: float | None = None
    ) -> Array:
        """The count at each sample of `t` for a plan's `holds`; `start_bytes` the count when
        the run starts (a calibration's: it drains to idle before the first event takes it)."""
        out: Array = np.full(len(t), self.idle_bytes, dtype=float)
        drain = self.drain_bytes_s
        if start_bytes is not None and drain:
            out = np.maximum(out, start_bytes - drain * t)
        events = sorted(holds, key=lambda h: h.start_s)
        for h in events:
            until = min((e.start_s for e in events if e.start_s >= h.end_s), default=np.inf)
            after = (t > h.end_s) & (t <= until)
            peak = self.held_bytes + self.jump(h.size_mb, h.hold_s)
            out[after] = self.idle_bytes
            if drain:
                out[after] = np.maximum(self.idle_bytes, peak - drain * (t[after] - h.end_s))
        for h in events:
            out[(t > h.start_s) & (t <= h.end_s)] = self.held_bytes
        return out

    def __str__(self) -> str:
        if not self.jumps or not self.drain_bytes_s:
            jumps = "no release read"
        else:
            table = ", ".join(f"{j / MIB:.0f} after {s:.0f} MiB" for s, j in self.jumps)
            jumps = f"a release sends them up by {table} (no hold), draining at "
            jumps += f"{self.drain_bytes_s / MIB:.1f} MiB/s"
        return (
            f"idle at {self.idle_bytes / MIB:.0f} MiB, {self.held_bytes / MIB:.0f} MiB while "
            f"memory is held; {jumps}"
        )


def holds_of(pulses: Sequence[Pulse], fill_ends: Mapping[float, float]) -> list[MemoryHold]:
    """The memory events of `pulses`, each holding all of its memory from its fill's end
    (`fill_ends`, by event start: a run's measured or a plan's predicted; absent: its ramp's)."""
    return [
        MemoryHold(
            p.start_s,
            p.end_s,
            float(p.features.get("size_mb", 0.0)),
            max(0.0, p.end_s - fill_ends.get(p.start_s, p.start_s + p.ramp_s)),
        )
        for p in pulses
        if p.kind == "memory"
    ]


Run = tuple[Array, Array, Sequence[MemoryHold]]


def _leading(mask: BoolArray) -> BoolArray:
    """`mask` up to its first False (the run of samples a drain is read over)."""
    lead: BoolArray = np.cumprod(mask).astype(bool)
    return lead


def learn_lists(runs: Iterable[Run]) -> ListsProfile | None:
    """The profile of training runs, each (`t`, the lists' count in bytes, its memory holds):
    the floor from the samples of the holds (once their fill took the lists), each release's
    jump and drain from the samples after it (when no other memory event holds across it and
    the next starts later than `JUMP_WINDOW_S`), idle from the samples neither held nor still
    draining. None when no training run held memory for long enough to read its floor."""
    runs = list(runs)
    held_samples = [
        c[(t > h.start_s + TAKEN_AFTER_S) & (t <= h.end_s)] for t, c, holds in runs for h in holds
    ]
    held_all = np.concatenate(held_samples) if held_samples else np.array([])
    if len(held_all) < MIN_HELD_SAMPLES:
        return None
    held = float(np.median(held_all))
    free = [c[~_inside(t, holds)] for t, c, holds in runs]
    idle0 = float(np.median(np.concatenate(free))) if free else held
    jumps: dict[float, list[float]] = {}
    rates: list[float] = []
    for t, c, holds in runs:
        for h in holds:
            if any(o.start_s < h.end_s <= o.end_s for o in holds if o is not h):
                continue  # another event still holds memory: the release is not this one's
            until = min((o.start_s for o in holds if o.start_s >= h.end_s), default=np.inf)
            window = (t > h.end_s) & (t <= min(h.end_s + JUMP_WINDOW_S, until))
            if until - h.end_s < JUMP_WINDOW_S or not window.any():
                continue
            at = int(np.flatnonzero(window)[np.argmax(c[window])])
            up = max(0.0, float(c[at]) - held) / HIGH_DECAY_PER_S ** max(h.hold_s, 0.0)
            jumps.setdefault(h.size_mb, []).append(up)
            tail = _leading((c[at:] > idle0 + SETTLED_MB * MIB) & (t[at:] <= until))
            x, y = t[at:][tail], c[at:][tail]
            if len(y) >= MIN_DRAIN_SAMPLES and y[0] - y[-1] >= SETTLED_MB * MIB:  # it drained
                slope = float(np.polyfit(x, y, 1)[0])
                if slope < 0:
                    rates.append(-slope)
    drain = float(np.median(rates)) if rates else None
    table = tuple(sorted((size, float(np.median(v))) for size, v in jumps.items()))
    draft = ListsProfile(idle0, held, drain, table)
    settled = [
        c[~_inside(t, holds) & (draft.counts(t, holds, float(c[0])) <= idle0)]
        for t, c, holds in runs
        if len(c)
    ]
    pooled = np.concatenate(settled) if settled else np.array([])
    idle = float(np.median(pooled)) if len(pooled) >= MIN_HELD_SAMPLES else idle0
    return ListsProfile(idle, held, drain, table)


def _inside(t: Array, holds: Sequence[MemoryHold]) -> BoolArray:
    mask: BoolArray = np.zeros(len(t), dtype=bool)
    for h in holds:
        mask |= (t > h.start_s) & (t <= h.end_s)
    return mask
