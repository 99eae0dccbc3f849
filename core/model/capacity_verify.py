"""`twin capacity --verify`'s two halves: a short real sweep across the predicted limit
(`verify_schedule`) and the limit read off the run it recorded (`measured_limit`), each step
read the same way for the measured and the predicted level (`settled_level`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from core.model.capacity import MEMORY_RESERVE, MIB, PARAMS, ceiling, probe_params
from core.model.overload import CPU_SATURATED_PERCENT, MEM_AVAILABLE_MIN_FRACTION
from core.model.predict import CPU_METRIC
from core.model.response import Array
from core.model.store import TwinModel
from core.schedule import Event, Schedule
from core.stressors._proc import meminfo
from core.stressors.params import PARAMS as STRESSOR_PARAMS
from core.stressors.safety import PROCESS_OVERHEAD, memory_reserve_bytes, runtime_reserve
from core.stressors.safety import available_bytes as spare_now

# The verify sweep's top memory step stays this far under the refusal: MemAvailable moved by
# 250 MiB between planning a sweep and its top step's start on the bench VM (a 128 MiB margin
# got that step refused, and the 5 % limit above the step before it was never crossed).
SPARE_MARGIN_MB = 384.0
STEAL_COLUMN = "cpu_steal_percent"  # CPU time the hypervisor gave other guests
STEAL_NOTED_PERCENT = 5.0  # a verify step that lost this much of the CPUs to steal is noted
# The dataset column a limit is crossed on; every other limit (CPU, pressure, a tolerance) is
# read on the CPU a sweep saturates.
BINDING_METRICS = {MEMORY_RESERVE: "mem_used_bytes", "memory": "mem_available_bytes"}


def binding_metric(limit: str) -> str:
    """The dataset column on which `limit` is crossed: one answer for the sweep's measured
    limit and for the verify table's predicted column."""
    return BINDING_METRICS.get(limit, CPU_METRIC)


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
        length = _step_length(model, kind, v, values[i - 1] if i else 0.0)
        events.append(Event(f"v{i + 1:02d}", kind, probe_params(model, kind, v), start, length))
        start += length + GAP_S
    return Schedule(f"capacity-verify-{kind}", "sequential", tuple(events), start, interval_s, 3.0)


def memory_spare_mb(model: TwinModel, available_bytes: float | None = None) -> float:
    """The most MiB a memory stressor started now would hold (its own safety check: MemAvailable
    and the per-CPU free lists), less `SPARE_MARGIN_MB` for what the rest of the machine does
    meanwhile."""
    available = sum(spare_now(meminfo())) if available_bytes is None else available_bytes
    reserve = runtime_reserve("memory", memory_reserve_bytes(int(model.ram_bytes)))
    spare = (available - reserve - PROCESS_OVERHEAD) / MIB - SPARE_MARGIN_MB
    return max(float(spare), 1.0)


def _step_length(model: TwinModel, kind: str, value: float, freed_mb: float = 0.0) -> float:
    """A memory step lasts its fill as the model predicts it after the step before it freed
    `freed_mb` (the MiB beyond what training filled and that at the pace of memory the host
    backs anew: `fills.UNSEEN_FILL_MB_S`), and as long again to settle; every other step
    `STEP_S`."""
    fill = model.fill
    if kind != "memory" or fill is None:
        return STEP_S
    return max(STEP_S, round(2.0 * fill.seconds(value, freed_mb=freed_mb) + 2.0, 1))


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


def with_steal(levels: Mapping[str, float], steal_percent: float) -> dict[str, float]:
    """`levels` as a node that loses `steal_percent` of its CPUs to other guests sees them: busy
    that is no load of its own. The CPU stressor's workers count their own CPU time, so what the
    hypervisor steals adds to what they burn; the limit predicted from these levels is what the
    model says once told of the steal (it cannot know it before: 0 % at every idle here)."""
    out = dict(levels)
    out[CPU_METRIC] = min(100.0, float(levels.get(CPU_METRIC, 0.0)) + max(0.0, steal_percent))
    return out


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
