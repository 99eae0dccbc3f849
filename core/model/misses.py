"""What a fit misses by, honestly: each event as a fit without it predicts it, and each run's
own offset.

A fit explains its own samples better than a new plan's, so the intervals learn from misses a
fit never saw: `event_blocks` leaves one event out of a refit at a time (`identified_columns`
keeps the refit to what its rows can tell apart); `envelope_misses` measures how far each sample
fell outside its run's fitted envelope; `run_offsets` how far a level's run settled off the
fit once it ran (`launched`), the run-to-run wander the band carries apart; `event_offsets`
how far each event's rate settled off a fit without it, the event-to-event wander.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.model.design import Design
from core.model.intervals import REACH_S, envelope, on_grid, reach
from core.model.response import KINDS, Array, BoolArray
from core.model.session import SESSION
from core.telemetry.columns import tick_step

MIN_IDLE_SAMPLES = 3  # fewer samples than this tell no run's level


def event_blocks(design: Design, tail_s: float) -> list[BoolArray]:
    """One block of samples per stress event of every run: from its start to `tail_s` after
    its end (its fall), and the sample whose interval holds the end (an averaged metric sees
    part of the event there: left in, it told the refit the event's drive). Left out of a refit
    one at a time, it is what the model would have predicted for an event it never saw: its own
    error, honestly."""
    blocks = []
    for i, run in enumerate(design.runs):
        rows = design.run_index == i
        for pulse in (p for p in run.pulses if p.kind in KINDS):
            block = np.zeros(design.n, dtype=bool)
            until = pulse.end_s + max(tail_s, run.interval_s)
            block[rows] = (run.t >= pulse.start_s) & (run.t < until)
            blocks.append(block)
    return blocks


def identified_columns(
    cols: Array, kinds: Sequence[str], features: dict[str, list[str]], known: Array | None = None
) -> Array:
    """Indices of the columns a fit on these rows can tell apart: a kind left with one event
    (or one level of its drive) has an `on` column proportional to its drive's, and any split
    of its effect between the two fits the rows equally (one split gave a disk event at 20 MB/s
    12 points of CPU where the one at 60 MB/s had 4); without `on`, the effect scales with the
    drive from that event, the plain extrapolation. A drive whose gain is `known` (finite) is
    not fitted, so it leaves `on` alone to tell apart."""
    keep: list[int] = []
    at = 0
    for kind in kinds:
        names = features[kind]
        own = list(range(at, at + len(names)))
        free = [i for i in own if known is None or not np.isfinite(known[i])]
        if "on" in names and len(free) > 1 and np.linalg.matrix_rank(cols[:, free]) < len(free):
            own.remove(at + names.index("on"))
        keep += own
        at += len(names)
    return np.asarray(keep, dtype=int)


def launched(design: Design, i: int) -> BoolArray:
    """Run `i`'s samples from its first stressor's launch on: its `session` pulse (none, no
    sample: a run without stress events never launched one)."""
    begin = min((p.start_s for p in design.runs[i].pulses if p.kind == SESSION), default=np.inf)
    mask: BoolArray = (design.run_index == i) & (design.t >= begin)
    return mask


def run_offsets(
    design: Design, resid: Array, steady: BoolArray, tail_s: float
) -> list[tuple[int, float]]:
    """Per run, how far its level sat from the fit once it ran (the median residual of its
    steady samples from its first launch on, with no event running nor falling for `tail_s`
    after its end, nor a step's edge `REACH_S` away): the runner's and the
    kernel's own memory moves 5-25 MiB from run to run (the session step alone: 6-20 MiB over
    three recordings of the bench VM), and a fit shared by the runs cannot tell one run's."""
    out: list[tuple[int, float]] = []
    t = design.t
    for i, run in enumerate(design.runs):
        rows = steady & launched(design, i)
        edge = max(REACH_S, run.interval_s)
        for p in (p for p in run.pulses if p.kind in KINDS):
            rows &= ~((t >= p.start_s - edge) & (t < p.end_s + edge + tail_s))
        if rows.sum() >= MIN_IDLE_SAMPLES:
            out.append((i, float(np.median(resid[rows]))))
    return out


def event_offsets(design: Design, resid: Array, rows: BoolArray) -> list[tuple[BoolArray, float]]:
    """Per stress event of every run, its steady samples (within `rows`, a step's edge
    `REACH_S` in from either end) and how far they sat from a fit that never saw the event (the
    median of `resid`, measured less that fit): a new event settles off the fit by its own
    amount (a CPU event at 40 % on one worker 1.5 points under a line drawn through two
    workers' levels; a memory event some MiB off the size law), one draw per event, however
    many samples it lasts."""
    out: list[tuple[BoolArray, float]] = []
    t = design.t
    for i, run in enumerate(design.runs):
        edge = max(REACH_S, run.interval_s)
        mine = rows & (design.run_index == i)
        for p in (p for p in run.pulses if p.kind in KINDS):
            core = mine & (t >= p.start_s + edge) & (t < p.end_s - edge)
            if core.sum() >= MIN_IDLE_SAMPLES:
                out.append((core, float(np.median(resid[core]))))
    return out


LOW_TICKS = 5  # samples under this many steps tell whether a metric sits on its ticks...
ON_TICK = 0.1  # ...within this share of a step (above, the interval's own jitter blurs them)
MIN_TICK_SAMPLES = 10


def counted_in_ticks(design: Design, y: Array, rows: BoolArray, metric: str) -> bool:
    """Whether `metric`'s training samples sit on the steps of the clock ticks it is counted
    in (`telemetry.columns.tick_step`), as the logger's CPU shares do; an import from another
    tool, or a synthetic run, need not. Read off the samples within `LOW_TICKS` steps of 0."""
    near: list[BoolArray] = []
    for i, run in enumerate(design.runs):
        step = tick_step(metric, run.n_cpus, run.interval_s)
        if step is None:
            return False
        k = y[rows & (design.run_index == i)] / step
        k = k[np.isfinite(k) & (k < LOW_TICKS)]
        near.append(np.abs(k - np.round(k)) <= ON_TICK)
    flags = np.concatenate(near) if near else np.zeros(0, dtype=bool)
    return len(flags) >= MIN_TICK_SAMPLES and float(flags.mean()) >= 0.9


def envelope_misses(
    design: Design, y: Array, fitted: Array, metric: str = "", ticks: bool = False
) -> Array:
    """How far each sample fell outside its run's fitted envelope (signed; 0 inside); with
    `ticks`, out to the steps `metric` is counted in, as a prediction's band is
    (`intervals.on_grid`)."""
    miss = np.zeros(design.n)
    for i, run in enumerate(design.runs):
        rows = design.run_index == i
        lo, hi = envelope(fitted[rows], reach(run.interval_s))
        if ticks:
            lo, hi = on_grid(lo, hi, tick_step(metric, run.n_cpus, run.interval_s))
        miss[rows] = y[rows] - np.clip(y[rows], lo, hi)
    return miss
