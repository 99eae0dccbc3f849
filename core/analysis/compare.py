"""Compare the responses of two runs of the same profile: what changed."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.analysis.result import AnalysisResult

KEY = ["event_id", "metric"]
COMPARED = ("baseline", "level", "change", "peak", "onset_lag_s", "rise_time_s", "recovery_time_s")


@dataclass
class Comparison:
    """`per_event`: one row per event x metric present in both runs; `notes`: caveats."""

    run_a: str
    run_b: str
    per_event: pd.DataFrame
    per_param: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> pd.DataFrame:
        return self.per_event.loc[self.per_event["changed"]]


def compare_results(a: AnalysisResult, b: AnalysisResult) -> Comparison:
    """Join the responses of `a` and `b` on (event_id, metric).

    A response *changed* when its change differs by more than 3 pooled baseline
    standard deviations and by more than 10 % of the larger change, or when it
    is detectable in one run only.
    """
    notes: list[str] = []
    if a.bundle.profile != b.bundle.profile:
        notes.append(
            f"profiles differ ({a.bundle.profile or '?'} vs {b.bundle.profile or '?'}): "
            "events are matched by id"
        )
    ids_a = set(a.bundle.events["event_id"])
    ids_b = set(b.bundle.events["event_id"])
    if ids_a != ids_b:
        notes.append(
            f"events only in {a.bundle.name}: {len(ids_a - ids_b)}, "
            f"only in {b.bundle.name}: {len(ids_b - ids_a)}"
        )
    for res in (a, b):
        if res.quality.problems:
            notes.append(f"{res.bundle.name}: {len(res.quality.problems)} data quality finding(s)")
    cols = [*KEY, "stressor", "params", "detectable", "baseline_std", *COMPARED]
    left = a.responses[cols]
    right = b.responses[[*KEY, "stressor", "params", "detectable", "baseline_std", *COMPARED]]
    merged = left.merge(right, on=KEY, how="inner", suffixes=("_a", "_b"))
    out = merged[KEY].copy()
    out["stressor"] = merged["stressor_a"]
    out["params"] = merged["params_a"]
    out["same_event"] = (merged["stressor_a"] == merged["stressor_b"]) & (
        merged["params_a"] == merged["params_b"]
    )
    for col in COMPARED:
        out[f"{col}_a"] = merged[f"{col}_a"]
        out[f"{col}_b"] = merged[f"{col}_b"]
        out[f"{col}_delta"] = merged[f"{col}_b"] - merged[f"{col}_a"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["change_delta_percent"] = np.where(
            merged["change_a"].abs() > 0,
            out["change_delta"] / merged["change_a"].abs() * 100.0,
            np.nan,
        )
    pooled = np.sqrt(
        merged["baseline_std_a"].fillna(0) ** 2 + merged["baseline_std_b"].fillna(0) ** 2
    )
    bigger = np.maximum(merged["change_a"].abs(), merged["change_b"].abs())
    moved = (out["change_delta"].abs() > 3 * pooled) & (out["change_delta"].abs() > 0.1 * bigger)
    flipped = merged["detectable_a"] != merged["detectable_b"]
    out["detectable_a"] = merged["detectable_a"]
    out["detectable_b"] = merged["detectable_b"]
    out["changed"] = (
        moved.fillna(False) & (merged["detectable_a"] | merged["detectable_b"])
    ) | flipped
    per_param = _per_param(a.aggregate, b.aggregate)
    return Comparison(a.bundle.name, b.bundle.name, out, per_param, notes)


def _per_param(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    key = ["stressor", "params", "param", "metric"]
    merged = a.merge(b, on=key, how="outer", suffixes=("_a", "_b"))
    out = merged[key].copy()
    for col in ("change", "onset_lag_s", "rise_time_s", "recovery_time_s"):
        out[f"{col}_a"] = merged[f"{col}_a"]
        out[f"{col}_b"] = merged[f"{col}_b"]
        out[f"{col}_delta"] = merged[f"{col}_b"] - merged[f"{col}_a"]
    return out
