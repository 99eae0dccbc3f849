"""Fit a `TwinModel` from recorded runs.

Per metric, a linear model `y = b_run + sum_kinds sum_features gain * X(tau_rise, tau_fall)`,
where `X` sums every event's feature value times its first-order response (see `response`),
placed at the event's *actual* start and end from `annotations.csv`. The gains (and one
baseline per run, since the idle level drifts between runs) come from least squares; the time
constants per (metric, kind) from a grid searched one kind at a time (two sweeps). Samples
where a bounded metric sits at its bound and the model asks for more (CPU saturated at 100%)
are left out of the final fit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

from core.bundle import ANNOTATIONS, DATASET, MANIFEST, SCHEDULE, host_fingerprint, now_utc
from core.errors import BadInput
from core.model.response import (
    KINDS,
    Array,
    BoolArray,
    Pulse,
    event_features,
    event_ramp_s,
    kind_columns,
)
from core.model.store import MetricModel, Term, TwinModel

BASE_METRICS = (
    "cpu_percent",
    "mem_percent",
    "mem_used_bytes",
    "mem_available_bytes",
    "swap_percent",
    "load_1m",
    "disk_read_bytes_per_s",
    "disk_write_bytes_per_s",
    "disk_read_ops_per_s",
    "disk_write_ops_per_s",
    "net_sent_bytes_per_s",
    "net_recv_bytes_per_s",
)
EXTRA_METRIC_RE = re.compile(r"^(psi_\w+_percent|temp_\w+_c)$")
# levels read at the sample instant; everything else is an average over the interval ending there
LEVEL_METRICS = frozenset(
    {"mem_percent", "mem_used_bytes", "mem_available_bytes", "swap_percent", "load_1m"}
)
TAU_GRID = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)
FAST_TAU_GRID = tuple(t for t in TAU_GRID if t <= 30.0)
NEAR_BEST = 0.01
SWEEPS = 2
SECONDARY_MIN_GAIN = 0.05  # a secondary kind must cut the residual sum of squares by 5%
ROBUST_ITERATIONS = 4
HUBER_K = 1.345
RIDGE = 1e-4
MAX_START_LAG_S = 2.0


@dataclass
class TrainingRun:
    """One run directory, reduced to what the fit needs."""

    path: Path
    data: pd.DataFrame
    pulses: list[Pulse]
    interval_s: float
    host: dict[str, Any]
    n_cpus: int
    profile_name: str
    start_lags: list[tuple[str, float]] = field(default_factory=list)

    @property
    def t(self) -> Array:
        values: Array = self.data["elapsed_s"].to_numpy(dtype=float)
        return values


def _float(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def load_training_run(path: Path) -> TrainingRun:
    """Read one run directory; `BadInput` when it is not a run."""
    if not path.is_dir():
        raise BadInput(f"{path}: not a run directory (no such directory)")
    for name in (DATASET, ANNOTATIONS):
        if not (path / name).is_file():
            raise BadInput(f"{path}: not a run directory (no {name})")
    try:
        data = pd.read_csv(path / DATASET, on_bad_lines="skip")
    except (ValueError, OSError) as exc:
        raise BadInput(f"{path}: cannot read {DATASET}: {exc}") from None
    if "elapsed_s" not in data.columns or "cpu_percent" not in data.columns:
        raise BadInput(f"{path}: {DATASET} lacks elapsed_s / cpu_percent")
    data["elapsed_s"] = pd.to_numeric(data["elapsed_s"], errors="coerce")
    data = data.dropna(subset=["elapsed_s"]).reset_index(drop=True)
    manifest: dict[str, Any] = {}
    if (path / MANIFEST).is_file():
        try:
            manifest = json.loads((path / MANIFEST).read_text())
        except ValueError:
            manifest = {}
    schedule: dict[str, Any] = {}
    if (path / SCHEDULE).is_file():
        try:
            schedule = json.loads((path / SCHEDULE).read_text())
        except ValueError:
            schedule = {}
    host = dict(manifest.get("host") or {})
    cores = [c for c in data.columns if re.fullmatch(r"cpu\d+_percent", c)]
    n_cpus = int(host.get("logical_cpus") or len(cores) or 1)
    interval = _float(schedule.get("interval_s")) or _float(manifest.get("interval_s"))
    if interval is None:
        diffs = np.diff(data["elapsed_s"].to_numpy(dtype=float))
        interval = float(np.median(diffs)) if len(diffs) else 1.0
    last_t = float(data["elapsed_s"].max()) if len(data) else 0.0
    pulses: list[Pulse] = []
    lags: list[tuple[str, float]] = []
    try:
        annotations = pd.read_csv(path / ANNOTATIONS, dtype=str, keep_default_na=False)
    except (ValueError, OSError) as exc:
        raise BadInput(f"{path}: cannot read {ANNOTATIONS}: {exc}") from None
    for row in annotations.to_dict("records"):
        kind = str(row.get("stressor", ""))
        start = _float(row.get("start_elapsed_s"))
        if kind not in KINDS or start is None:
            continue
        end = _float(row.get("end_elapsed_s"))
        planned_start = _float(row.get("planned_start_s"))
        planned_end = _float(row.get("planned_end_s"))
        if end is None:  # killed run: assume it ran to plan or to the last sample
            duration = (planned_end - planned_start) if planned_end and planned_start else 0.0
            end = min(start + duration, last_t)
        try:
            params = json.loads(row.get("params") or "{}")
        except ValueError:
            params = {}
        if not isinstance(params, dict):
            params = {}
        if planned_start is not None:
            lags.append((kind, start - planned_start))
        features = event_features(kind, params, n_cpus)
        pulses.append(Pulse(kind, start, end, features, event_ramp_s(kind, params)))
    return TrainingRun(
        path=path,
        data=data,
        pulses=pulses,
        interval_s=float(interval),
        host=host,
        n_cpus=n_cpus,
        profile_name=str(manifest.get("profile_name") or schedule.get("name") or path.name),
        start_lags=lags,
    )


def _metrics(runs: Sequence[TrainingRun]) -> list[str]:
    common = set(runs[0].data.columns)
    for run in runs[1:]:
        common &= set(run.data.columns)
    extra = sorted(c for c in common if EXTRA_METRIC_RE.match(c))
    return [m for m in BASE_METRICS if m in common] + extra


def _bounds(metric: str, ram: float) -> tuple[float | None, float | None]:
    if metric.endswith("_percent"):
        return 0.0, 100.0
    if metric in ("mem_used_bytes", "mem_available_bytes"):
        return 0.0, ram if ram > 0 else None
    if metric.startswith("temp_"):
        return None, None
    return 0.0, None


def _kind_features(runs: Sequence[TrainingRun]) -> dict[str, list[str]]:
    """Per kind seen in training, its feature columns (`on` only when the drive varies)."""
    out: dict[str, list[str]] = {}
    for kind in KINDS:
        pulses = [p for run in runs for p in run.pulses if p.kind == kind]
        if not pulses:
            continue
        names = sorted({name for p in pulses for name in p.features})
        varies = any(
            len({round(p.features[name], 6) for p in pulses if name in p.features}) >= 2
            for name in names
        )
        out[kind] = (["on"] if varies else []) + names
    return out


# Which stressor kinds drive which metrics by construction (metric name prefixes). Other
# pairings are only tried where there is a physical path (every stressor uses CPU; memory can
# push pages to disk) and kept only when they clearly explain the data.
PRIMARY: dict[str, tuple[str, ...]] = {
    "cpu": ("cpu_percent", "load_1m", "psi_cpu", "temp_"),
    "memory": ("mem_", "swap_", "psi_memory"),
    "disk": ("disk_", "psi_io", "load_1m"),
    "network": ("net_",),
}
SECONDARY: dict[str, tuple[str, ...]] = {
    "cpu": (),
    "memory": ("cpu_percent", "load_1m", "psi_cpu", "temp_", "disk_", "psi_io"),
    "disk": ("cpu_percent", "psi_cpu", "temp_"),
    "network": ("cpu_percent", "load_1m", "psi_cpu", "temp_"),
}


def _primary(metric: str, kind: str) -> bool:
    return any(metric.startswith(prefix) for prefix in PRIMARY.get(kind, ()))


def _possible(metric: str, kind: str) -> bool:
    return _primary(metric, kind) or any(
        metric.startswith(prefix) for prefix in SECONDARY.get(kind, ())
    )


class _Design:
    """Response columns for every (kind, taus, averaging), stacked over runs and cached."""

    def __init__(self, runs: Sequence[TrainingRun], features: dict[str, list[str]]) -> None:
        self.runs = runs
        self.features = features
        self._cache: dict[tuple[str, float, float, bool], Array] = {}
        self.n = sum(len(run.data) for run in runs)
        self.run_index = np.concatenate([np.full(len(r.data), i) for i, r in enumerate(runs)])

    def columns(self, kind: str, tau_rise: float, tau_fall: float, average: bool) -> Array:
        key = (kind, tau_rise, tau_fall, average)
        cols = self._cache.get(key)
        if cols is None:
            parts = [
                kind_columns(
                    run.t,
                    [p for p in run.pulses if p.kind == kind],
                    self.features[kind],
                    tau_rise,
                    tau_fall,
                    run.interval_s,
                    average,
                )
                for run in self.runs
            ]
            cols = np.vstack(parts)
            self._cache[key] = cols
        return cols


def _solve(intercepts: Array, cols: Array, y: Array) -> tuple[Array, float]:
    """Least squares with a small ridge on the (scaled) event columns: (beta, SSE)."""
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


def _fit_metric(
    design: _Design, metric: str, bounds: tuple[float | None, float | None]
) -> MetricModel | None:
    y_all = np.concatenate(
        [pd.to_numeric(r.data[metric], errors="coerce").to_numpy(dtype=float) for r in design.runs]
    )
    first = np.concatenate([np.arange(len(r.data)) == 0 for r in design.runs])
    mask = np.isfinite(y_all) & ~first  # the first sample of a run primes the counters
    if mask.sum() < 3:
        return None
    average = metric not in LEVEL_METRICS
    runs_present = sorted(set(design.run_index[mask].tolist()))
    intercepts = np.stack([(design.run_index == i).astype(float) for i in runs_present], axis=1)
    kinds = [k for k in design.features if _possible(metric, k)]
    taus = {k: (1.0, 1.0) for k in kinds}

    def cols_for(current: dict[str, tuple[float, float]]) -> Array:
        blocks = [design.columns(k, *current[k], average) for k in kinds]
        return np.hstack(blocks) if blocks else np.zeros((design.n, 0))

    weights = np.ones(design.n)  # sqrt of robust (Huber) weights: outside load is damped

    def solve(current: dict[str, tuple[float, float]], rows: BoolArray) -> tuple[Array, float]:
        w = weights[rows][:, None]
        return _solve(intercepts[rows] * w, cols_for(current)[rows] * w, y_all[rows] * w[:, 0])

    def search(rows: BoolArray, sweeps: int) -> None:
        for _ in range(sweeps):
            for kind in kinds:
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

    grid = TAU_GRID if metric == "load_1m" or metric.startswith("temp_") else FAST_TAU_GRID
    rows: BoolArray = mask
    lower, upper = bounds
    searchable = bool(kinds) and float(np.nanstd(y_all[mask])) > 0.0
    if searchable:
        search(rows, SWEEPS)
    beta = solve(taus, rows)[0]
    if upper is not None:  # leave out saturated samples the model would push past the bound
        fitted = np.hstack([intercepts, cols_for(taus)]) @ beta
        saturated = mask & (y_all >= upper - 0.5) & (fitted >= y_all - 0.5)
        if saturated.any() and (mask & ~saturated).sum() >= 3:
            rows = mask & ~saturated
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
            err = _solve(intercepts[rows] * w, rest[rows] * w, y_all[rows] * w[:, 0])[1]
            if err <= full * (1.0 + SECONDARY_MIN_GAIN):
                kinds = without
        beta = reweight(rows)
    cols = cols_for(taus)
    k = intercepts.shape[1]
    fitted = np.hstack([intercepts, cols]) @ beta
    if lower is not None or upper is not None:
        fitted = np.clip(fitted, lower, upper)
    resid = (y_all - fitted)[mask]
    y = y_all[mask]
    sst = float(((y - y.mean()) ** 2).sum())
    sse_final = float((resid**2).sum())
    terms: dict[str, Term] = {}
    j = k
    for kind in kinds:
        names = design.features[kind]
        gains = {name: float(beta[j + i]) for i, name in enumerate(names)}
        j += len(names)
        terms[kind] = Term(taus[kind][0], taus[kind][1], gains, _primary(metric, kind))
    return MetricModel(
        baseline=float(np.median(beta[:k])),
        average=average,
        lower=lower,
        upper=upper,
        terms=terms,
        fit={
            "r2": (1.0 - sse_final / sst) if sst > 0 else None,
            "mae": float(np.abs(resid).mean()),
            "rmse": float(math.sqrt(sse_final / len(resid))),
            "n": int(mask.sum()),
            "baseline_spread": float(np.std(beta[:k])),
        },
    )


def fit_runs(paths: Sequence[Path]) -> tuple[TwinModel, list[str]]:
    """Fit a model from run directories; returns the model and notes worth telling the user."""
    if not paths:
        raise BadInput("no run directories given")
    runs = [load_training_run(p) for p in paths]
    notes: list[str] = []
    runs = [r for r in runs if len(r.data) >= 2]
    if not runs:
        raise BadInput("no run has enough samples to learn from")
    host = runs[-1].host
    ids = {str(r.host.get("id", "")) for r in runs}
    if len(ids) > 1:
        notes.append(
            f"the runs come from {len(ids)} different hosts ({', '.join(sorted(ids))}); "
            f"the model is labelled with the newest run's host {host.get('id', '?')}"
        )
    if not any(r.pulses for r in runs):
        notes.append("no run has stress events: only baselines are learnt")
    ram = float(host.get("ram_bytes") or 0.0)
    if not ram:
        ram = float(
            np.nanmax([r.data.get("mem_total_bytes", pd.Series([0.0])).max() for r in runs])
        )
    features = _kind_features(runs)
    design = _Design(runs, features)
    metrics: dict[str, MetricModel] = {}
    for metric in _metrics(runs):
        fitted = _fit_metric(design, metric, _bounds(metric, ram))
        if fitted is not None:
            metrics[metric] = fitted
    lags: dict[str, list[float]] = {}
    for run in runs:
        for kind, lag in run.start_lags:
            lags.setdefault(kind, []).append(lag)
    kinds_info = {
        kind: {
            "features": names,
            "events": sum(1 for r in runs for p in r.pulses if p.kind == kind),
            "feature_max": {
                name: max(
                    (p.features.get(name, 0.0) for r in runs for p in r.pulses if p.kind == kind),
                    default=0.0,
                )
                for name in names
                if name != "on"
            },
        }
        for kind, names in features.items()
    }
    swap = 0.0
    if str(host.get("id", "")) == host_fingerprint()["id"]:
        swap = float(psutil.swap_memory().total)
    model = TwinModel(
        host=host,
        n_cpus=runs[-1].n_cpus,
        ram_bytes=ram,
        swap_bytes=swap,
        metrics=metrics,
        kinds=kinds_info,
        start_lag_s={
            k: float(np.clip(np.mean(v), 0.0, MAX_START_LAG_S)) for k, v in lags.items() if v
        },
        training_runs=[
            {
                "run_id": r.path.name,
                "path": str(r.path),
                "profile_name": r.profile_name,
                "host_id": str(r.host.get("id", "")),
                "samples": len(r.data),
                "events": len(r.pulses),
                "interval_s": r.interval_s,
            }
            for r in runs
        ],
        interval_s=float(np.median([r.interval_s for r in runs])),
        created_at=now_utc().isoformat(timespec="seconds").replace("+00:00", "Z"),
    )
    return model, notes
