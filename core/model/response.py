"""What a stress event does to a metric: its drive features and its first-order response shape.

An event of stressor kind `k` contributes `sum_f gain[f] * feature[f] * r(t)` to a metric, where
`r(t)` in [0, 1] is the event's on/off input (ramped when the event ramps, e.g. memory `ramp_s`)
passed through a first-order lag: `tau_rise_s` while the event runs, `tau_fall_s` after it ends.
Overlapping events add up. Values that the dataset reports as an average over the interval
ending at a sample (rates, percentages) are averaged the same way here (`average=True`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from core.shapes import LEVEL_PARAMS, is_shape, parse_shape, peak_level
from core.stressors.params import KINDS as KINDS  # the stressor table's kinds, for fit.py
from core.stressors.params import default as param_default

Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

SUBSTEPS = 4  # points per interval when averaging a response over the interval ending at t


def _param(kind: str, params: Mapping[str, Any], name: str) -> Any:
    """The event's value, else the stressor table's default; a shaped level at its peak."""
    value = params.get(name)
    return param_default(kind, name) if value is None else peak_level(value)


SHAPE_POINTS = 120  # levels per shaped event the input follows


def event_levels(kind: str, params: Mapping[str, Any], duration_s: float) -> tuple[float, ...]:
    """A shaped event's input over its length as fractions of its peak (equal steps); () when
    its level is constant. The features are at the peak, so the drive follows the shape."""
    value = params.get(LEVEL_PARAMS.get(kind, ""))
    if not is_shape(value):
        return ()
    shape = parse_shape(value)
    peak = shape.peak()
    if peak <= 0:
        return ()
    return tuple(v / peak for v in shape.sample(duration_s, SHAPE_POINTS))


def _num(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def event_features(kind: str, params: Mapping[str, Any], n_cpus: int) -> dict[str, float]:
    """The drive features of one event: what its steady-state effect is linear in.

    - cpu: `drive` = load_percent/100 x workers / n_cpus (the share of the machine asked for);
    - memory: `size_mb`;
    - disk: `<mode>_rate_mb_s` when capped, `<mode>_uncapped` (1) when not;
    - network: `rate_mbit_s` when capped, `uncapped` (1) when not.
    """
    if kind == "cpu":
        load = _num(_param(kind, params, "load_percent"), 100.0)
        workers = _num(_param(kind, params, "workers"), float(n_cpus))
        if str(params.get("target", "self")) == "system":
            workers = float(n_cpus)
        return {"drive": load / 100.0 * workers / max(1, n_cpus)}
    if kind == "memory":
        return {"size_mb": _num(_param(kind, params, "size_mb"), 256.0)}
    if kind == "disk":
        mode = str(_param(kind, params, "mode"))
        rate = params.get("rate_mb_s")
        if rate is None:
            return {f"{mode}_uncapped": 1.0}
        return {f"{mode}_rate_mb_s": _num(rate)}
    if kind == "network":
        rate = params.get("rate_mbit_s")
        if rate is None:
            return {"uncapped": 1.0}
        return {"rate_mbit_s": _num(rate)}
    return {}


def event_ramp_s(kind: str, params: Mapping[str, Any]) -> float:
    """Seconds the event's input takes to reach full strength (memory `ramp_s`)."""
    if kind == "memory":
        return max(0.0, _num(_param(kind, params, "ramp_s")))
    return 0.0


@dataclass(frozen=True)
class Pulse:
    """One event as the model sees it: when it ran on the run clock, and its features."""

    kind: str
    start_s: float
    end_s: float
    features: dict[str, float]
    ramp_s: float = 0.0
    levels: tuple[float, ...] = ()
    """A shaped event's input (`event_levels`); empty: on/off (ramped over `ramp_s`)."""


def _rise(x: Array, tau: float, ramp: float) -> Array:
    """Response to an input that ramps from 0 to 1 over `ramp` s then stays, after `x` s."""
    x = np.maximum(x, 0.0)
    if ramp <= 0.0:
        if tau <= 0.0:
            return np.ones_like(x)
        out: Array = -np.expm1(-x / tau)
        return out
    if tau <= 0.0:
        ramped: Array = np.minimum(x / ramp, 1.0)
        return ramped
    inside = (x + tau * np.expm1(-np.minimum(x, ramp) / tau)) / ramp
    after = 1.0 - (tau / ramp) * (-np.expm1(-ramp / tau)) * np.exp(-np.maximum(x - ramp, 0.0) / tau)
    result: Array = np.where(x <= ramp, inside, after)
    return result


def pulse_response(t: Array, pulse: Pulse, tau_rise: float, tau_fall: float) -> Array:
    """r(t) of one pulse at times `t`: 0 before it, rising while it runs, decaying after."""
    duration = max(0.0, pulse.end_s - pulse.start_s)
    out = np.zeros_like(t)
    if duration <= 0.0:
        return out
    x = t - pulse.start_s
    if pulse.levels:
        return _shaped_response(x, duration, pulse.levels, tau_rise, tau_fall)
    during = (x >= 0.0) & (x < duration)
    out[during] = _rise(x[during], tau_rise, pulse.ramp_s)
    after = x >= duration
    if after.any():
        peak = float(_rise(np.array([duration]), tau_rise, pulse.ramp_s)[0])
        if tau_fall > 0.0:
            out[after] = peak * np.exp(-(x[after] - duration) / tau_fall)
    return out


def _shaped_response(
    x: Array, duration: float, levels: Sequence[float], tau_rise: float, tau_fall: float
) -> Array:
    """The lag's response to a piecewise-constant input `levels` over the event, then decay."""
    n = len(levels)
    dt = duration / n
    u = np.asarray(levels, dtype=float)
    decay = np.exp(-dt / tau_rise) if tau_rise > 0 else 0.0
    state = np.zeros(n + 1)  # the response at each step's start, and at the end
    for i in range(n):
        state[i + 1] = u[i] + (state[i] - u[i]) * decay
    out = np.zeros_like(x)
    during = (x >= 0.0) & (x < duration)
    if during.any():
        xi = x[during]
        k = np.minimum((xi / dt).astype(int), n - 1)
        frac = xi - k * dt
        into = np.exp(-frac / tau_rise) if tau_rise > 0 else np.zeros_like(frac)
        out[during] = u[k] + (state[k] - u[k]) * into
    after = x >= duration
    if after.any() and tau_fall > 0.0:
        out[after] = state[n] * np.exp(-(x[after] - duration) / tau_fall)
    return out


def sample_times(t: Array, interval_s: float, average: bool) -> tuple[Array, int]:
    """The points at which to evaluate responses (sub-steps of each interval when averaging)."""
    if not average or interval_s <= 0.0:
        return t, 1
    offsets = interval_s * (np.arange(SUBSTEPS) + 0.5) / SUBSTEPS
    return (t[:, None] - offsets[None, :]).ravel(), SUBSTEPS


def kind_columns(
    t: Array,
    pulses: Sequence[Pulse],
    features: Sequence[str],
    tau_rise: float,
    tau_fall: float,
    interval_s: float,
    average: bool,
) -> Array:
    """Design columns (len(t) x len(features)) of all pulses of one kind at given taus."""
    points, sub = sample_times(t, interval_s, average)
    cols = np.zeros((len(t), len(features)))
    for pulse in pulses:
        r = pulse_response(points, pulse, tau_rise, tau_fall)
        if sub > 1:
            r = r.reshape(len(t), sub).mean(axis=1)
        for j, name in enumerate(features):
            value = 1.0 if name == "on" else pulse.features.get(name, 0.0)
            if value:
                cols[:, j] += value * r
    return cols
