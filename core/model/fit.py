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

from core.errors import BadInput
from core.host import host_fingerprint
from core.model.design import Design
from core.model.fills import FILL_SPREAD, MEMORY_FILL, learn_fill_profile
from core.model.metric_fit import fit_metric, metric_bounds
from core.model.percpu import read_training, steadied, tails
from core.model.response import KINDS, Array, Pulse, event_features, event_levels, event_ramp_s
from core.model.session import BOOT, FOOTPRINT, SESSION, with_session
from core.model.store import MetricModel, TwinModel
from core.model.transients import (
    MEMORY_RESIDUE,
    TRANSIENT_KINDS,
    learn_release_profile,
    with_transients,
)
from core.rundir.layout import ANNOTATIONS, DATASET
from core.rundir.read import load_run
from core.telemetry import metric_lists
from core.telemetry.logger import now_utc

MAX_START_LAG_S = 2.0
# kinds whose effect is their feature alone (no `on` step): a residue's MiB, a fill's cores at
# work (none filling, none burnt; with an `on` step two training fill paces split the effect
# arbitrarily, -476 + 3018 points per core on one recording)
DRIVE_ONLY = (MEMORY_RESIDUE, MEMORY_FILL)


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
    end_lags: list[tuple[str, float]] = field(default_factory=list)

    @property
    def t(self) -> Array:
        values: Array = self.data["elapsed_s"].to_numpy(dtype=float)
        return values


def load_training_run(path: Path) -> TrainingRun:
    """One run directory through the run reader (`core.rundir.read.load_run`); `BadInput` when
    it is not a run, or a run without annotations or CPU column to learn from."""
    if not path.is_dir():
        what = "a file, not a directory" if path.exists() else "no such directory"
        raise BadInput(f"{path}: not a run directory ({what})")
    for name in (DATASET, ANNOTATIONS):
        if not (path / name).is_file():
            raise BadInput(f"{path}: not a run directory (no {name})")
    bundle = load_run(path)
    data = bundle.dataset
    if "cpu_percent" not in data.columns:
        raise BadInput(f"{path}: {DATASET} lacks cpu_percent")
    host = dict(bundle.manifest.get("host") or {})
    cores = [c for c in data.columns if re.fullmatch(r"cpu\d+_percent", c)]
    n_cpus = int(host.get("logical_cpus") or len(cores) or 1)
    pulses: list[Pulse] = []
    lags: list[tuple[str, float]] = []
    end_lags: list[tuple[str, float]] = []
    started = bundle.events[bundle.events["start_s"].notna()]
    for row in started.to_dict("records"):
        kind = str(row["stressor"])
        if kind not in KINDS:
            continue
        try:
            params = json.loads(row["params"] or "{}")
        except ValueError:
            params = {}
        if not isinstance(params, dict):
            params = {}
        start, end = float(row["start_s"]), float(row["end_s"])  # end: assumed if never recorded
        if math.isfinite(row["planned_start_s"]):
            lags.append((kind, start - float(row["planned_start_s"])))
        if (
            row["end_known"]
            and row["status"] == "completed"
            and math.isfinite(row["planned_end_s"])
        ):
            end_lags.append((kind, end - float(row["planned_end_s"])))  # the stop's own time
        features = event_features(kind, params, n_cpus)
        levels = event_levels(kind, params, end - start)  # a shaped event's input
        pulses.append(Pulse(kind, start, end, features, event_ramp_s(kind, params), levels))
    return TrainingRun(
        path=path,
        data=data,
        pulses=pulses,
        interval_s=bundle.interval_s,
        host=host,
        n_cpus=n_cpus,
        profile_name=bundle.profile or path.name,
        start_lags=lags,
        end_lags=end_lags,
    )


def _metrics(runs: Sequence[TrainingRun]) -> list[str]:
    common = set(runs[0].data.columns)
    for run in runs[1:]:
        common &= set(run.data.columns)
    extra = sorted(metric_lists.family_columns(common, metric_lists.MODEL_FAMILIES))
    return [m for m in metric_lists.HEADLINE_METRICS if m in common] + extra


def _kind_features(runs: Sequence[TrainingRun]) -> dict[str, list[str]]:
    """Per kind seen in training, its feature columns (`on` only when the drive varies)."""
    out: dict[str, list[str]] = {}
    for kind in (*KINDS, *TRANSIENT_KINDS, SESSION, FOOTPRINT, BOOT):
        pulses = [p for run in runs for p in run.pulses if p.kind == kind]
        if not pulses:
            continue
        names = sorted({name for p in pulses for name in p.features})
        varies = any(
            len({round(p.features[name], 6) for p in pulses if name in p.features}) >= 2
            for name in names
        )
        out[kind] = (["on"] if varies and kind not in DRIVE_ONLY else []) + names
    return out


def _kind_info(runs: Sequence[TrainingRun], kind: str, names: list[str]) -> dict[str, Any]:
    """What the model file keeps of a kind: its features, events and training range per feature
    (`feature_min`/`feature_max`: predictions beyond them are extrapolations and warn)."""
    values = {
        name: [
            p.features[name]
            for r in runs
            for p in r.pulses
            if p.kind == kind and name in p.features
        ]
        for name in names
        if name != "on"
    }
    return {
        "features": names,
        "events": sum(1 for r in runs for p in r.pulses if p.kind == kind),
        "feature_max": {name: max(v, default=0.0) for name, v in values.items()},
        "feature_min": {name: min(v, default=0.0) for name, v in values.items()},
    }


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
    # the per-CPU free lists: the count the levels are learnt at, how they move, the rest
    learnt_lists = read_training([(r.data, r.pulses, r.interval_s) for r in runs])
    pcp_ref, lists_profile, lists_deviation = learnt_lists or (None, None, None)
    if pcp_ref is not None:
        for run in runs:
            run.data = steadied(run.data, pcp_ref, ram)
    fill = learn_fill_profile((r.data, r.pulses, r.n_cpus) for r in runs)
    release = learn_release_profile((r.data, r.pulses, r.interval_s) for r in runs)
    for run in runs:
        pulses = with_transients(run.pulses, fill, run.n_cpus, release)
        run.pulses = with_session(pulses, run.t[-1])
    features = _kind_features(runs)
    design = Design(runs, features)
    metrics: dict[str, MetricModel] = {}
    for metric in _metrics(runs):
        fitted = fit_metric(design, metric, metric_bounds(metric, ram), ram)
        if fitted is not None:
            metrics[metric] = fitted
    if lists_deviation is not None:
        for metric, table in tails(lists_deviation, ram).items():
            if metric in metrics:
                metrics[metric].fit["pcp_tails"] = table
    lags: dict[str, list[float]] = {}
    end_lags: dict[str, list[float]] = {}
    for run in runs:
        for kind, lag in run.start_lags:
            lags.setdefault(kind, []).append(lag)
        for kind, lag in run.end_lags:
            end_lags.setdefault(kind, []).append(lag)
    kinds_info = {kind: _kind_info(runs, kind, names) for kind, names in features.items()}
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
        end_lag_s={  # the median: one event stopped early by its own end is no stop's time
            k: float(np.clip(np.median(v), 0.0, MAX_START_LAG_S)) for k, v in end_lags.items() if v
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
        fill_mb_s=fill.fast_mb_s if fill else None,
        fill_knee_mb=fill.knee_mb if fill else None,
        fill_slow_mb_s=fill.slow_mb_s if fill else None,
        fill_threads=fill.threads if fill else 1,
        fill_spread=fill.spread if fill else FILL_SPREAD,
        fill_knee_backed=fill.knee_backed if fill else False,
        fill_contended=fill.contended if fill else (),
        release_share=release.share if release else None,
        release_drain_mb_s=release.drain_mb_s if release else None,
        release_most_mb=release.most_mb if release else None,
        pcp_ref_bytes=pcp_ref,
        pcp_idle_bytes=lists_profile.idle_bytes if lists_profile else None,
        pcp_held_bytes=lists_profile.held_bytes if lists_profile else None,
        pcp_drain_bytes_s=lists_profile.drain_bytes_s if lists_profile else None,
        pcp_jumps=lists_profile.jumps if lists_profile else (),
        created_at=now_utc().isoformat(timespec="seconds").replace("+00:00", "Z"),
    )
    return model, notes
