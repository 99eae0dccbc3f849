"""How much *more* of each kind this node can take before the first limit is crossed.

For each stressor kind, one extra event of that kind runs through the whole background plan
(the optional profile: its peak is where the limit is crossed first; no profile: an idle
node for 60 s), and its parameter is bisected up to the first value that crosses a limit:
the overload limits (`core.model.overload`: CPU saturated, memory available under 5 % of RAM
or swap in use, PSI above 40 %), the memory stressor's own reserve (it stops growing there),
and every `[steady_state]` tolerance of the profile on a column the model predicts (probe
latency included). `lo`/`hi` are the same answer at the interval's pessimistic and optimistic
edges. `twin capacity --verify` lives beside it (`core.model.capacity_verify`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from core.model.intervals import DEFAULT_INTERVAL, half_width, running_events
from core.model.overload import memory_available, overload_warnings
from core.model.predict import plan_pulses, predict_demand, whatif_schedule
from core.model.response import Array, Pulse
from core.model.store import TwinModel
from core.probes.spec import Tolerance
from core.schedule import Event, Schedule
from core.stressors.safety import memory_reserve_bytes, runtime_reserve

PARAMS = {"cpu": "load_percent", "memory": "size_mb", "disk": "rate_mb_s", "network": "rate_mbit_s"}
UNITS = {"cpu": "%", "memory": "MiB", "disk": "MiB/s", "network": "Mbit/s"}
BISECT_STEPS = 30
MIB = 1024**2
NO_LIMIT = "none"
MEMORY_RESERVE = "memory_reserve"
FILL_SETTLE_S = 1.0  # after its fill, extra memory settles this long before the plan starts


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
    """Seconds the probe needs before the plan starts: extra memory's fill and settling (it
    starts first, with nothing freed before it)."""
    fill = model.fill
    return fill.seconds(value, freed_mb=0.0) + FILL_SETTLE_S if kind == "memory" and fill else 0.0


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
