"""Prediction intervals: how far a run may land from the prediction, from what the fit learnt.

A band has two parts:
- **timing**: a step may land a sample early or late (a controller settles, a fill runs a bit
  faster or slower), so the band first spans every predicted value within `REACH_S` of a
  sample (its `envelope`): at an edge, both sides of the step;
- **level**: around that envelope, `scale x q`, where the scale per sample is
  `sqrt(noise² + drift² + (effect_sd x effect)²)` from three spreads the fit stores:
  - `noise_sd`: what is left where the model predicts (almost) no effect;
  - `effect_sd`: the model's own error, proportional to the predicted effect (a gain 5 % off
    is 5 % off at every level): what the samples under load miss by beyond the noise;
  - `baseline_sd`: how much the idle level drifted between training runs (left out when the
    prediction starts from the run's own idle: calibrated);
  and, apart (in quadrature with the rest, at a normal quantile), `level_sd`: how far a
  level metric's run settles off the fit once it runs, from run to run, and `event_sd`: how
  far a metric settles off it per event running (each a draw of its own: `misses`);
  and `q` the training samples' own quantiles of that standardized miss, signed (`z`), so a
  band is as lopsided and heavy-tailed as training was. Each event's misses are taken from a
  fit without that event (`misses`): a fit explains its own data better than a new plan's.
Two stretches of a run are regimes with quantiles of their own, as their misses are of
another kind: while memory fills (`fill_z`: the host backs guest memory at its own speed), and
soon after a memory event's release (`release_z`: the kernel drains what was freed at its own
pace, so used memory stays up by an amount the plan tells only roughly: around the residue
the model predicts, `transients.residue_pulses`, where it learnt one).
Model files from before the envelope have `abs_z` (symmetric); before intervals, only `rmse`
and `baseline_spread`, used as the noise and drift with normal quantiles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist

import numpy as np

from core.model.fills import MEMORY_FILL
from core.model.response import KINDS, Array, BoolArray, Pulse
from core.model.store import MetricModel

DEFAULT_INTERVAL = 0.9
TAILS = (0.005, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975, 0.995)
NOISE_FLOOR = 0.01  # the noise is at least 10% of the misses' RMS
QUIET_EFFECT = 0.05  # samples whose effect is under 5% of the largest: the noise alone
REACH_S = 0.5  # a step may land this much (at least one sample) early or late
RELEASE_S = 30.0  # memory freed by an event may stay counted as used this long
MIN_REGIME = 10  # fewer samples of a regime than this: its quantiles are the steady ones


def reach(interval_s: float) -> int:
    """The envelope's half width in samples at `interval_s`."""
    return max(1, round(REACH_S / interval_s)) if interval_s > 0 else 1


def envelope(values: Array, k: int) -> tuple[Array, Array]:
    """(min, max) of `values` within `k` samples either side of each (one run's series)."""
    lo, hi = values.copy(), values.copy()
    for shift in range(1, min(k, len(values) - 1) + 1):
        lo[shift:] = np.minimum(lo[shift:], values[:-shift])
        hi[shift:] = np.maximum(hi[shift:], values[:-shift])
        lo[:-shift] = np.minimum(lo[:-shift], values[shift:])
        hi[:-shift] = np.maximum(hi[:-shift], values[shift:])
    return lo, hi


STEADY, FILLING, RELEASED = 0, 1, 2
REGIME_TABLES = {STEADY: "z", FILLING: "fill_z", RELEASED: "release_z"}


def after_release(t: Array, pulses: Sequence[Pulse], interval_s: float) -> BoolArray:
    """The samples soon after a memory event's release: from its second sample after the end
    (the first shows the drop), until the next memory event starts, at most `RELEASE_S`. Some of
    what it freed stays counted as used meanwhile (0-330 MiB on the bench VM): the model's
    residue term tells roughly how much, these samples' own quantiles how far off it."""
    flags = np.zeros(len(t), dtype=bool)
    memory = [p for p in pulses if p.kind == "memory"]
    for pulse in memory:
        later = [p.start_s for p in memory if p.start_s >= pulse.end_s]
        until = min([pulse.end_s + RELEASE_S, *later])
        flags |= (t > pulse.end_s + interval_s) & (t <= until)
    return flags


def regimes(t: Array, pulses: Sequence[Pulse], interval_s: float) -> Array:
    """Each sample's regime: `FILLING` from a fill's start to the sample after its end,
    `RELEASED` after a release (`after_release`), else `STEADY`."""
    codes = np.where(after_release(t, pulses, interval_s), RELEASED, STEADY)
    for pulse in (p for p in pulses if p.kind == MEMORY_FILL):
        codes[(t > pulse.start_s) & (t <= pulse.end_s + interval_s)] = FILLING
    return codes


def for_metric(codes: Array, lingers: bool) -> Array:
    """The regimes as one metric sees them: `RELEASED` only where freed memory lingers in it
    (`lingers`: a memory level); for any other metric those samples are steady (a CPU's misses
    after a release are just the next event's)."""
    out: Array = codes if lingers else np.where(codes == RELEASED, STEADY, codes)
    return out


def _robust_ms(x: Array) -> float:
    """A mean square that rare spikes (a stressor's start-up, a release) do not dominate: the
    normal one with the same median |x|; the quantiles take the tails."""
    return float((1.4826 * np.median(np.abs(x))) ** 2) if len(x) else 0.0


def _tail_table(z: Array) -> dict[str, float]:
    return {f"{p:g}": float(np.quantile(z, p)) for p in TAILS}


def spread_stats(
    miss: Array, effect: Array, baselines: Array, regime: Array
) -> dict[str, float | dict[str, float]]:
    """What `bands` needs of one metric's fit, from each training sample's `miss` (how far it
    fell outside the fitted envelope, signed; 0 inside), its predicted `effect` and `regime`:
    noise, effect error and drift from the steady samples, the standardized misses' quantiles
    per regime that has `MIN_REGIME` samples."""
    steady = regime == STEADY
    if steady.sum() < MIN_REGIME:
        steady = np.ones(len(miss), dtype=bool)
    e2 = effect**2
    loud = np.abs(effect) > QUIET_EFFECT * float(np.max(np.abs(effect), initial=0.0))
    quiet = steady & ~loud
    loud &= steady
    noise2 = _robust_ms(miss[quiet]) if quiet.any() else _robust_ms(miss[steady])
    noise2 = max(noise2, NOISE_FLOOR * float(np.mean(miss[steady] ** 2)), 1e-12)  # exact idle
    effect2 = 0.0
    if loud.any():  # what the loud samples miss beyond the noise, per unit of effect squared
        effect2 = max(0.0, _robust_ms(miss[loud]) - noise2) / float(np.median(e2[loud]))
    z = miss / np.sqrt(noise2 + effect2 * e2)
    stats: dict[str, float | dict[str, float]] = {
        "noise_sd": math.sqrt(noise2),
        "effect_sd": math.sqrt(effect2),
        "baseline_sd": float(np.std(baselines, ddof=1)) if len(baselines) > 1 else 0.0,
        "z": _tail_table(z[steady]),
    }
    for code, table in REGIME_TABLES.items():
        if code != STEADY and (regime == code).sum() >= MIN_REGIME:
            stats[table] = _tail_table(z[regime == code])
    return stats


def check_level(level: float) -> float:
    """`level` when it is a central interval's coverage in (0, 1); else ValueError."""
    if not (0.0 < level < 1.0) or not math.isfinite(level):
        raise ValueError(f"an interval is a share between 0 and 1 (e.g. 0.9), not {level:g}")
    return level


def _normal_q(tail: float) -> float:
    return NormalDist().inv_cdf(tail)


def _signed_q(table: Mapping[str, float], tail: float) -> float:
    """The `tail` quantile of a signed table, interpolated; the normal shape beyond its ends."""
    points = sorted((float(p), float(q)) for p, q in table.items())
    ps = [p for p, _ in points]
    qs = [q for _, q in points]
    if ps[0] <= tail <= ps[-1]:
        return float(np.interp(tail, ps, qs))
    edge = 0 if tail < ps[0] else -1
    return qs[edge] * _normal_q(tail) / _normal_q(ps[edge])


def quantiles(fit: Mapping[str, object], level: float, regime: str = "z") -> tuple[float, float]:
    """(q_lo <= 0, q_hi >= 0): the standardized misses bounding a central `level` band."""
    table = fit.get(regime) or fit.get("z")
    low_tail, high_tail = 0.5 - level / 2.0, 0.5 + level / 2.0
    if isinstance(table, Mapping) and table:
        return min(0.0, _signed_q(table, low_tail)), max(0.0, _signed_q(table, high_tail))
    old = fit.get("abs_z")  # a model file from before signed quantiles: symmetric, its
    # |z| quantile at p being the signed one at the upper tail 0.5 + p / 2
    if isinstance(old, Mapping) and old:
        q = _signed_q({f"{0.5 + float(p) / 2:g}": float(v) for p, v in old.items()}, high_tail)
    else:
        q = _normal_q(high_tail)
    return -q, q


def scale(m: MetricModel, effect: Array, calibrated: bool = False) -> Array:
    """The level part's scale per sample for a predicted `effect` (prediction - baseline)."""
    fit = m.fit
    noise = fit.get("noise_sd", fit.get("rmse")) or 0.0
    drift = 0.0 if calibrated else fit.get("baseline_sd", fit.get("baseline_spread")) or 0.0
    rel = fit.get("effect_sd") or 0.0
    spread: Array = np.sqrt(float(noise) ** 2 + float(drift) ** 2 + (float(rel) * effect) ** 2)
    return spread


def half_width(
    m: MetricModel, effect: Array, level: float, side: int = 1, running: Array | float = 0.0
) -> Array:
    """How far above (`side` +1) or below (-1) the prediction its steady band reaches, with
    `running` stress events at each sample."""
    q_lo, q_hi = quantiles(m.fit, level)
    width: Array = np.hypot(
        (q_hi if side > 0 else -q_lo) * scale(m, effect), wander(m, level, running, side)
    )
    return width


def wander(m: MetricModel, level: float, running: Array | float = 0.0, side: int = 1) -> Array:
    """The band's share above (`side` +1) or below (-1) for the offsets a run draws apart from
    its misses, in quadrature: at a normal quantile, a level's own offset for the whole run
    (`level_sd`) and a rate's per event running (`event_sd`: `running` events' offsets add as
    independent draws); at its own quantile, what the free pages the kernel's per-CPU lists
    will hold move a memory level by (`pcp_tails`: `percpu`; they climb far more than they
    fall, so the two sides differ)."""
    level_sd = float(m.fit.get("level_sd") or 0.0)
    event_sd = float(m.fit.get("event_sd") or 0.0)
    sd: Array = np.sqrt(level_sd**2 + event_sd**2 * np.asarray(running, dtype=np.float64))
    lists = m.fit.get("pcp_tails")
    pcp = 0.0
    if isinstance(lists, Mapping) and lists:
        tail = 0.5 + level / 2.0 if side > 0 else 0.5 - level / 2.0
        pcp = max(0.0, side * _signed_q(lists, tail))
    offset: Array = np.hypot(sd * _normal_q(0.5 + level / 2.0), pcp)
    return offset


GRID_SLACK = 0.05  # of a step: a sample's interval is a few % off nominal, and its tick with it


def on_grid(lo: Array, hi: Array, step: float | None) -> tuple[Array, Array]:
    """A band for a metric measured in whole `step`s (`telemetry.columns.tick_step`): out to
    the steps at or beyond its edges, where a measurement can land (an idle CPU predicted at
    0.7 points is measured 0 or 1 or 2, never 0.2). Unchanged without a step."""
    if not step or step <= 0:
        return lo, hi
    slack = GRID_SLACK * step
    grid_lo: Array = np.floor(lo / step + 1e-9) * step - slack
    grid_hi: Array = np.ceil(hi / step - 1e-9) * step + slack
    return grid_lo, grid_hi


def running_events(t: Array, pulses: Sequence[Pulse], interval_s: float) -> Array:
    """How many stress events run during the interval ending at each sample."""
    count: Array = np.zeros(len(t))
    for p in (p for p in pulses if p.kind in KINDS):
        count += (t > p.start_s) & (t - interval_s < p.end_s)
    return count


def bands(
    m: MetricModel,
    value: Array,
    demand: Array,
    base: float,
    level: float,
    *,
    k: int = 1,
    regime: Array | None = None,
    calibrated: bool = False,
    alternatives: Sequence[Array] = (),
    running: Array | float = 0.0,
) -> tuple[Array, Array]:
    """(lo, hi) around the bounded `value`: its envelope over `k` samples either side (and
    the `alternatives`': the same plan with memory filling slower or faster), widened by the
    level part (each sample's `regime`'s quantiles, where the fit learnt them, never narrower
    than the steady ones: a regime adds its own misses to the steady noise, it does not take
    that noise away), whose scale follows the unbounded `demand`'s effect over the baseline."""
    spread = scale(m, demand - base, calibrated)
    steady_lo, steady_hi = quantiles(m.fit, level)
    q_lo, q_hi = np.full(len(value), steady_lo), np.full(len(value), steady_hi)
    if regime is not None:
        for code, table in REGIME_TABLES.items():
            rows = regime == code
            if code != STEADY and m.fit.get(table) and rows.any():
                own_lo, own_hi = quantiles(m.fit, level, table)
                q_lo[rows], q_hi[rows] = min(own_lo, steady_lo), max(own_hi, steady_hi)
    env_lo, env_hi = envelope(value, k)
    for alt in alternatives:
        alt_lo, alt_hi = envelope(alt, k)
        env_lo, env_hi = np.minimum(env_lo, alt_lo), np.maximum(env_hi, alt_hi)
    lower = -np.inf if m.lower is None else m.lower
    upper = np.inf if m.upper is None else m.upper
    below, above = wander(m, level, running, -1), wander(m, level, running, 1)  # offsets, apart
    lo = np.clip(env_lo - np.hypot(q_lo * spread, below), lower, upper)
    hi = np.clip(env_hi + np.hypot(q_hi * spread, above), lower, upper)
    return np.minimum(lo, value), np.maximum(hi, value)
