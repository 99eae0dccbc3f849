"""Where a plan would overload the node: the limits `twin predict` warns of and `twin capacity`
stops at, in one place.

Limits (from the unbounded demand, so a saturated CPU still shows how far beyond it the plan
asks): memory available under 5 % of RAM (or beyond RAM: swap, or the OOM killer without
swap), swap in use above 1 %, pressure stall (PSI "some") of the CPU, memory or I/O above
40 %, CPU demand at or above 98 %. `Overload.what` names the limit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core.model.predict import predict_demand
from core.model.response import Array
from core.model.store import TwinModel
from core.schedule import Schedule
from core.telemetry.columns import PSI_RESOURCES, psi_column

MEM_AVAILABLE_MIN_FRACTION = 0.05  # warn when memory available would fall under 5% of RAM
SWAP_WARN_PERCENT = 1.0  # warn when predicted swap use exceeds this
PRESSURE_WARN_PERCENT = 40.0  # psi_*_some_percent above this: tasks wait for the resource
CPU_PRESSURE_WARN_PERCENT = PRESSURE_WARN_PERCENT
CPU_SATURATED_PERCENT = 98.0  # cpu demand at or above this: the CPUs are saturated
GIB = 1024**3
BoolArray = npt.NDArray[np.bool_]
PRESSURE_WAITS = {"cpu": "a CPU", "memory": "memory", "io": "I/O"}


@dataclass(frozen=True)
class Overload:
    """A stretch of the plan where the node would be overloaded."""

    what: str  # memory | swap | cpu_pressure | memory_pressure | io_pressure | cpu_saturated
    start_s: float
    end_s: float
    message: str

    def __str__(self) -> str:
        return f"{self.start_s:.1f}-{self.end_s:.1f} s: {self.message}"


def _spans(flags: BoolArray) -> list[tuple[int, int]]:
    """(first, last) indices of each run of True in `flags`."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for i, flag in enumerate(flags.tolist()):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            spans.append((start, i - 1))
            start = None
    if start is not None:
        spans.append((start, len(flags) - 1))
    return spans


def memory_available(model: TwinModel, demand: Mapping[str, Array]) -> Array | None:
    """Memory available per sample: the lower of the predicted available and RAM - used."""
    ram = model.ram_bytes
    if ram <= 0 or not ("mem_available_bytes" in demand or "mem_used_bytes" in demand):
        return None
    avail = demand.get("mem_available_bytes")
    used = demand.get("mem_used_bytes")
    if avail is None:
        assert used is not None
        return ram - used
    return avail if used is None else np.minimum(avail, ram - used)


def _memory_text(model: TwinModel, avail: Array) -> Callable[[int, int], str]:
    ram = model.ram_bytes

    def text(a: int, b: int) -> str:
        worst = float(avail[a : b + 1].min())
        if worst < 0:
            fate = (
                "it would push into swap"
                if model.swap_bytes > 0
                else "there is no swap: the OOM killer would end processes"
            )
            return (
                f"memory beyond RAM: the plan needs {-worst / GIB:.1f} GiB more than the "
                f"{ram / GIB:.1f} GiB this machine has; {fate}"
            )
        return (
            f"memory available falls to {worst / GIB:.2f} GiB "
            f"({worst / ram * 100:.1f}% of RAM, under {MEM_AVAILABLE_MIN_FRACTION:.0%})"
        )

    return text


def overload_warnings(
    model: TwinModel,
    schedule: Schedule,
    baseline: Mapping[str, float] | None = None,
    demand: Mapping[str, Array] | None = None,
) -> list[Overload]:
    """Where the plan would overload the node; `demand` (as `predict_demand`) when already
    computed, e.g. shifted to an interval's pessimistic edge by `twin capacity`."""
    demand = demand if demand is not None else predict_demand(model, schedule, baseline)
    t = demand["elapsed_s"]
    out: list[Overload] = []

    def add(what: str, flags: BoolArray, text: Callable[[int, int], str]) -> None:
        for a, b in _spans(flags):
            out.append(Overload(what, float(t[a]), float(t[b]), text(a, b)))

    avail = memory_available(model, demand)
    if avail is not None:
        add(
            "memory",
            avail < MEM_AVAILABLE_MIN_FRACTION * model.ram_bytes,
            _memory_text(model, avail),
        )
    if "swap_percent" in demand:
        swap = demand["swap_percent"]
        add(
            "swap",
            swap > SWAP_WARN_PERCENT,
            lambda a, b: f"swap in use (up to {float(swap[a : b + 1].max()):.0f}%)",
        )
    for resource in PSI_RESOURCES:
        name = psi_column(resource, "some").name
        if name not in demand:
            continue
        psi = demand[name]

        def pressure(a: int, b: int, psi: Array = psi, resource: str = resource) -> str:
            return (
                f"{resource.upper() if resource != 'memory' else 'memory'} pressure "
                f"{min(100.0, float(psi[a : b + 1].max())):.0f}% (tasks waiting for "
                f"{PRESSURE_WAITS[resource]}; threshold {PRESSURE_WARN_PERCENT:.0f}%)"
            )

        add(f"{resource}_pressure", psi > PRESSURE_WARN_PERCENT, pressure)
    if "cpu_percent" in demand:
        cpu = demand["cpu_percent"]
        add(
            "cpu_saturated",
            cpu >= CPU_SATURATED_PERCENT,
            lambda a, b: (
                f"CPU saturated (demand {float(cpu[a : b + 1].max()):.0f}% "
                "of the machine): loads beyond it will not be reached"
            ),
        )
    return sorted(out, key=lambda o: (o.start_s, o.what))
