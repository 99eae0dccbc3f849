"""The linear solve every metric's fit runs many times: least squares with a small ridge on
the event columns, some of whose gains may be known rather than fitted."""

from __future__ import annotations

import math

import numpy as np

from core.model.response import Array

RIDGE = 1e-4


def solve_ridge(
    intercepts: Array, cols: Array, y: Array, known: Array | None = None
) -> tuple[Array, float]:
    """Least squares with a small ridge on the (scaled) event columns: (beta, SSE). Columns
    with a finite `known` gain keep it (their part is taken off `y` first), the rest are fitted."""
    if known is not None and np.isfinite(known).any():
        fixed = np.isfinite(known)
        k = intercepts.shape[1]
        free, sse = solve_ridge(intercepts, cols[:, ~fixed], y - cols[:, fixed] @ known[fixed])
        beta_all = np.empty(k + cols.shape[1])
        beta_all[:k] = free[:k]
        beta_all[k:][~fixed] = free[k:]
        beta_all[k:][fixed] = known[fixed]
        return beta_all, sse
    x = np.hstack([intercepts, cols])
    if cols.shape[1] == 0:
        plain, *_ = np.linalg.lstsq(x, y, rcond=None)
        solution: Array = np.asarray(plain, dtype=np.float64)
        resid0 = y - x @ solution
        return solution, float(resid0 @ resid0)
    scale = np.sqrt((cols**2).mean(axis=0))
    scale[scale == 0] = 1.0
    xs = np.hstack([intercepts, cols / scale])
    k = intercepts.shape[1]
    penalty = np.zeros((cols.shape[1], xs.shape[1]))
    penalty[:, k:] = np.eye(cols.shape[1]) * math.sqrt(RIDGE * len(y))
    yy = np.concatenate([y, np.zeros(cols.shape[1])])
    beta_s, *_ = np.linalg.lstsq(np.vstack([xs, penalty]), yy, rcond=None)
    beta: Array = np.asarray(beta_s, dtype=np.float64).copy()
    beta[k:] = beta[k:] / scale
    resid = y - x @ beta
    return beta, float(resid @ resid)
