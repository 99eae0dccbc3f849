"""Twin fidelity: how far a prediction of a run was from what was measured.

Hook for the predictive twin (issue 7): when `RUN_DIR/prediction.csv` exists
(`elapsed_s` plus metric columns named as in the dataset), `twin analyze`
scores it and puts the table in the report. When the prediction carries an interval
(`<metric>_lo`, `<metric>_hi`, as `twin predict` writes), `coverage` is the share of measured
samples inside it and `mean_width` its mean width (empty without an interval).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FIDELITY_COLUMNS = [
    "metric",
    "n",
    "mae",
    "bias",
    "rmse",
    "max_abs_error",
    "max_error_at_s",
    "worst_window_start_s",
    "worst_window_end_s",
    "worst_window_mae",
    "coverage",
    "mean_width",
]


def _interval_scores(
    pred: pd.DataFrame, metric: str, pt: np.ndarray, t: np.ndarray, y: np.ndarray, ok: np.ndarray
) -> dict[str, float]:
    """Coverage (share of measured samples inside `[lo, hi]`) and mean width; NaN without."""
    lo_name, hi_name = f"{metric}_lo", f"{metric}_hi"
    if lo_name not in pred.columns or hi_name not in pred.columns:
        return {"coverage": float("nan"), "mean_width": float("nan")}
    lo_v = pd.to_numeric(pred[lo_name], errors="coerce").to_numpy(dtype=float)
    hi_v = pd.to_numeric(pred[hi_name], errors="coerce").to_numpy(dtype=float)
    good = np.isfinite(lo_v) & np.isfinite(hi_v)
    if not good.any():
        return {"coverage": float("nan"), "mean_width": float("nan")}
    lo = np.interp(t[ok], pt[good], lo_v[good])
    hi = np.interp(t[ok], pt[good], hi_v[good])
    inside = (y[ok] >= lo) & (y[ok] <= hi)
    return {"coverage": float(inside.mean()), "mean_width": float((hi - lo).mean())}


def score_prediction(
    dataset: pd.DataFrame, prediction: pd.DataFrame, window_s: float = 60.0
) -> pd.DataFrame:
    """MAE, bias (predicted - measured), RMSE and where they diverged, per metric.

    The prediction is interpolated linearly onto the dataset's `elapsed_s`
    (only inside the predicted time range). `worst_window_*` is the
    `window_s`-long stretch with the largest mean absolute error.
    """
    rows: list[dict[str, float | str | int]] = []
    if "elapsed_s" not in prediction.columns or "elapsed_s" not in dataset.columns:
        return pd.DataFrame(columns=FIDELITY_COLUMNS)
    pred = prediction.dropna(subset=["elapsed_s"]).sort_values("elapsed_s")
    pt = pred["elapsed_s"].to_numpy(dtype=float)
    t = dataset["elapsed_s"].to_numpy(dtype=float)
    inside = (t >= pt.min()) & (t <= pt.max()) if len(pt) else np.zeros(len(t), dtype=bool)
    step = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    width = max(1, round(window_s / step)) if step > 0 else 1
    for metric in pred.columns:
        if metric == "elapsed_s" or metric not in dataset.columns:
            continue
        measured = pd.to_numeric(dataset[metric], errors="coerce").to_numpy(dtype=float)
        pv = pd.to_numeric(pred[metric], errors="coerce").to_numpy(dtype=float)
        okp = np.isfinite(pv)
        if okp.sum() < 1:
            continue
        est = np.interp(t, pt[okp], pv[okp])
        err = np.where(inside, est - measured, np.nan)
        ok = np.isfinite(err)
        if not ok.any():
            continue
        e = err[ok]
        worst = int(np.nanargmax(np.abs(err)))
        roll = pd.Series(np.abs(err)).rolling(width, min_periods=max(1, width // 2)).mean()
        end_i = int(roll.fillna(-1.0).to_numpy().argmax())
        start_i = max(0, end_i - width + 1)
        rows.append(
            {
                "metric": metric,
                "n": int(ok.sum()),
                "mae": float(np.abs(e).mean()),
                "bias": float(e.mean()),
                "rmse": float(np.sqrt((e**2).mean())),
                "max_abs_error": float(np.abs(e).max()),
                "max_error_at_s": float(t[worst]),
                "worst_window_start_s": float(t[start_i]),
                "worst_window_end_s": float(t[end_i]),
                "worst_window_mae": float(roll.iloc[end_i]),
                **_interval_scores(pred, metric, pt, t, measured, ok),
            }
        )
    return pd.DataFrame(rows, columns=FIDELITY_COLUMNS)
