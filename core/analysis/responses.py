"""Event-aligned responses: what each event did to each metric of interest.

All measures are on the run clock (`elapsed_s`). A sample at `t` describes the
interval ending at `t`, so the samples of an event are those with
`start < t <= end`. Definitions (also in the README):

- baseline: mean of the last `baseline_window_s` worth of *quiet* samples
  before the event (no event active, and not the sample straddling an event's
  end); `baseline_std` is their standard deviation. Fewer than
  `min_baseline_samples` quiet samples: every measure is empty.
- level: mean of the second half of the event (its steady part).
- change: level - baseline. It is *detectable* when |change| exceeds the noise
  threshold `max(k_sigma * baseline_std, tiny)`.
- peak: the most extreme sample during the event in the direction of the change.
- onset_lag_s: first sample during the event beyond the threshold in the
  direction of the change, minus the event start (resolution: one sample).
- rise_time_s: time from 10 % to 90 % of the change (crossings interpolated
  linearly between samples).
- recovery_time_s: from the event end to the first sample back within
  `max(threshold, recovery_fraction * |change|)` of baseline that stays there
  for `recovery_hold` samples; searched until the next event starts or
  `max_recovery_s`.

Unmeasurable values are NaN (an empty CSV cell), never guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.rundir.read import RunBundle
from core.telemetry import metric_lists

MEASURES = (
    "baseline",
    "baseline_std",
    "level",
    "change",
    "change_percent",
    "peak",
    "onset_lag_s",
    "rise_time_s",
    "recovery_time_s",
)
RESPONSE_COLUMNS = [
    "event_id",
    "stressor",
    "label",
    "params",
    "status",
    "metric",
    *MEASURES,
    "detectable",
    "n_baseline",
    "n_event",
]


@dataclass(frozen=True)
class ResponseSettings:
    """Knobs of the response measures (defaults documented in the README)."""

    baseline_window_s: float = 10.0
    min_baseline_samples: int = 3
    k_sigma: float = 3.0
    recovery_fraction: float = 0.1
    recovery_hold: int = 2
    max_recovery_s: float = 300.0


def metrics_of_interest(columns: list[str] | pd.Index) -> list[str]:
    """The data dictionary's `RESPONSE_METRICS` present, then its `RESPONSE_FAMILIES` columns."""
    return metric_lists.pick(columns, metric_lists.RESPONSE_METRICS, metric_lists.RESPONSE_FAMILIES)


def quiet_mask(t: np.ndarray, events: pd.DataFrame, interval_s: float) -> np.ndarray:
    """True where no event is active (nor the sample straddling an event's end)."""
    marks = np.zeros(len(t) + 1, dtype=np.int64)
    started = events.loc[events["start_s"].notna()]
    starts = np.searchsorted(t, started["start_s"].to_numpy(), side="right")
    ends = np.searchsorted(t, started["end_s"].to_numpy() + interval_s, side="left")
    np.add.at(marks, starts, 1)
    np.add.at(marks, np.maximum(ends, starts), -1)
    return np.asarray(np.cumsum(marks[:-1]) == 0)


def _first_true(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: (index of the first True, whether there is one)."""
    if mask.shape[0] == 0:
        zeros = np.zeros(mask.shape[1], dtype=np.int64)
        return zeros, zeros.astype(bool)
    return np.asarray(mask.argmax(axis=0)), np.asarray(mask.any(axis=0))


def _crossing(
    frac: np.ndarray, t: np.ndarray, start_row: np.ndarray, level: float, lo: int
) -> np.ndarray:
    """Interpolated time at which each column of `frac` first reaches `level` at a row >= start_row.

    Rows before `lo` only serve as the left point of the interpolation.
    """
    rows = np.arange(frac.shape[0])[:, None]
    hit = (frac >= level) & (rows >= np.maximum(start_row, lo)[None, :])
    first, has = _first_true(hit)
    cols = np.arange(frac.shape[1])
    out = np.full(frac.shape[1], np.nan)
    t_hit = t[first]
    prev = np.maximum(first - 1, 0)
    f_prev = frac[prev, cols]
    f_hit = frac[first, cols]
    can = has & (first > 0) & (f_hit > f_prev) & np.isfinite(f_prev)
    with np.errstate(invalid="ignore", divide="ignore"):
        interp = t[prev] + (level - f_prev) / (f_hit - f_prev) * (t_hit - t[prev])
    out[has] = t_hit[has]
    out[can] = interp[can]
    return out


def compute_responses(
    bundle: RunBundle,
    metrics: list[str] | None = None,
    settings: ResponseSettings | None = None,
) -> pd.DataFrame:
    """One row per event x metric (`RESPONSE_COLUMNS`); NaN where unmeasurable."""
    cfg = settings or ResponseSettings()
    data = bundle.dataset
    events = bundle.events
    metrics = metrics if metrics is not None else metrics_of_interest(data.columns)
    if events.empty or not metrics:
        return pd.DataFrame(columns=RESPONSE_COLUMNS)
    t = data["elapsed_s"].to_numpy(dtype=float)
    x = data[metrics].to_numpy(dtype=float)
    interval = bundle.interval_s
    quiet_idx = np.flatnonzero(quiet_mask(t, events, interval))
    n_base = max(cfg.min_baseline_samples, round(cfg.baseline_window_s / interval))
    starts_all = np.sort(events["start_s"].dropna().to_numpy())
    m = len(metrics)
    blocks: list[dict[str, np.ndarray]] = []
    starts = events["start_s"].to_numpy(dtype=float)
    ends = events["end_s"].to_numpy(dtype=float)
    end_known = events["end_known"].to_numpy(dtype=bool)
    for start, end, known in zip(starts, ends, end_known, strict=True):
        res = {k: np.full(m, np.nan) for k in MEASURES}
        res["detectable"] = np.zeros(m, dtype=bool)
        res["n_baseline"] = np.zeros(m)
        res["n_event"] = np.zeros(m)
        blocks.append(res)
        if not (np.isfinite(start) and np.isfinite(end)) or len(t) == 0:
            continue
        i0 = int(np.searchsorted(t, start, side="right"))
        i1 = int(np.searchsorted(t, end, side="right"))
        pos = int(np.searchsorted(quiet_idx, i0))
        base_rows = quiet_idx[max(0, pos - n_base) : pos]
        res["n_event"][:] = i1 - i0
        res["n_baseline"][:] = len(base_rows)
        if len(base_rows) < cfg.min_baseline_samples or i1 <= i0:
            continue
        base = x[base_rows]
        baseline = np.nanmean(base, axis=0)
        std = np.nanstd(base, axis=0, ddof=1)
        window = x[i0:i1]
        j = min(int(np.searchsorted(t, start + (end - start) / 2.0, side="right")), i1 - 1)
        level = np.nanmean(x[j:i1], axis=0)
        change = level - baseline
        sign = np.where(change < 0, -1.0, 1.0)
        thr = np.maximum(cfg.k_sigma * np.nan_to_num(std), 1e-9 * np.maximum(1.0, np.abs(baseline)))
        detectable = np.abs(change) > thr
        dev = (window - baseline) * sign
        res["baseline"], res["baseline_std"], res["level"] = baseline, std, level
        res["change"] = change
        with np.errstate(invalid="ignore", divide="ignore"):
            res["change_percent"] = np.where(
                np.abs(baseline) > 0, change / np.abs(baseline) * 100.0, np.nan
            )
        res["peak"] = baseline + sign * np.nanmax(np.where(np.isnan(dev), -np.inf, dev), axis=0)
        res["detectable"] = detectable
        first, has = _first_true(dev > thr)
        res["onset_lag_s"] = np.where(has & detectable, t[i0 + first] - start, np.nan)
        # rise: interpolate with the sample before the event as the left point
        lo = 1 if i0 > 0 else 0
        ext_t = t[i0 - lo : i1]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = (x[i0 - lo : i1] - baseline) * sign / np.abs(change)
        frac = np.where(np.isnan(frac), -np.inf, frac)
        zero = np.zeros(m, dtype=np.int64)
        t10 = _crossing(frac, ext_t, zero, 0.1, lo)
        row10 = np.searchsorted(ext_t, np.nan_to_num(t10, nan=np.inf), side="left")
        t90 = _crossing(frac, ext_t, row10.astype(np.int64), 0.9, lo)
        res["rise_time_s"] = np.where(detectable, t90 - t10, np.nan)
        # recovery: after the end, until the next event starts
        if not known:
            continue
        later = starts_all[starts_all >= end]
        limit = min(end + cfg.max_recovery_s, float(later[0]) if len(later) else np.inf)
        k0 = int(np.searchsorted(t, end, side="right"))
        k1 = int(np.searchsorted(t, limit, side="right"))
        hold = max(1, cfg.recovery_hold)
        if k1 - k0 < 1:
            continue
        tol = np.maximum(thr, cfg.recovery_fraction * np.abs(change))
        within = np.abs(x[k0:k1] - baseline) <= tol
        csum = np.vstack([np.zeros((1, m)), np.cumsum(within, axis=0)])
        span = min(hold, k1 - k0)
        back = (csum[span:] - csum[:-span]) >= span
        first_back, found = _first_true(back)
        res["recovery_time_s"] = np.where(found & detectable, t[k0 + first_back] - end, np.nan)
    return _assemble(events, metrics, blocks)


def _assemble(
    events: pd.DataFrame, metrics: list[str], blocks: list[dict[str, np.ndarray]]
) -> pd.DataFrame:
    m = len(metrics)
    n = len(blocks)
    frame = pd.DataFrame(
        {
            "event_id": np.repeat(events["event_id"].to_numpy(), m),
            "stressor": np.repeat(events["stressor"].to_numpy(), m),
            "label": np.repeat(events["label"].to_numpy(), m),
            "params": np.repeat(events["params"].to_numpy(), m),
            "status": np.repeat(events["status"].to_numpy(), m),
            "metric": np.tile(np.array(metrics, dtype=object), n),
        }
    )
    for key in (*MEASURES, "detectable", "n_baseline", "n_event"):
        frame[key] = np.concatenate([b[key] for b in blocks]) if blocks else []
    frame["detectable"] = frame["detectable"].astype(bool)
    frame["n_baseline"] = frame["n_baseline"].astype(int)
    frame["n_event"] = frame["n_event"].astype(int)
    return frame[RESPONSE_COLUMNS]


def param_text(params: str) -> str:
    """`{"load_percent": 50}` -> `load_percent=50` (for tables)."""
    try:
        data = json.loads(params)
    except ValueError:
        return params
    if not isinstance(data, dict):
        return params
    return ", ".join(f"{k}={v}" for k, v in sorted(data.items())) or "-"


def aggregate_responses(responses: pd.DataFrame) -> pd.DataFrame:
    """Mean response per stressor x parameter value x metric (e.g. CPU load 25/50/75 %)."""
    cols = ["stressor", "params", "metric"]
    if responses.empty:
        return pd.DataFrame(
            columns=[
                *cols,
                "events",
                "detected",
                "baseline",
                "level",
                "change",
                "change_std",
                "peak",
                "onset_lag_s",
                "rise_time_s",
                "recovery_time_s",
            ]
        )
    grouped = responses.groupby(cols, sort=True, dropna=False)
    agg = grouped.agg(
        events=("event_id", "nunique"),
        detected=("detectable", "sum"),
        baseline=("baseline", "mean"),
        level=("level", "mean"),
        change=("change", "mean"),
        change_std=("change", "std"),
        peak=("peak", "mean"),
        onset_lag_s=("onset_lag_s", "mean"),
        rise_time_s=("rise_time_s", "mean"),
        recovery_time_s=("recovery_time_s", "mean"),
    ).reset_index()
    agg["detected"] = agg["detected"].astype(int)
    agg.insert(2, "param", agg["params"].map(param_text))
    return agg
