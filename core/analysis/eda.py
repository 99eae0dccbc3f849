"""Exploratory statistics: summary table, correlation matrix, strongest pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.rundir.read import RunBundle
from core.telemetry import metric_lists


def summary_stats(bundle: RunBundle) -> pd.DataFrame:
    """count, missing, mean, std, min, quartiles, p95, max per numeric column."""
    cols = bundle.metric_columns
    data = bundle.dataset[cols]
    if data.empty:
        return pd.DataFrame(columns=["metric", "count", "missing", "mean", "std", "min", "max"])
    arr = data.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        out = pd.DataFrame(
            {
                "metric": cols,
                "count": np.isfinite(arr).sum(axis=0),
                "missing": np.isnan(arr).sum(axis=0),
                "mean": np.nanmean(arr, axis=0),
                "std": np.nanstd(arr, axis=0, ddof=1) if len(arr) > 1 else np.nan,
                "min": np.nanmin(arr, axis=0),
                "p25": np.nanpercentile(arr, 25, axis=0),
                "p50": np.nanpercentile(arr, 50, axis=0),
                "p75": np.nanpercentile(arr, 75, axis=0),
                "p95": np.nanpercentile(arr, 95, axis=0),
                "max": np.nanmax(arr, axis=0),
            }
        )
    return out


def correlation_columns(bundle: RunBundle) -> list[str]:
    """Metric columns worth correlating: no per-core CPU, no bookkeeping, not constant."""
    data = bundle.dataset
    keep = [
        c
        for c in bundle.metric_columns
        if not metric_lists.CPU_CORE.match(c) and c not in metric_lists.SAMPLING_COLUMNS
    ]
    if not keep or len(data) < 3:
        return []
    std = data[keep].std(skipna=True)
    scale = data[keep].abs().mean(skipna=True).clip(lower=1.0)
    varies = std > 1e-9 * scale
    return [c for c in keep if np.isfinite(std[c]) and bool(varies[c])]


def correlation(bundle: RunBundle) -> pd.DataFrame:
    """Pearson correlation of the non-constant metrics (square frame, metric names)."""
    cols = correlation_columns(bundle)
    if len(cols) < 2:
        return pd.DataFrame(index=pd.Index(cols), columns=pd.Index(cols), dtype=float)
    arr = bundle.dataset[cols].to_numpy(dtype=float)
    if np.isnan(arr).any():
        return bundle.dataset[cols].corr()
    return pd.DataFrame(np.corrcoef(arr, rowvar=False), index=cols, columns=cols)


_SAME_QUANTITY = {
    frozenset({"mem_used_bytes", "mem_available_bytes"}),
    frozenset({"mem_used_bytes", "mem_percent"}),
    frozenset({"mem_available_bytes", "mem_percent"}),
}


def strongest_pairs(corr: pd.DataFrame, top: int = 6) -> pd.DataFrame:
    """The `top` metric pairs with the largest |r|, leaving out pairs that are one quantity."""
    if corr.shape[0] < 2:
        return pd.DataFrame(columns=["a", "b", "r"])
    vals = corr.to_numpy()
    rows, cols = np.triu_indices(len(corr), k=1)
    r = vals[rows, cols]
    names = corr.index.to_numpy()
    pairs = pd.DataFrame({"a": names[rows], "b": names[cols], "r": r})
    pairs = pairs.loc[pairs["r"].notna()]
    same = [
        frozenset({a, b}) in _SAME_QUANTITY for a, b in zip(pairs["a"], pairs["b"], strict=True)
    ]
    pairs = pairs.loc[~np.array(same, dtype=bool)]
    order = pairs["r"].abs().sort_values(ascending=False).index
    return pairs.loc[order].head(top).reset_index(drop=True)
