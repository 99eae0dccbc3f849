"""How fast this machine makes a memory event's pages resident, and what the fill costs.

A memory event makes its pages resident first (the CPU and I/O of faulting them in), then only
holds them. How fast is learnt from the training runs' memory rise (`learn_fill_profile`): a
machine may fill its first `knee_mb` fast (a VM's already-backed pages, free huge pages) and the
rest at a slower `slow_mb_s`, the rate at which the filler's threads (`threads`: the cores a
training fill kept busy) can fault pages in; that slow part is scaled by the share of the
cores those threads get next to the CPU events running at the same time (max-min fair
sharing, as the scheduler does). A fill that shares the cores does not slow in proportion
to its share (on a VM the host's backing of pages paces it as much as the guest's CPU): when
training had such fills (`profiles/train-contention.toml`), the rate at a share is read off
them (`contended`: the rate at each share seen, interpolated up to the rate alone; below the
smallest share seen, in proportion to it). So the memory term rises along that fill curve
(the pulse's `levels`), and a `memory_fill` pulse (feature `fill`: the cores the filler uses) lasts
exactly the fill (`with_fills`): its CPU is a transient, not a constant of the event.
MiB beyond the largest training fill (and what the run freed before) fill at
`UNSEEN_FILL_MB_S`: no training fill told how fast the host backs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from core.model.response import SHAPE_POINTS, Array, Pulse

MEMORY_FILL = "memory_fill"
MIN_FILL_EVENT_MB = 128.0  # smaller events fill within a sample: their rise says nothing
DONE = 0.97  # a fill is over once this share of the event's size is resident
SLOWER = 0.7  # a knee: the rate after it is under 70 % of the rate before
MIN_AFTER_KNEE = 2  # samples the slow rate is read from (a 2 GiB fill at 0.5 s has 3 in all)
KNEE_GAIN = 0.5  # ...and two rates cut the squared error of one by half
SAME_START_S = 0.5  # CPU events starting this soon after the filler compete with it
FILL_STEP_S = 0.1  # the fill curve's resolution...
MAX_FILL_POINTS = 20000  # ...up to this many steps per event
MIB = 1024.0**2
# A fill may run this much faster or slower than learnt (a rate x or / 1.3): on the bench VM,
# 2 GiB fills took 0.30-0.60 s over 5 runs of bench/stressors.py, +-30 % about their middle,
# and a fill sharing the cores with CPU events ran 14 % under its fair share. More, when the
# training fills themselves differ more (`learn_fill_profile`).
FILL_SPREAD = 0.3
UNSEEN_FILL_MB_S = 500.0
"""How fast memory no training fill reached becomes resident, alone: the host may back it anew
(on the bench VM 2 GiB training fills ran at 2080-3843 MiB/s on a boot where an 11 GiB step
reached 6816 MiB in 8 s; the slowest fills alone ran at 558)."""


@dataclass(frozen=True)
class FillProfile:
    """How fast this machine makes memory resident, filling alone: `fast_mb_s` for the first
    `knee_mb` MiB, then `slow_mb_s`; the slow part scaled by the share of cores the filler's
    `threads` get next to CPU events. No knee (`knee_mb` None, as model files from before
    it): one rate, all of it scaled by that share."""

    fast_mb_s: float
    knee_mb: float | None = None
    slow_mb_s: float | None = None
    threads: int = 1
    """How many threads the filler faults pages in with (the CPU a training fill kept busy)."""
    spread: float = FILL_SPREAD
    """How much faster or slower (relative) a fill may run than these rates."""
    knee_backed: bool = False
    """Every training fill that showed the knee followed releases of at least that many MiB in
    its run: the fast MiB are pages freed before and still backed (a VM's host keeps them),
    so a fill fills fast what its run freed before it (`freed_before`), and no more."""
    contended: tuple[tuple[float, float], ...] = ()
    """(cores the filler's threads had, MiB/s of its slow part) of training fills that shared
    the cores with CPU events, by cores; empty: the rate scales with the share."""
    trained_mb: float | None = None
    """The largest training fill: MiB beyond it (and beyond what the run freed before) no
    training fill made resident, and the host may back them anew (`UNSEEN_FILL_MB_S`)."""

    def scaled(self, factor: float) -> FillProfile:
        """The same fill at `factor` times its rates (the knee stays where it is)."""
        slow = None if self.slow_mb_s is None else self.slow_mb_s * factor
        contended = tuple((cores, rate * factor) for cores, rate in self.contended)
        return replace(self, fast_mb_s=self.fast_mb_s * factor, slow_mb_s=slow, contended=contended)

    def shared_rate(self, alone_mb_s: float, share: float) -> float:
        """The rate a fill running at `alone_mb_s` on its own keeps when its threads get `share`
        cores: read off the contended training fills where they reach, up to the rate alone at
        all its threads; in proportion to the share below the smallest share seen."""
        share = max(share, 0.05)
        cores = [c for c, _ in self.contended if c < self.threads] + [float(self.threads)]
        rates = [r for c, r in self.contended if c < self.threads] + [alone_mb_s]
        if share < cores[0]:
            return rates[0] * share / cores[0]
        return float(np.interp(share, cores, rates))

    def __str__(self) -> str:
        shared = "; sharing the cores: " + ", ".join(
            f"{r:.0f} MiB/s on {c:.2f} cores" for c, r in self.contended
        )
        shared = shared if self.contended else ""
        if self.trained_mb:
            shared += f"; beyond the {self.trained_mb:.0f} MiB training filled, "
            shared += f"{UNSEEN_FILL_MB_S:.0f} MiB/s alone"
        if self.knee_mb is None or not self.slow_mb_s:
            return f"{self.fast_mb_s:.0f} MiB/s{shared}"
        threads = f" ({self.threads} threads)" if self.threads > 1 else ""
        if self.knee_backed:
            fast = f"for as many MiB as its run freed before (training: {self.knee_mb:.0f})"
        else:
            fast = f"up to {self.knee_mb:.0f} MiB"
        return (
            f"{self.fast_mb_s:.0f} MiB/s {fast}, then {self.slow_mb_s:.0f} MiB/s{threads}{shared}"
        )

    def _parts(
        self, size_mb: float, share: float | None, freed_mb: float | None
    ) -> tuple[float, float, float]:
        """(MiB filled fast, its rate, the slow rate) for one event whose filler gets `share`
        cores (None: alone, a core per thread), its run having freed `freed_mb` before it
        (None: unknown, the knee as learnt)."""
        share = float(self.threads) if share is None else share
        if self.knee_mb is None or not self.slow_mb_s:
            rate = self.shared_rate(self.fast_mb_s, share)
            return size_mb, rate, rate
        knee = freed_mb if self.knee_backed and freed_mb is not None else self.knee_mb
        return min(size_mb, knee), self.fast_mb_s, self.shared_rate(self.slow_mb_s, share)

    def _segments(
        self, size_mb: float, share: float | None, freed_mb: float | None
    ) -> list[tuple[float, float]]:
        """(MiB, MiB/s) of the fill's parts in order: fast, slow, and the MiB no training fill
        reached (beyond `trained_mb` and what the run freed before) at `UNSEEN_FILL_MB_S`,
        shared as the slow part is, never faster than it."""
        fast, fast_rate, slow_rate = self._parts(size_mb, share, freed_mb)
        new = 0.0
        if self.trained_mb:
            new = max(0.0, size_mb - max(self.trained_mb, freed_mb or 0.0))
        known = size_mb - new
        alone = self.slow_mb_s or self.fast_mb_s
        new_rate = min(slow_rate, UNSEEN_FILL_MB_S * slow_rate / alone) if alone > 0 else slow_rate
        return [
            (min(fast, known), fast_rate),
            (max(known - fast, 0.0), slow_rate),
            (new, new_rate),
        ]

    def seconds(
        self, size_mb: float, share: float | None = None, freed_mb: float | None = None
    ) -> float:
        """How long `size_mb` takes to become resident."""
        return sum(mb / rate for mb, rate in self._segments(size_mb, share, freed_mb) if mb > 0)

    def filled(
        self, x: Array, size_mb: float, share: float | None = None, freed_mb: float | None = None
    ) -> Array:
        """MiB resident `x` s after the fill started."""
        x = np.maximum(x, 0.0)
        out: Array = np.zeros_like(x, dtype=float)
        begun, done = 0.0, 0.0  # seconds and MiB before this part
        for mb, rate in self._segments(size_mb, share, freed_mb):
            if mb <= 0:
                continue
            out = np.where(x > begun, done + np.minimum(x - begun, mb / rate) * rate, out)
            begun, done = begun + mb / rate, done + mb
        return np.minimum(out, size_mb)


def level_before(t: Array, y: Array, when: float) -> float:
    """The level just before `when` (median of up to 3 samples)."""
    before = y[(t < when) & np.isfinite(y)][-3:]
    return float(np.median(before)) if len(before) else float("nan")


def event_fill_curve(t: Array, mem_used: Array, pulse: Pulse) -> tuple[Array, Array] | None:
    """(seconds since the start, MiB resident) of one memory event's samples while it filled,
    read from the memory rise plus what was already counted as used before it (a previous
    release not yet drained: the event's size less its final rise), which the fill reuses
    first; None when the rise cannot be read."""
    size = pulse.features.get("size_mb", 0.0)
    if size < MIN_FILL_EVENT_MB or pulse.ramp_s > 0.0 or pulse.levels:
        return None
    base = level_before(t, mem_used, pulse.start_s)
    inside = (t > pulse.start_s) & (t <= pulse.end_s) & np.isfinite(mem_used)
    if not np.isfinite(base) or inside.sum() < 4:
        return None
    x, rise = t[inside] - pulse.start_s, (mem_used[inside] - base) / MIB
    final = float(np.median(rise[len(rise) // 2 :]))
    if final < 0.5 * size:
        return None
    reused = float(np.clip(size - final, 0.0, size))  # counted as used before: filled first
    filled = np.clip(np.where(rise > 0.0, rise + reused, 0.0), 0.0, size)
    # A sample taken at the event's own instant (the run samples on the grid its events start
    # on, a millisecond apart) shows next to nothing resident yet (a 256 MiB event's 7 MiB 1 ms
    # in, read as a 2560 MiB/s fill): the curve begins at the first rise a tenth of an
    # interval or more into the event.
    step = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    began = np.nonzero((filled > 0.0) & (x >= 0.1 * step))[0]
    if not len(began):
        return None
    x, filled = x[began[0] :], filled[began[0] :]
    done = np.nonzero(filled >= DONE * size)[0]
    if not len(done) or done[0] == 0:
        return None  # never settled, or filled within a sample: no curve to read
    return x[: done[0]], filled[: done[0]]


def fit_fill_curve(
    x: Array, filled: Array, size_mb: float
) -> tuple[float, float | None, float | None]:
    """(fast rate, knee MiB or None, slow rate or None) of one fill: one straight line from the
    start, or two with a knee at a sample when that explains the curve far better. One rate is
    read where the curve crosses half way (a linear fill does at half its length)."""
    xs, ms = np.concatenate([[0.0], x]), np.concatenate([[0.0], filled])
    rising = bool(np.all(np.diff(ms) > 0)) and filled[-1] >= size_mb / 2.0
    half = float(np.interp(size_mb / 2.0, ms, xs)) if rising else float(x[0]) / 2.0
    one = size_mb / (2.0 * max(half, 0.05))
    straight = float((x * filled).sum() / (x * x).sum())
    sse_one = float(((filled - straight * x) ** 2).sum())
    best: tuple[float, float, float, float] | None = None  # sse, fast, knee, slow
    for j in range(len(x) - MIN_AFTER_KNEE):
        fast = float(filled[j] / x[j])
        dx, dm = x[j + 1 :] - x[j], filled[j + 1 :] - filled[j]
        slow = float((dx * dm).sum() / (dx * dx).sum())
        sse = float(
            ((filled[: j + 1] - fast * x[: j + 1]) ** 2).sum() + ((dm - slow * dx) ** 2).sum()
        )
        if slow > 0 and slow < SLOWER * fast and (best is None or sse < best[0]):
            best = (sse, fast, float(filled[j]), slow)
    if best is not None and best[0] < KNEE_GAIN * sse_one:
        return best[1], best[2], best[3]
    return one, None, None


def _busy_cores(data: pd.DataFrame, pulse: Pulse, x: Array, n_cpus: int) -> float | None:
    """The cores a fill kept busy beyond the idle just before it (its samples at `x` s after the
    start; each CPU sample averages the interval before it, all inside the fill)."""
    if "cpu_percent" not in data.columns:
        return None
    t = data["elapsed_s"].to_numpy(dtype=float)
    cpu = pd.to_numeric(data["cpu_percent"], errors="coerce").to_numpy(dtype=float)
    idle = level_before(t, cpu, pulse.start_s)
    inside = np.isin(np.round(t - pulse.start_s, 6), np.round(x, 6)) & np.isfinite(cpu)
    if not np.isfinite(idle) or not inside.any():
        return None
    return float(np.median(cpu[inside] - idle)) / 100.0 * n_cpus


def freed_before(pulse: Pulse, pulses: Sequence[Pulse]) -> float:
    """MiB the memory events of `pulse`'s run released before it started."""
    return sum(
        p.features.get("size_mb", 0.0)
        for p in pulses
        if p.kind == "memory" and p is not pulse and p.end_s <= pulse.start_s
    )


def _alone(pulse: Pulse, pulses: Sequence[Pulse]) -> bool:
    return not any(
        p is not pulse and p.start_s < pulse.end_s and pulse.start_s < p.end_s for p in pulses
    )


def learn_fill_profile(
    runs: Iterable[tuple[pd.DataFrame, Sequence[Pulse], int]],
) -> FillProfile | None:
    """The fill over the training runs' unramped memory events: the filler's threads (the cores
    a fill running alone kept busy), the median fast rate and knee of every fill, the median
    slow rate of the fills alone, and per share of the cores the median slow rate of the fills
    that shared them (`contended`; when every fill shared them, the rate alone is theirs
    scaled by threads over share)."""
    fills: list[tuple[Pulse, Sequence[Pulse], int, tuple[Array, Array]]] = []
    cores: list[float] = []
    for data, pulses, n_cpus in runs:
        if "mem_used_bytes" not in data.columns:
            continue
        t = data["elapsed_s"].to_numpy(dtype=float)
        used = pd.to_numeric(data["mem_used_bytes"], errors="coerce").to_numpy(dtype=float)
        for pulse in pulses:
            curve = event_fill_curve(t, used, pulse) if pulse.kind == "memory" else None
            if curve is None:
                continue
            fills.append((pulse, pulses, n_cpus, curve))
            busy = _busy_cores(data, pulse, curve[0], n_cpus) if _alone(pulse, pulses) else None
            if busy is not None:
                cores.append(busy)
    threads = max(1, round(float(np.median(cores)))) if cores else 1
    fast: list[float] = []
    knees: list[float] = []
    slow: list[float] = []
    backed = True  # every knee came after releases of at least its MiB
    unfreed: list[float] = []  # one-rate fills with nothing freed before them in their run
    shared: dict[float, list[float]] = {}  # cores the filler had -> rates of fills sharing them
    scaled_up: list[float] = []  # ...and those rates scaled to a filler alone
    for pulse, pulses, n_cpus, curve in fills:
        alone_cores = float(min(threads, n_cpus))
        share = max(_filler_share(pulse, pulses, n_cpus, int(alone_cores)), 0.05)
        rate, knee, after = fit_fill_curve(*curve, pulse.features["size_mb"])
        freed = freed_before(pulse, pulses)
        sharing = share < alone_cores - 1e-6
        if knee is None or after is None:
            if not sharing:
                (unfreed if freed < MIN_FILL_EVENT_MB else fast).append(rate)
            elif freed < MIN_FILL_EVENT_MB:  # slow from its start: its rate is the shared one
                shared.setdefault(round(share, 2), []).append(rate)
                scaled_up.append(rate * alone_cores / share)
            # (one rate after releases may be all fast pages: no shared rate to read)
            continue
        fast.append(rate)
        knees.append(knee)
        if sharing:  # its slow part is a point of its own; its fast start, as any fill's
            shared.setdefault(round(share, 2), []).append(after)
            scaled_up.append(after * alone_cores / share)
        else:
            slow.append(after)
        # the knee is read at a sample: up to one interval of the slow fill past it
        step = float(np.median(np.diff(curve[0]))) if len(curve[0]) > 1 else 0.0
        backed = backed and knee <= freed + after * step
    if knees and backed:
        slow += unfreed  # with nothing freed before, no page was still backed: all slow
    else:
        fast += unfreed
    if knees and not slow:  # every fill with a slow part shared the cores
        slow.extend(scaled_up)
    alone = slow if knees else fast  # the rate most of a big fill runs at on its own
    contended = tuple((c, float(np.median(r))) for c, r in sorted(shared.items()))
    if not fast:  # every fill shared the cores and filled at one rate
        fast.extend(scaled_up)
    if not fast:
        return None
    spread = max(FILL_SPREAD, (max(alone) - min(alone)) / (2.0 * float(np.median(alone))))
    if knees:
        median = (float(np.median(v)) for v in (fast, knees, alone))
        return FillProfile(
            next(median), next(median), next(median), threads, spread, backed, contended
        )
    return FillProfile(float(np.median(fast)), threads=threads, spread=spread, contended=contended)


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


def _filler_share(pulse: Pulse, others: Sequence[Pulse], n_cpus: int, threads: int = 1) -> float:
    """The cores a memory filler's `threads` get next to the CPU events running when it starts
    (or starting with it: events planned together start milliseconds apart)."""
    demands: list[float] = []
    for other in others:
        starts = other.start_s <= pulse.start_s + SAME_START_S
        if other.kind == "cpu" and starts and pulse.start_s < other.end_s:
            cores = other.features.get("drive", 0.0) * n_cpus
            whole = int(np.ceil(cores - 1e-9))
            demands += [cores / whole] * whole if whole else []
    shares = fair_share([*demands, *[1.0] * threads], float(n_cpus))
    return float(sum(shares[len(demands) :]))


def _fill_levels(
    pulse: Pulse, fill: FillProfile, share: float, freed_mb: float
) -> tuple[tuple[float, ...], float]:
    """The memory input over the event (shares of its size, equal steps of at most
    `FILL_STEP_S`, each at its middle) and the seconds the fill lasts: the fill curve, no
    faster than the event's own ramp."""
    size = pulse.features.get("size_mb", 0.0)
    duration = pulse.end_s - pulse.start_s
    fill_s = fill.seconds(size, share, freed_mb)
    if size <= 0 or duration <= 0:
        return (), fill_s
    points = int(min(max(SHAPE_POINTS, np.ceil(duration / FILL_STEP_S)), MAX_FILL_POINTS))
    x = (np.arange(points) + 0.5) * duration / points
    resident = fill.filled(x, size, share, freed_mb)
    if pulse.ramp_s > 0:
        resident = np.minimum(resident, size * x / pulse.ramp_s)
        fill_s = max(fill_s, pulse.ramp_s)
    return tuple(float(v) for v in np.minimum(resident / size, 1.0)), fill_s


def with_fills(pulses: Sequence[Pulse], fill: FillProfile | None, n_cpus: int) -> list[Pulse]:
    if fill is None or fill.fast_mb_s <= 0:
        return list(pulses)
    out: list[Pulse] = []
    for pulse in pulses:
        if pulse.kind != "memory":
            out.append(pulse)
            continue
        share = max(_filler_share(pulse, pulses, n_cpus, min(fill.threads, n_cpus)), 0.05)
        size = pulse.features.get("size_mb", 0.0)
        freed = freed_before(pulse, pulses)
        if pulse.levels:
            fill_s = fill.seconds(size, share, freed)
            out.append(pulse)
        else:
            levels, fill_s = _fill_levels(pulse, fill, share, freed)
            out.append(replace(pulse, levels=levels) if levels else pulse)
        end = min(pulse.end_s, pulse.start_s + fill_s)
        busy = fill.seconds(size, share, freed) / fill_s if fill_s > 0 else 1.0
        cores = min(share, float(fill.threads)) * busy
        out.append(Pulse(MEMORY_FILL, pulse.start_s, end, {"fill": cores}))
    return out
