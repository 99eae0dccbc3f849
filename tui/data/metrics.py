"""Which graphs the dashboard shows, with their labels, units and scales.

Built from the columns the sampler really has: extras (pressure, temperature,
load) appear only where the machine provides them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from core.telemetry import columns as C
from tui.data.units import human_bytes, human_rate


def _percent(value: float) -> str:
    return f"{value:5.1f}%"


def _rate(value: float) -> str:
    return human_rate(value)


def _plain(value: float) -> str:
    return f"{value:.2f}"


def _celsius(value: float) -> str:
    return f"{value:.0f}°C"


@dataclass(frozen=True)
class MetricSpec:
    """One graph: the column it plots, how to label it and how to scale it."""

    key: str
    label: str
    group: str
    fmt: Callable[[float], str]
    ceiling: float | None = None
    """Fixed top of the scale (100 for percentages); None: the largest value shown."""
    floor: float = 1.0
    """The smallest top of an automatic scale, so idle noise stays flat."""
    detail: Callable[[Mapping[str, float]], str] | None = None
    """Extra text after the value (for example memory in bytes)."""
    hide_when_zero: bool = False
    """Shown only once the value was ever non-zero (swap)."""


def _mem_detail(values: Mapping[str, float]) -> str:
    return human_bytes(values.get("mem_used_bytes", 0.0))


def _swap_detail(values: Mapping[str, float]) -> str:
    return human_bytes(values.get("swap_used_bytes", 0.0))


def metric_specs(columns: Collection[str]) -> list[MetricSpec]:
    """The graphs for a sampler with these columns, in display order."""
    specs = [MetricSpec("cpu_percent", "CPU", "cpu", _percent, ceiling=100.0)]
    core = 0
    while f"cpu{core}_percent" in columns:
        specs.append(
            MetricSpec(f"cpu{core}_percent", f" cpu{core}", "core", _percent, ceiling=100.0)
        )
        core += 1
    specs.append(MetricSpec("mem_percent", "Mem", "mem", _percent, 100.0, detail=_mem_detail))
    if "swap_percent" in columns:
        specs.append(
            MetricSpec(
                "swap_percent",
                "Swap",
                "mem",
                _percent,
                100.0,
                detail=_swap_detail,
                hide_when_zero=True,
            )
        )
    specs += [
        MetricSpec("disk_read_bytes_per_s", "Disk R", "disk", _rate, floor=1024.0**2),
        MetricSpec("disk_write_bytes_per_s", "Disk W", "disk", _rate, floor=1024.0**2),
        MetricSpec("net_sent_bytes_per_s", "Net TX", "net", _rate, floor=1024.0**2),
        MetricSpec("net_recv_bytes_per_s", "Net RX", "net", _rate, floor=1024.0**2),
    ]
    if "load_1m" in columns:
        specs.append(MetricSpec("load_1m", "Load", "extra", _plain, floor=max(core, 1)))
    for resource in C.PSI_RESOURCES:
        key = C.psi_column(resource, "some").name
        if key in columns:
            specs.append(MetricSpec(key, f"PSI {resource[:3]}", "extra", _percent, 100.0))
    temps = sorted(c for c in columns if c.startswith("temp_") and c.endswith("_c"))
    if temps:
        specs.append(MetricSpec(temps[0], "Temp", "extra", _celsius, floor=100.0))
    return specs
