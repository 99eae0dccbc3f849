"""Predict a schedule's metrics with a `TwinModel`, and flag plans that would overload the node.

`predict_schedule(model, schedule)` gives what a run of `schedule` should record: `elapsed_s` at
k x interval_s (k = 1 .. floor(total / interval), the samples a run writes) and one column per
predicted metric, named and meant as in `system_metrics_dataset.csv`. Events are placed at their
planned times plus the start and end lags seen in training.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.host import host_fingerprint
from core.model.fills import MEMORY_FILL, FillProfile
from core.model.intervals import (
    DEFAULT_INTERVAL,
    FILLING,
    bands,
    for_metric,
    on_grid,
    reach,
    regimes,
    running_events,
)
from core.model.metric_fit import lingers
from core.model.percpu import PCP, offsets, steady_levels
from core.model.response import (
    Array,
    Pulse,
    event_features,
    event_levels,
    event_ramp_s,
    kind_columns,
)
from core.model.session import with_session
from core.model.store import DEFAULT_MODELS_DIR, Term, TwinModel, find_model, load_model
from core.model.transients import with_transients
from core.rundir.layout import PREDICTION
from core.schedule import Event, Schedule
from core.telemetry.columns import tick_step
from core.telemetry.logger import expected_samples

CPU_METRIC = "cpu_percent"
ASK_TOLERANCE = 5.0  # points: a fit this close to the ask at full drive is the stressor's own


def sample_clock(schedule: Schedule) -> Array:
    """The `elapsed_s` of the samples a run of `schedule` writes."""
    n = expected_samples(schedule.total_s, schedule.interval_s)
    t: Array = np.round(np.arange(1, n + 1) * schedule.interval_s, 6)
    return t


def plan_pulses(
    model: TwinModel, events: Sequence[Event], end_s: float, fill: FillProfile | None = None
) -> list[Pulse]:
    """The events as the model sees them: planned times plus the start and end lags, with
    transients (memory filling at the model's rate, or at `fill`'s; releases leaving what
    the model learnt they leave) and the run's session (until `end_s`)."""
    out = []
    for e in events:
        lag = model.start_lag_s.get(e.stressor, 0.0)
        end_lag = model.end_lag_s.get(e.stressor, lag)
        features = event_features(e.stressor, e.params, model.n_cpus)
        out.append(
            Pulse(
                e.stressor,
                e.start_s + lag,
                e.end_s + end_lag,
                features,
                event_ramp_s(e.stressor, e.params),
                event_levels(e.stressor, e.params, e.duration_s),  # the drive follows a shape
            )
        )
    pulses = with_transients(out, fill or model.fill, model.n_cpus, model.release)
    return with_session(pulses, end_s)


def _capped(pulse: Pulse, caps: Mapping[str, float]) -> Pulse:
    features = {k: min(v, float(caps[k])) if k in caps else v for k, v in pulse.features.items()}
    return replace(pulse, features=features)


def _base(model: TwinModel, name: str, baseline: Mapping[str, float] | None) -> float:
    """A metric's idle level: the `baseline` given (calibrated: memory referred to the per-CPU
    free lists' training count, `percpu`), else the model's."""
    m = model.metrics[name]
    if baseline is None:
        return m.baseline
    levels = steady_levels(baseline, model.pcp_ref_bytes, model.ram_bytes)
    return float(levels.get(name, m.baseline))


def predict_demand(
    model: TwinModel,
    schedule: Schedule,
    baseline: Mapping[str, float] | None = None,
    t: Array | None = None,
    pulses: Sequence[Pulse] | None = None,
) -> dict[str, Array]:
    """Unbounded predictions per metric (what the plan asks for, before saturation); `pulses`
    are the schedule's as the model sees them (`plan_pulses`), when the caller has them already."""
    times = sample_clock(schedule) if t is None else t
    if pulses is None:
        pulses = plan_pulses(model, schedule.events, schedule.total_s)
    out: dict[str, Array] = {"elapsed_s": times}
    start = baseline.get(PCP) if baseline is not None else None
    lists = offsets(model.lists, model.pcp_ref_bytes, model.ram_bytes, times, pulses, start)
    for name, m in model.metrics.items():
        y = np.full(len(times), _base(model, name, baseline)) + lists.get(name, 0.0)
        for kind, term in m.terms.items():
            mine = [p for p in pulses if p.kind == kind]
            if not mine:
                continue
            if not term.primary:  # a side effect: not extrapolated past what training saw
                caps = model.kinds.get(kind, {}).get("feature_max", {})
                mine = [_capped(p, caps) for p in mine]
            features = list(term.gains)
            cols = kind_columns(
                times,
                mine,
                features,
                term.tau_rise_s,
                term.tau_fall_s,
                schedule.interval_s,
                m.average,
            )
            y = y + cols @ np.array([term.gains[f] for f in features])
        out[name] = y
    cpu = model.metrics.get(CPU_METRIC)
    if cpu is not None and delivers_its_ask(cpu.terms.get("cpu")):
        asked = asked_cpu(times, pulses, schedule.interval_s, cpu.average)
        out[CPU_METRIC] = np.maximum(out[CPU_METRIC], asked)
    return out


def delivers_its_ask(term: Term | None) -> bool:
    """Whether training shows the CPU stressor getting the share it asks for on this host: its
    effect at full drive (`on` + `drive`) within `ASK_TOLERANCE` of 100 points. Not so under
    a CPU quota, or on a machine whose response is not the stressor's (synthetic ones)."""
    if term is None or "drive" not in term.gains:
        return False
    full = term.gains["drive"] + term.gains.get("on", 0.0)
    return abs(full - 100.0) <= ASK_TOLERANCE


def asked_cpu(t: Array, pulses: Sequence[Pulse], interval_s: float, average: bool) -> Array:
    """The share of the machine (%) the plan's CPU stressors burn themselves. Where they get it
    (`delivers_its_ask`: their controller holds it to a tenth of a point, `bench/stressors.py`)
    no demand is less: a fit with an offset lands under it (-2 points at every load on one
    recording), and at 100 % on every worker that read as a CPU that is never saturated."""
    mine = [p for p in pulses if p.kind == "cpu"]
    if not mine:
        return np.zeros(len(t))
    drive: Array = 100.0 * kind_columns(t, mine, ["drive"], 0.0, 0.0, interval_s, average)[:, 0]
    return drive


def predict_schedule(
    model: TwinModel,
    schedule: Schedule,
    baseline: Mapping[str, float] | None = None,
    interval: float | None = DEFAULT_INTERVAL,
) -> pd.DataFrame:
    """The expected series of a run of `schedule`: `elapsed_s` + per metric its column and,
    unless `interval` is None, `<metric>_lo`/`<metric>_hi`: the central `interval` band.

    `baseline` overrides the idle levels (e.g. the current `mem_used_bytes` when a run starts).
    """
    pulses = plan_pulses(model, schedule.events, schedule.total_s)
    demand = predict_demand(model, schedule, baseline, pulses=pulses)
    times = demand["elapsed_s"]
    frame: dict[str, Array] = {"elapsed_s": times}
    regime = regimes(times, pulses, schedule.interval_s)
    running = running_events(times, pulses, schedule.interval_s)
    fills = _fill_alternatives(model, schedule, baseline, pulses) if interval is not None else []
    for alt_pulses, _ in fills:  # a sample filling at either rate is filling
        regime[regimes(times, alt_pulses, schedule.interval_s) == FILLING] = FILLING
    for name, m in model.metrics.items():
        lower = -np.inf if m.lower is None else m.lower
        upper = np.inf if m.upper is None else m.upper
        value = np.clip(demand[name], lower, upper)
        frame[name] = value
        if interval is not None:
            lo, hi = bands(
                m,
                value,
                demand[name],
                _base(model, name, baseline),
                interval,
                k=reach(schedule.interval_s),
                regime=for_metric(regime, lingers(name, m.average)),
                calibrated=baseline is not None and name in baseline,
                alternatives=[np.clip(alt[name], lower, upper) for _, alt in fills],
                running=running,
            )
            if m.fit.get("ticks"):  # measured in whole clock ticks
                lo, hi = on_grid(lo, hi, tick_step(name, model.n_cpus, schedule.interval_s))
            frame[f"{name}_lo"] = np.clip(lo, lower, upper)
            frame[f"{name}_hi"] = np.clip(hi, lower, upper)
    return pd.DataFrame(frame)


def _fill_alternatives(
    model: TwinModel,
    schedule: Schedule,
    baseline: Mapping[str, float] | None,
    pulses: Sequence[Pulse],
) -> list[tuple[list[Pulse], dict[str, Array]]]:
    """The plan's (pulses, demand) with every memory event filling slower and faster by the
    fill's `spread`, for the band to hold both: a fill's pace is the least certain thing a
    prediction with memory events has. Empty without a fill to vary."""
    fill = model.fill
    if fill is None or not any(p.kind == MEMORY_FILL for p in pulses):
        return []
    out = []
    for factor in (1.0 / (1.0 + fill.spread), 1.0 + fill.spread):
        alt = plan_pulses(model, schedule.events, schedule.total_s, fill.scaled(factor))
        out.append((alt, predict_demand(model, schedule, baseline, pulses=alt)))
    return out


def write_prediction(prediction: pd.DataFrame, path: Path) -> None:
    """Write a prediction CSV (the file `twin analyze` scores as RUN_DIR/prediction.csv)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    prediction.to_csv(path, index=False, float_format="%.6g")


def host_warning(model: TwinModel, host: Mapping[str, Any] | None = None) -> str | None:
    """A warning when the model was fitted on another machine than `host` (default: this one)."""
    here = dict(host) if host is not None else host_fingerprint()
    if model.host_id and model.host_id == str(here.get("id", "")):
        return None
    theirs = model.host.get("hostname", "?")
    return (
        f"the model was fitted on another host ({theirs}, id {model.host_id or '?'}); this is "
        f"{here.get('hostname', '?')} (id {here.get('id', '?')}): predictions may not hold here"
    )


def unmodelled_warnings(model: TwinModel, schedule: Schedule) -> list[str]:
    """Events of a stressor kind (or mode) the model never saw in training."""
    seen = model.kinds
    out: list[str] = []
    for kind in sorted({e.stressor for e in schedule.events}):
        if kind not in seen:
            out.append(f"the model has never seen a {kind} event: its effect is not predicted")
            continue
        known = set(seen[kind].get("features", []))
        for e in schedule.events:
            if e.stressor != kind:
                continue
            missing = set(event_features(kind, e.params, model.n_cpus)) - known
            if missing:
                out.append(
                    f"event {e.id} ({kind}): the model has no data for "
                    f"{', '.join(sorted(missing))}: that part of its effect is not predicted"
                )
    return out


def default_model(
    models_dir: Path = DEFAULT_MODELS_DIR, host_id: str | None = None
) -> TwinModel | None:
    """The newest model in `models_dir` for this host (else any host's), or None."""
    path = find_model(host_id or str(host_fingerprint()["id"]), models_dir)
    return load_model(path) if path is not None else None


def whatif_schedule(
    model: TwinModel,
    *,
    cpu_percent: float | None = None,
    workers: int | None = None,
    memory_mb: float | None = None,
    disk_mb_s: float | None = None,
    disk_mode: str = "write",
    net_mbit_s: float | None = None,
    duration_s: float = 60.0,
    baseline_s: float = 5.0,
) -> Schedule:
    """A parallel schedule of the given one-off loads, all starting after `baseline_s`."""
    events: list[Event] = []

    def add(kind: str, params: dict[str, Any]) -> None:
        eid = f"w{len(events) + 1:02d}"
        events.append(Event(eid, kind, params, baseline_s, duration_s, "what if"))

    if cpu_percent is not None:
        params: dict[str, Any] = {"load_percent": cpu_percent}
        if workers is not None:
            params["workers"] = workers
        add("cpu", params)
    if memory_mb is not None:
        add("memory", {"size_mb": memory_mb})
    if disk_mb_s is not None:
        add("disk", {"mode": disk_mode, "rate_mb_s": disk_mb_s})
    if net_mbit_s is not None:
        add("network", {"rate_mbit_s": net_mbit_s})
    return Schedule(
        name="what-if",
        mode="parallel",
        events=tuple(events),
        total_s=baseline_s + duration_s + baseline_s,
        interval_s=model.interval_s,
        baseline_s=baseline_s,
    )


def predict_into_run(
    run_dir: Path,
    schedule: Schedule,
    *,
    model: TwinModel | None = None,
    baseline: Mapping[str, float] | None = None,
    models_dir: Path = DEFAULT_MODELS_DIR,
) -> Path | None:
    """Write `run_dir/prediction.csv` for a run of `schedule` (the runner / TUI hook).

    Uses `model`, else the newest model for this host in `models_dir`; returns None (and writes
    nothing) when there is no model. Pass `baseline` (e.g. the first sample's values) to start
    the prediction from the machine's current idle levels.
    """
    chosen = model if model is not None else default_model(models_dir)
    if chosen is None:
        return None
    path = run_dir / PREDICTION
    write_prediction(predict_schedule(chosen, schedule, baseline), path)
    return path


def measure_levels(seconds: float = 2.0) -> dict[str, float]:
    """This machine's current levels, one sample over `seconds` (for `baseline=`: "calibrated")."""
    from core.telemetry.sampler import SystemSampler

    sampler = SystemSampler()
    try:
        sampler.prime(time.monotonic())
        time.sleep(max(0.1, seconds))
        return dict(sampler.read(time.monotonic()))
    finally:
        sampler.close()
