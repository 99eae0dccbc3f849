"""Learn one metric: its per-run baselines, each stressor kind's gains and time constants.

Over the training runs' `Design`, the gains come from a slightly ridged least squares
(`ridge`) with Huber weights (outside load is damped), the time constants from a grid searched
one kind at a time; what the fit misses by, for the intervals, from `misses`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.model.design import Design
from core.model.fills import MIB
from core.model.intervals import STEADY, for_metric, spread_stats
from core.model.misses import (
    MIN_IDLE_SAMPLES,
    counted_in_ticks,
    envelope_misses,
    event_blocks,
    event_offsets,
    identified_columns,
    launched,
    run_offsets,
)
from core.model.response import Array, BoolArray
from core.model.ridge import solve_ridge
from core.model.store import MetricModel, Term
from core.model.transients import MEMORY_RESIDUE
from core.telemetry import metric_lists

TAU_GRID = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)
FAST_TAU_GRID = tuple(t for t in TAU_GRID if t <= 30.0)
NEAR_BEST = 0.01
SWEEPS = 2
SECONDARY_MIN_GAIN = 0.05  # a secondary kind must cut the residual sum of squares by 5%
ROBUST_ITERATIONS = 4
HUBER_K = 1.345
DRAIN_MB = 16.0  # a run's memory falling more than this before its first event: still draining
# What one MiB counted as used moves a metric by. Known, not fitted, for the MiB a memory event
# holds (its `size_mb`: a stressor of N MiB holds N MiB; fitting that slope read 1.018 MiB per
# MiB off one recording's steps, the 2048 MiB one high by the residue of a release still
# draining, and put a 4 GiB event 70 MiB high) and for freed memory still counted (its residue
# term's gain: the residue is read off used memory in MiB, `transients.learn_release_profile`).
HELD_GAIN = {"mem_used_bytes": MIB, "mem_available_bytes": -MIB}
HELD_FEATURE = ("memory", "size_mb")


def held_gain(metric: str, ram: float) -> float | None:
    """What one MiB counted as used moves `metric` by (None: not a memory level; the memory
    percentage needs the RAM size)."""
    if metric == "mem_percent":
        return 100.0 * MIB / ram if ram > 0 else None
    return HELD_GAIN.get(metric)


FIXED_TAUS = {  # steps; a residue's drain is its own shape (its levels)
    "session": (0.0, 0.0),
    "footprint": (0.0, 0.0),
    "boot": (0.0, 0.0),
    "memory_residue": (0.0, 0.0),
}
# A fill's CPU, pressure and I/O are its threads at work: they start and stop with it. A tau
# fitted to a second-long pulse is free to trade its height for its lag (15 s and 3018 points
# per core on one recording, which predicted a contended fill at 433 % of the machine).
FIXED_FAST_TAUS = {"memory_fill": (0.0, 0.0)}


def averaged(metric: str) -> bool:
    """Whether the model averages a metric's response over the interval ending at a sample.

    The headline gauges (memory, swap, load: `metric_lists.is_level`) are read at the instant; every
    other metric, the pressure and temperature families included, is fitted as an average.
    """
    return not (metric in metric_lists.HEADLINE_METRICS and metric_lists.is_level(metric))


def lingers(metric: str, average: bool) -> bool:
    """Whether memory an event frees stays counted in `metric` a while (a memory level)."""
    return _primary(metric, "memory") and not average


def metric_bounds(metric: str, ram: float) -> tuple[float | None, float | None]:
    if metric.endswith("_percent"):
        return 0.0, 100.0
    if metric in ("mem_used_bytes", "mem_available_bytes"):
        return 0.0, ram if ram > 0 else None
    if metric.startswith("temp_"):
        return None, None
    return 0.0, None


# Which stressor kinds drive which metrics by construction (metric name prefixes). Other
# pairings are only tried where there is a physical path (every stressor uses CPU; memory can
# push pages to disk) and kept only when they clearly explain the data.
PRIMARY: dict[str, tuple[str, ...]] = {
    "cpu": ("cpu_percent", "load_1m", "psi_cpu", "temp_"),
    "memory": ("mem_", "swap_", "psi_memory"),
    "disk": ("disk_", "psi_io", "load_1m"),
    "network": ("net_",),
    "memory_fill": ("cpu_percent", "load_1m", "psi_cpu"),  # faulting pages in costs a CPU
    "memory_residue": ("mem_",),  # freed memory still counted as used
    "session": ("mem_",),  # the runner's memory once it launched a stressor
    "footprint": ("mem_",),  # a stressor process's own memory while it lives
    "boot": ("cpu_percent", "psi_cpu"),  # a stressor process starting up
}
SECONDARY: dict[str, tuple[str, ...]] = {
    "cpu": (),
    "memory": ("cpu_percent", "load_1m", "psi_cpu", "temp_", "disk_", "psi_io"),
    "disk": ("cpu_percent", "psi_cpu", "temp_"),
    "network": ("cpu_percent", "load_1m", "psi_cpu", "temp_"),
    "memory_fill": ("temp_", "disk_", "psi_io", "psi_memory"),
    "memory_residue": (),
    "session": (),
    "footprint": (),
    "boot": (),
}


def _primary(metric: str, kind: str) -> bool:
    return any(metric.startswith(prefix) for prefix in PRIMARY.get(kind, ()))


def _possible(metric: str, kind: str) -> bool:
    return _primary(metric, kind) or any(
        metric.startswith(prefix) for prefix in SECONDARY.get(kind, ())
    )


def known_gains(held: float | None, kinds: Sequence[str], features: dict[str, list[str]]) -> Array:
    """Per event column of `kinds` (in `Design.columns` order), its known gain, NaN where the
    gain is fitted: a memory event's `size_mb` moves a memory level by `held` per MiB."""
    known = [
        held if (kind, name) == HELD_FEATURE and held is not None else math.nan
        for kind in kinds
        for name in features[kind]
    ]
    return np.asarray(known, dtype=np.float64)


def contended_runs(design: Design) -> set[int]:
    """Runs whose every memory event runs beside a CPU event (`profiles/train-contention.toml`):
    they teach how fast a fill goes while it shares the cores (`fills`), not memory levels.
    Beside CPU workers at 100 % the held level moved with the CPU events' own processes and
    the previous run's drain (one such run taught every CPU event a 92 MiB drop, and the
    held-out run's memory missed by 8.4 % of its mean instead of 2.7 %). How far their
    levels stray from the fit is still a draw of the machine's wander: the band reads them."""
    out: set[int] = set()
    for i, run in enumerate(design.runs):
        memory = [p for p in run.pulses if p.kind == "memory"]
        cpu = [p for p in run.pulses if p.kind == "cpu"]
        if memory and all(
            any(c.start_s < m.end_s and m.start_s < c.end_s for c in cpu) for m in memory
        ):
            out.add(i)
    return out


def draining_runs(design: Design) -> set[int]:
    """Runs whose memory still fell before their first event (more than `DRAIN_MB` from the
    first third of that idle to the last): memory freed before the run was still draining,
    at the kernel's pace (0-300 MiB over seconds on the bench VM). Their idle is no level, and
    fitting it would teach every event of the run a false memory drop (a CPU event "freeing"
    140 MiB), so their memory is left out of the fit."""
    draining: set[int] = set()
    for i, run in enumerate(design.runs):
        if "mem_used_bytes" not in run.data:
            continue
        used = pd.to_numeric(run.data["mem_used_bytes"], errors="coerce").to_numpy(dtype=float)
        # before anything of the run moves memory: its events, and the runner's own step
        first = min((p.start_s for p in run.pulses), default=float("inf"))
        before = used[1:][(run.t[1:] < first) & np.isfinite(used[1:])]  # [0] primes counters
        third = len(before) // 3
        if third >= 2 and np.median(before[:third]) - np.median(before[-third:]) > DRAIN_MB * MIB:
            draining.add(i)
    return draining


def idle_levels(
    design: Design, y: Array, mask: BoolArray, runs_present: Sequence[int], average: bool
) -> Array | None:
    """Each run's idle level (the level a calibrated prediction starts from) from its samples
    before its first stressor launched: a rate's mean, as `measure_levels` reads one sample
    over the idle (at 0.5 s on 2 CPUs, CPU comes in whole points: the median of 0s and 1s is
    0 or 1, not the 0.5 the idle burns), a level's median; None unless every run has
    `MIN_IDLE_SAMPLES` of them: then the fit learns one free baseline per run instead."""
    levels: list[float] = []
    for i in runs_present:
        run = design.runs[i]
        # before anything of the run moves: its events, and the runner's launch (a stressor
        # starting up costs a sample of 10-20 CPU points before its event starts)
        first = min((p.start_s for p in run.pulses), default=float("inf"))
        rows = mask & (design.run_index == i)
        before = y[rows][run.t[rows[design.run_index == i]] < first]
        if len(before) < MIN_IDLE_SAMPLES:
            return None
        levels.append(float(np.mean(before) if average else np.median(before)))
    return np.asarray(levels, dtype=np.float64)


def fit_metric(
    design: Design, metric: str, bounds: tuple[float | None, float | None], ram: float = 0.0
) -> MetricModel | None:
    y_all = np.concatenate(
        [pd.to_numeric(r.data[metric], errors="coerce").to_numpy(dtype=float) for r in design.runs]
    )
    first = np.concatenate([np.arange(len(r.data)) == 0 for r in design.runs])
    mask = np.isfinite(y_all) & ~first  # the first sample of a run primes the counters
    average = averaged(metric)
    band_only = np.zeros(design.n, dtype=bool)  # samples the band learns from, not the fit
    if lingers(metric, average):
        draining = draining_runs(design)
        contended = contended_runs(design) - draining
        if len(draining | contended) < len(design.runs):
            mask &= ~np.isin(design.run_index, sorted(draining))
            band_only = np.isin(design.run_index, sorted(contended))
    if (mask & ~band_only).sum() < 3:
        return None
    runs_present = sorted(set(design.run_index[mask].tolist()))
    intercepts = np.stack([(design.run_index == i).astype(float) for i in runs_present], axis=1)
    y_abs = y_all
    idle = idle_levels(design, y_abs, mask, runs_present, average)
    if idle is None and band_only.any():  # a free baseline per run: theirs is not fitted
        mask &= ~band_only
        band_only[:] = False
        runs_present = sorted(set(design.run_index[mask].tolist()))
        intercepts = np.stack([(design.run_index == i).astype(float) for i in runs_present], axis=1)
    offset = np.zeros(design.n)
    if idle is not None:  # each run's own idle is its baseline, as a calibrated prediction's
        for level, i in zip(idle, runs_present, strict=True):
            offset[design.run_index == i] = level
        intercepts = np.zeros((design.n, 0))
    held = held_gain(metric, ram)
    residue_gain = held if MEMORY_RESIDUE in design.features else None
    if residue_gain is not None:  # a residue is read in MiB of used memory: known, not fitted
        offset = offset + residue_gain * design.columns(MEMORY_RESIDUE, 0.0, 0.0, average)[:, 0]
    y_all = y_abs - offset
    kinds = [k for k in design.features if _possible(metric, k) and k != MEMORY_RESIDUE]
    known = known_gains(held, kinds, design.features)  # per column of `kinds`, kept in step
    slow = metric == "load_1m" or metric.startswith("temp_")  # a response with its own lag
    grid = TAU_GRID if slow else FAST_TAU_GRID
    fixed = FIXED_TAUS if slow else {**FIXED_TAUS, **FIXED_FAST_TAUS}
    taus = {k: fixed.get(k, (1.0, 1.0)) for k in kinds}

    def cols_for(current: dict[str, tuple[float, float]]) -> Array:
        blocks = [design.columns(k, *current[k], average) for k in kinds]
        return np.hstack(blocks) if blocks else np.zeros((design.n, 0))

    weights = np.ones(design.n)  # sqrt of robust (Huber) weights: outside load is damped

    def solve(current: dict[str, tuple[float, float]], rows: BoolArray) -> tuple[Array, float]:
        w = weights[rows][:, None]
        cols = cols_for(current)[rows] * w
        return solve_ridge(intercepts[rows] * w, cols, y_all[rows] * w[:, 0], known)

    def search(rows: BoolArray, sweeps: int) -> None:
        for _ in range(sweeps):
            for kind in (k for k in kinds if k not in fixed):
                trials = [
                    (solve({**taus, kind: (rise, fall)}, rows)[1], rise, fall)
                    for rise in grid
                    for fall in grid
                ]
                least = min(err for err, _, _ in trials)
                # Occam: among pairs within 1% of the best, the fastest response
                near = [x for x in trials if x[0] <= least * (1.0 + NEAR_BEST) + 1e-12]
                _, rise, fall = min(near, key=lambda x: (x[1] + x[2], x[0]))
                taus[kind] = (rise, fall)

    def reweight(rows: BoolArray) -> Array:
        beta = solve(taus, rows)[0]
        for _ in range(ROBUST_ITERATIONS):
            resid = y_all - np.hstack([intercepts, cols_for(taus)]) @ beta
            centre = np.median(resid[rows])
            spread = 1.4826 * float(np.median(np.abs(resid[rows] - centre)))
            if spread <= 0.0:
                break
            far = np.maximum(np.abs(resid), 1e-300)
            weights[:] = np.sqrt(np.minimum(1.0, HUBER_K * spread / far))
            beta = solve(taus, rows)[0]
        return beta

    rows: BoolArray = mask & ~band_only
    if lingers(metric, average):
        # memory freed by an event stays counted as used a while, by an amount a residue term
        # (known, not fitted) tells only roughly: levels are fitted without those samples
        settled = rows & ~design.released
        rows = settled if settled.sum() >= 3 else rows
    lower, upper = bounds
    searchable = bool(kinds) and float(np.nanstd(y_all[mask])) > 0.0
    if searchable:
        search(rows, SWEEPS)
    beta = solve(taus, rows)[0]
    if upper is not None:  # leave out saturated samples the model would push past the bound
        fitted = offset + np.hstack([intercepts, cols_for(taus)]) @ beta
        saturated = rows & (y_abs >= upper - 0.5) & (fitted >= y_abs - 0.5)
        if saturated.any() and (rows & ~saturated).sum() >= 3:
            rows = rows & ~saturated
    beta = reweight(rows)
    if searchable:
        search(rows, 1)
        beta = reweight(rows)
        # a kind with no known path to this metric stays only if it clearly explains it
        full = solve(taus, rows)[1]
        for kind in [k for k in kinds if not _primary(metric, k)]:
            without = [k for k in kinds if k != kind]
            w = weights[rows][:, None]
            blocks = [design.columns(k, *taus[k], average) for k in without]
            rest = np.hstack(blocks) if blocks else np.zeros((design.n, 0))
            trial = known_gains(held, without, design.features)
            err = solve_ridge(intercepts[rows] * w, rest[rows] * w, y_all[rows] * w[:, 0], trial)[1]
            if err <= full * (1.0 + SECONDARY_MIN_GAIN):
                kinds, known = without, trial
        beta = reweight(rows)
    cols = cols_for(taus)
    k = intercepts.shape[1]
    base_part = intercepts @ beta[:k] + offset
    baselines = beta[:k] if idle is None else idle
    fitted = base_part + cols @ beta[k:]
    unseen = fitted.copy()  # each event's samples as a fit without that event predicts them
    w = weights[:, None]
    x = np.hstack([intercepts, cols])
    tail = max((fall for _, fall in taus.values()), default=0.0) * 2.0
    for block in event_blocks(design, tail):
        others = rows & ~block
        if others.sum() >= 3 and block.any():
            keep = identified_columns(cols[others], kinds, design.features, known)
            sub = solve_ridge(intercepts[others] * w[others], cols[others][:, keep] * w[others],
                              y_all[others] * w[others, 0], known[keep])[0]  # fmt: skip
            b = np.zeros(x.shape[1])
            b[:k], b[k + keep] = sub[:k], sub[k:]
            unseen[block] = (offset + x @ b)[block]
    if lower is not None or upper is not None:
        fitted = np.clip(fitted, lower, upper)
        unseen = np.clip(unseen, lower, upper)
    resid = (y_abs - fitted)[mask]
    ticks = counted_in_ticks(design, y_abs, mask, metric)
    miss_all = envelope_misses(design, y_abs, unseen, metric, ticks)
    regime_all = for_metric(design.regime, lingers(metric, average))
    level_sd = 0.0
    if not average:  # a level: each run's own offset once it runs is a draw of its wander
        offsets = run_offsets(design, y_abs - fitted, mask & (regime_all == STEADY), tail)
        if offsets:
            level_sd = math.sqrt(sum(d * d for _, d in offsets) / len(offsets))
            for i, d in offsets:  # the misses within a run are what is left around its offset
                after = launched(design, i)
                miss_all[after] -= np.clip(miss_all[after], min(0.0, d), max(0.0, d))
    event_sd = 0.0
    # each event's own offset from a fit without it is a draw of its wander: a rate's (a CPU
    # event off the line through the training's levels) as a level's (a memory event some MiB
    # off the size law); the misses within it are then taken around it, not counted twice
    events = event_offsets(design, y_abs - unseen, mask & (regime_all == STEADY))
    if events:
        event_sd = math.sqrt(sum(d * d for _, d in events) / len(events))
        for core, d in events:  # the misses within an event are what is left around it
            miss_all[core] -= np.clip(miss_all[core], min(0.0, d), max(0.0, d))
    miss = miss_all[mask]
    spread = spread_stats(miss, (fitted - base_part)[mask], baselines, regime_all[mask])
    spread["level_sd"] = level_sd
    if ticks:  # its band reaches out to the steps a measurement lands on
        spread["ticks"] = True
    spread["event_sd"] = event_sd
    y = y_abs[mask]
    sst = float(((y - y.mean()) ** 2).sum())
    sse_final = float((resid**2).sum())
    terms: dict[str, Term] = {}
    j = k
    for kind in kinds:
        names = design.features[kind]
        gains = {name: float(beta[j + i]) for i, name in enumerate(names)}
        j += len(names)
        terms[kind] = Term(taus[kind][0], taus[kind][1], gains, _primary(metric, kind))
    if residue_gain is not None:
        terms[MEMORY_RESIDUE] = Term(0.0, 0.0, {"residue_mb": residue_gain})
    return MetricModel(
        baseline=float(np.median(baselines)),
        average=average,
        lower=lower,
        upper=upper,
        terms=terms,
        fit={
            "r2": (1.0 - sse_final / sst) if sst > 0 else None,
            "mae": float(np.abs(resid).mean()),
            "rmse": float(math.sqrt(sse_final / len(resid))),
            "n": int(mask.sum()),
            "baseline_spread": float(np.std(baselines)),
            **spread,
        },
    )
