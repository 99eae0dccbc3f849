"""Prediction intervals: how far a run may land from the prediction, from what the fit learnt.

Three sources of spread, per metric, stored in the model file's `fit` block:
- `noise_sd`: the noise left after the fit where the model predicts (almost) no effect;
- `effect_sd`: the model's own error, proportional to the size of the predicted effect
  (a gain that is 5 % off is 5 % off at every level): what the residuals of samples under
  load exceed the noise by, per unit of effect;
- `baseline_sd`: how much the idle level drifted between training runs (a new run starts from
  its own idle, which the model cannot know).
The half width at level p is `q(p) x sqrt(noise² + baseline² + (effect_sd x effect)²)`, where
`q(p)` is the p-quantile of the training residuals' |standardized| value (`abs_z`), so heavy
tails widen the band as much as they did in training. Model files from before intervals have
only `rmse` and `baseline_spread`: they are used as the noise and drift, with normal quantiles.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from statistics import NormalDist

import numpy as np

from core.model.response import Array
from core.model.store import MetricModel

DEFAULT_INTERVAL = 0.9
LEVELS = (0.5, 0.8, 0.9, 0.95, 0.99)
NOISE_FLOOR = 0.01  # the noise is at least 10% of the residuals' RMS
QUIET_EFFECT = 0.05  # samples whose effect is under 5% of the largest: the noise alone


def spread_stats(
    resid: Array, effect: Array, baselines: Array
) -> dict[str, float | dict[str, float]]:
    """What `bands` needs of one metric's fit: noise, effect error, drift, residual quantiles."""
    r2 = resid**2
    e2 = effect**2
    loud = np.abs(effect) > QUIET_EFFECT * float(np.max(np.abs(effect), initial=0.0))
    quiet = ~loud
    noise2 = float(np.mean(r2[quiet])) if quiet.any() else float(np.mean(r2))
    noise2 = max(noise2, NOISE_FLOOR * float(np.mean(r2)), 1e-12)  # exact idle (0 B/s) is no law
    effect2 = 0.0
    if loud.any():  # what the loud samples miss beyond the noise, per unit of effect squared
        effect2 = max(0.0, float(np.mean(r2[loud])) - noise2) / float(np.mean(e2[loud]))
    scale = np.sqrt(noise2 + effect2 * e2)
    scale[scale <= 0] = 1.0
    z = np.abs(resid) / scale
    return {
        "noise_sd": math.sqrt(noise2),
        "effect_sd": math.sqrt(effect2),
        "baseline_sd": float(np.std(baselines, ddof=1)) if len(baselines) > 1 else 0.0,
        "abs_z": {f"{p:g}": float(np.quantile(z, p)) for p in LEVELS},
    }


def check_level(level: float) -> float:
    """`level` when it is a central interval's coverage in (0, 1); else ValueError."""
    if not (0.0 < level < 1.0) or not math.isfinite(level):
        raise ValueError(f"an interval is a share between 0 and 1 (e.g. 0.9), not {level:g}")
    return level


def _normal_q(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2.0)


def quantile(fit: Mapping[str, object], level: float) -> float:
    """q(level): the training residuals' |z| quantile, interpolated; normal when not stored."""
    table = fit.get("abs_z")
    if not isinstance(table, Mapping) or not table:
        return _normal_q(level)
    points = sorted((float(p), float(q)) for p, q in table.items())
    ps = [p for p, _ in points]
    qs = [q for _, q in points]
    if ps[0] <= level <= ps[-1]:
        return float(np.interp(level, ps, qs))
    edge = 0 if level < ps[0] else -1  # beyond the table: the normal shape, scaled to its edge
    return qs[edge] * _normal_q(level) / _normal_q(ps[edge])


def half_width(m: MetricModel, effect: Array, level: float) -> Array:
    """The interval's half width per sample for a predicted `effect` (prediction - baseline)."""
    fit = m.fit
    noise = fit.get("noise_sd", fit.get("rmse")) or 0.0
    drift = fit.get("baseline_sd", fit.get("baseline_spread")) or 0.0
    rel = fit.get("effect_sd") or 0.0
    var = float(noise) ** 2 + float(drift) ** 2 + (float(rel) * effect) ** 2
    width: Array = quantile(fit, level) * np.sqrt(var)
    return width


def bands(
    m: MetricModel, value: Array, demand: Array, base: float, level: float
) -> tuple[Array, Array]:
    """(lo, hi) around the bounded `value`, from the unbounded `demand` and the baseline."""
    width = half_width(m, demand - base, level)
    lower = -np.inf if m.lower is None else m.lower
    upper = np.inf if m.upper is None else m.upper
    lo = np.clip(demand - width, lower, upper)
    hi = np.clip(demand + width, lower, upper)
    return np.minimum(lo, value), np.maximum(hi, value)
