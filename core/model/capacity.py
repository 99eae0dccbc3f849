"""How much *more* of each kind this node can take before the first limit is crossed.

For each stressor kind, one extra event of that kind runs through the whole background plan
(the optional profile: its peak is where the limit is crossed first; no profile: an idle
node for 60 s), and its parameter is bisected up to the first value that crosses a limit:
the overload limits (`core.model.overload`: CPU saturated, memory available under 5 % of RAM
or swap in use, PSI above 40 %), the memory stressor's own reserve (it stops growing there),
and every `[steady_state]` tolerance of the profile on a column the model predicts (probe
latency included). `lo`/`hi` are the same answer at the interval's pessimistic and optimistic
edges. `verify_schedule` and `measured_limit` are `twin capacity --verify`'s two halves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import psutil

from core.model.intervals import DEFAULT_INTERVAL, half_width, running_events
from core.model.overload import (
    CPU_SATURATED_PERCENT,
    MEM_AVAILABLE_MIN_FRACTION,
    memory_available,
    overload_warnings,
)
from core.model.predict import CPU_METRIC, plan_pulses, predict_demand, whatif_schedule
from core.model.response import Array, Pulse
from core.model.store import TwinModel
from core.probes.spec import Tolerance
from core.schedule import Event, Schedule
from core.stressors.params import PARAMS as STRESSOR_PARAMS
from core.stressors.safety import PROCESS_OVERHEAD, memory_reserve_bytes, runtime_reserve

PARAMS = {"cpu": "load_percent", "memory": "size_mb", "disk": "rate_mb_s", "network": "rate_mbit_s"}
UNITS = {"cpu": "%", "memory": "MiB", "disk": "MiB/s", "network": "Mbit/s"}
BISECT_STEPS = 30
MIB = 1024**2
NO_LIMIT = "none"
MEMORY_RESERVE = "memory_reserve"
# The verify sweep's top memory step stays this far under the refusal: MemAvailable moved by
# 250 MiB between planning a sweep and its top step's start on the bench VM (a 128 MiB margin
# got that step refused, and the 5 % limit above the step before it was never crossed).
SPARE_MARGIN_MB = 384.0
STEAL_COLUMN = "cpu_steal_percent"  # CPU time the hypervisor gave other guests
STEAL_NOTED_PERCENT = 5.0  # a verify step that lost this much of the CPUs to steal is noted
FILL_SETTLE_S = 1.0  # after its fill, extra memory settles this long before the plan starts
# The dataset column a limit is crossed on; every other limit (CPU, pressure, a tolerance) is
# read on the CPU a sweep saturates.
BINDING_METRICS = {MEMORY_RESERVE: "mem_used_bytes", "memory": "mem_available_bytes"}


def binding_metric(limit: str) -> str:
    """The dataset column on which `limit` is crossed: one answer for the sweep's measured
    limit and for the verify table's predicted column."""
    return BINDING_METRICS.get(limit, CPU_METRIC)


@dataclass(frozen=True)
class Capacity:
    """One kind's headroom: `value` more of `param` (`lo`-`hi` over the interval), and the
    constraint that binds (`limit`; "none" when nothing binds up to `ceiling`)."""

    kind: str
    param: str
    value: float
    lo: float
    hi: float
    limit: str
    ceiling: float

    def to_json(self) -> dict[str, Any]:
        """The `--json` contract: kind, param, value, lo, hi, limit."""
        return {
            "kind": self.kind,
            "param": self.param,
            "value": round(self.value, 2),
            "lo": round(self.lo, 2),
            "hi": round(self.hi, 2),
            "limit": self.limit,
        }

    def line(self) -> str:
        unit = UNITS[self.kind]
        span = f"{self.lo:.0f}-{self.hi:.0f}"
        binds = (
            f"until {self.limit}" if self.limit != NO_LIMIT else f"no limit up to {self.ceiling:g}"
        )
        return f"{self.kind:<8} {self.param} +{self.value:.0f} {unit} ({span}), {binds}"


def probe_params(model: TwinModel, kind: str, value: float) -> dict[str, Any]:
    """The extra event's parameters: cpu on every worker, disk synced writes, as trained."""
    if kind == "cpu":
        return {"load_percent": value, "workers": model.n_cpus}
    if kind == "disk":
        return {"mode": "write", "file_mb": 64, "fsync": True, "rate_mb_s": value}
    return {PARAMS[kind]: value}


def ceiling(model: TwinModel, kind: str) -> float:
    """The largest value searched: the stressor's own maximum, else 10x the training range."""
    if kind == "cpu":
        return 100.0
    if kind == "memory":
        return model.ram_bytes / MIB
    highs = model.kinds.get(kind, {}).get("feature_max", {})
    trained = max((float(v) for v in highs.values()), default=0.0)
    return 10.0 * trained if trained > 0 else (1000.0 if kind == "disk" else 10000.0)


def background_schedule(model: TwinModel, background: Schedule | None) -> Schedule:
    return background if background is not None else whatif_schedule(model, duration_s=60.0)


def probe_lead(model: TwinModel, kind: str, value: float) -> float:
    """Seconds the probe needs before the plan starts: extra memory's fill and settling."""
    fill = model.fill
    return fill.seconds(value) + FILL_SETTLE_S if kind == "memory" and fill else 0.0


def with_probe(model: TwinModel, base: Schedule, kind: str, value: float) -> Schedule:
    """`base` plus one `kind` event of `value`, through its whole plan (after its baseline).
    Extra memory is made resident first (the plan starts once its fill is done): the question
    is what the node holds on top of its load, not how much fills within the plan's length."""
    start = base.baseline_s if not base.events else 0.0
    end = max((e.end_s for e in base.events), default=base.total_s - base.baseline_s)
    lead = probe_lead(model, kind, value)
    events = tuple(replace(e, start_s=e.start_s + lead) for e in base.events)
    probe = Event(
        "capacity", kind, probe_params(model, kind, value), start, max(end + lead - start, 1.0)
    )
    return replace(base, events=(*events, probe), total_s=base.total_s + lead)


def _shifted(
    model: TwinModel,
    demand: dict[str, Array],
    side: int,
    level: float,
    pulses: Sequence[Pulse],
    interval_s: float,
) -> dict[str, Array]:
    """The demand at the interval's pessimistic (side +1) or optimistic (-1) edge, with the
    events of `pulses` running at each sample (each settles off the fit by its own amount)."""
    if side == 0:
        return demand
    running = running_events(demand["elapsed_s"], pulses, interval_s)
    out = dict(demand)
    for name, m in model.metrics.items():
        worse = -1 if name == "mem_available_bytes" else 1
        width = half_width(m, demand[name] - m.baseline, level, side * worse, running)
        out[name] = demand[name] + side * worse * width
    return out


def limits_crossed(
    model: TwinModel,
    schedule: Schedule,
    *,
    baseline: Mapping[str, float] | None = None,
    tolerances: Sequence[Tolerance] = (),
    side: int = 0,
    level: float = DEFAULT_INTERVAL,
    after_s: float = 0.0,
) -> list[str]:
    """The limits `schedule` crosses from `after_s` on (before it, extra memory is still
    filling: the fill's own CPU is no limit of what the node holds), first crossed first."""
    pulses = plan_pulses(model, schedule.events, schedule.total_s)
    demand = predict_demand(model, schedule, baseline, pulses=pulses)
    demand = _shifted(model, demand, side, level, pulses, schedule.interval_s)
    overloads = overload_warnings(model, schedule, demand=demand)
    crossed = [(max(o.start_s, after_s), o.what) for o in overloads if o.end_s >= after_s]
    t = demand["elapsed_s"]
    late = t >= after_s
    avail = memory_available(model, demand)
    reserve = runtime_reserve("memory", memory_reserve_bytes(int(model.ram_bytes)))
    if avail is not None and any(e.stressor == "memory" for e in schedule.events):
        low = np.nonzero(late & (avail < reserve))[0]
        if len(low):
            crossed.append((float(t[low[0]]), MEMORY_RESERVE))
    for tol in tolerances:
        if tol.column in demand:
            values = demand[tol.column].tolist()
            bad = [i for i, v in enumerate(values) if late[i] and tol.broken_by(v)]
            if bad:
                crossed.append((float(t[bad[0]]), f"steady_state {tol.column}"))
    return [what for _, what in sorted(crossed)]


def capacity_of(
    model: TwinModel,
    kind: str,
    background: Schedule | None = None,
    *,
    baseline: Mapping[str, float] | None = None,
    tolerances: Sequence[Tolerance] = (),
    level: float = DEFAULT_INTERVAL,
) -> Capacity:
    """How much more `kind` the node takes on top of `background` (bisection per edge)."""
    base = background_schedule(model, background)
    top = ceiling(model, kind)

    def first(value: float, side: int) -> str | None:
        plan = with_probe(model, base, kind, value)
        lead = plan.events[-1].start_s + probe_lead(model, kind, value)  # the probe is last
        hits = limits_crossed(
            model,
            plan,
            baseline=baseline,
            tolerances=tolerances,
            side=side,
            level=level,
            after_s=lead,
        )
        return hits[0] if hits else None

    def search(side: int) -> tuple[float, str]:
        if first(0.0, side) is not None:
            return 0.0, first(0.0, side) or NO_LIMIT
        if first(top, side) is None:
            return top, NO_LIMIT
        low, high = 0.0, top
        for _ in range(BISECT_STEPS):
            mid = (low + high) / 2
            low, high = (low, mid) if first(mid, side) else (mid, high)
        return low, first(high, side) or NO_LIMIT

    value, limit = search(0)
    lo, _ = search(+1)
    hi, _ = search(-1)
    return Capacity(kind, PARAMS[kind], value, min(lo, value), max(hi, value), limit, top)


def capacity(
    model: TwinModel,
    background: Schedule | None = None,
    *,
    baseline: Mapping[str, float] | None = None,
    tolerances: Sequence[Tolerance] = (),
    level: float = DEFAULT_INTERVAL,
) -> list[Capacity]:
    """Every kind's headroom, in the order of the stressor table."""
    return [
        capacity_of(model, k, background, baseline=baseline, tolerances=tolerances, level=level)
        for k in PARAMS
    ]


# ---- --verify: a short real sweep across the predicted limit ------------------------------

SWEEP = (0.5, 0.75, 0.9, 1.0, 1.1, 1.25)
STEP_S = 6.0
GAP_S = 3.0


def verify_schedule(
    model: TwinModel,
    kind: str,
    predicted: float,
    interval_s: float,
    available_bytes: float | None = None,
) -> Schedule:
    """Sequential steps at 50-125 % of the predicted limit, capped at the stressor's maximum:
    for memory what it can spare now (`available_bytes`, default MemAvailable, less its
    reserve, a process and a margin), so the top step is held rather than refused and the
    sweep crosses a limit that lies between the prediction and what the stressor allows."""
    top = ceiling(model, kind)
    if kind == "memory":
        top = min(top, memory_spare_mb(model, available_bytes))
    whole = STRESSOR_PARAMS[kind][PARAMS[kind]].type is int  # memory size_mb is whole MiB
    values = sorted({_step_value(min(top, max(f * predicted, 1.0)), whole) for f in SWEEP})
    events: list[Event] = []
    start = 3.0
    for i, v in enumerate(values):
        length = _step_length(model, kind, v)
        events.append(Event(f"v{i + 1:02d}", kind, probe_params(model, kind, v), start, length))
        start += length + GAP_S
    return Schedule(f"capacity-verify-{kind}", "sequential", tuple(events), start, interval_s, 3.0)


def memory_spare_mb(model: TwinModel, available_bytes: float | None = None) -> float:
    """The most MiB a memory stressor started now would hold (its own safety check), less
    `SPARE_MARGIN_MB` for what the rest of the machine does meanwhile."""
    available = psutil.virtual_memory().available if available_bytes is None else available_bytes
    reserve = runtime_reserve("memory", memory_reserve_bytes(int(model.ram_bytes)))
    spare = (available - reserve - PROCESS_OVERHEAD) / MIB - SPARE_MARGIN_MB
    return max(float(spare), 1.0)


def _step_length(model: TwinModel, kind: str, value: float) -> float:
    """A memory step lasts its fill at the rate this machine fills (learnt), plus as long again
    to settle; every other step `STEP_S`."""
    fill = model.fill
    if kind != "memory" or fill is None:
        return STEP_S
    return max(STEP_S, round(2.0 * fill.seconds(value) + 2.0, 1))


def _step_value(value: float, whole: bool) -> float:
    """A sweep step as the stressor table takes it: whole where the parameter is an integer."""
    return float(int(value)) if whole else round(value, 1)


def _second_half(t: Array, y: Array, event: Event) -> Array:
    inside = (t > event.start_s + event.duration_s / 2) & (t <= event.end_s) & np.isfinite(y)
    return y[inside]


def step_level(t: Array, y: Array, event: Event, high: bool) -> float:
    """A step's settled level: the worst of its second half (max, or min when low is bad)."""
    held = _second_half(t, y, event)
    if not held.size:
        return float("nan")
    return float(held.max() if high else held.min())


def cpu_step_level(t: Array, busy: Array, event: Event) -> float:
    """The CPU share a step held: the median of its second half.

    A worker the hypervisor delayed (steal) catches up on its own share in a burst, so one
    sample of a step well under the limit can read 100 %: saturation is what the step held.
    """
    held = _second_half(t, busy, event)
    return float(np.median(held)) if held.size else float("nan")


def settled_level(t: Array, y: Array, event: Event, metric: str) -> float:
    """A step's level of `metric`, measured or predicted: CPU by what the step held
    (`cpu_step_level`), a memory level by its worst sample (`step_level`: used memory high,
    available memory low)."""
    if metric == CPU_METRIC:
        return cpu_step_level(t, y, event)
    return step_level(t, y, event, high=metric != "mem_available_bytes")


def step_steal(t: Array, data: Mapping[str, Array], events: Sequence[Event]) -> list[float]:
    """Per step the mean share of the CPUs the hypervisor gave other guests (steal) over its
    second half: busy in `cpu_percent`, yet no load of this node (0 where not recorded)."""
    steal = data.get(STEAL_COLUMN)
    if steal is None:
        return [0.0] * len(events)
    held = [_second_half(t, steal, e) for e in events]
    return [float(h.mean()) if h.size else 0.0 for h in held]


Step = tuple[float, float, bool]


def _reserve_steps(
    t: Array, used: Array, events: Sequence[Event]
) -> tuple[list[Step], float | None]:
    """Memory against the stressor's reserve: per step the MiB it really added; once a step
    stopped short of its size (or was refused outright), the limit is the most any step held."""
    steps: list[Step] = []
    for e in events:
        size = float(e.params["size_mb"])
        before = used[(t <= e.start_s) & (t > e.start_s - GAP_S) & np.isfinite(used)]
        rise = (step_level(t, used, e, True) - float(np.median(before))) / MIB
        steps.append((size, rise, rise < 0.95 * size))
    if not any(short for _, _, short in steps):
        return steps, None
    return steps, max(rise for _, rise, _ in steps)


def measured_limit(
    model: TwinModel,
    kind: str,
    limit: str,
    t: Array,
    data: Mapping[str, Array],
    events: Sequence[Event],
) -> tuple[list[Step], float | None]:
    """Per step (value, measured level of the binding metric, crossed?) and the measured limit:
    where the binding metric crosses its threshold, interpolated between the steps around it.
    CPU is the share each step held (`settled_level`), steal included: the CPUs were full."""
    metric = binding_metric(limit)
    if metric not in data:
        return [], None
    if limit == MEMORY_RESERVE:
        return _reserve_steps(t, data[metric], events)
    high, threshold = (
        (True, CPU_SATURATED_PERCENT)
        if metric == CPU_METRIC
        else (False, MEM_AVAILABLE_MIN_FRACTION * model.ram_bytes)
    )
    steps: list[Step] = []
    for e in events:
        level = settled_level(t, data[metric], e, metric)
        steps.append(
            (
                float(e.params[PARAMS[kind]]),
                level,
                level >= threshold if high else level <= threshold,
            )
        )
    first = next((i for i, step in enumerate(steps) if step[2]), None)
    if first is None:
        return steps, None
    if first == 0:
        return steps, steps[0][0]
    (v0, y0, _), (v1, y1, _) = steps[first - 1], steps[first]
    if y1 == y0:
        return steps, v1
    return steps, float(v0 + (threshold - y0) / (y1 - y0) * (v1 - v0))
