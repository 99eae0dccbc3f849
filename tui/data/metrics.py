"""Which graphs the dashboard shows, with their labels, units and scales.

Built from the columns the sampler really has: extras (pressure, temperature,
load) appear only where the machine provides them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from core.probes import ProbeSpec, Tolerance
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
    limit: Tolerance | None = None
    """The `[steady_state]` tolerance of `key`: shown beside the value, which turns red beyond."""
    errors: Tolerance | None = None
    """A probe row: its `probe_<name>_errors` column (a tolerance with no bound if none)."""

    def breaks(self, latest: Mapping[str, float]) -> bool:
        """Whether `latest` is beyond this row's tolerance (its value or its errors)."""
        return any(
            t is not None and t.column in latest and t.broken_by(latest[t.column]) is not None
            for t in (self.limit, self.errors)
        )


def _millis(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.1f}ms" if abs(value) < 100 else f"{value:.0f}ms"


def _mem_detail(values: Mapping[str, float]) -> str:
    return human_bytes(values.get("mem_used_bytes", 0.0))


def _swap_detail(values: Mapping[str, float]) -> str:
    return human_bytes(values.get("swap_used_bytes", 0.0))


def probe_specs(probes: Sequence[ProbeSpec], tolerances: Sequence[Tolerance]) -> list[MetricSpec]:
    """A row per probe: its p99 latency, its errors, and the tolerances set on either."""
    bound = {t.column: t for t in tolerances}
    specs = []
    for probe in probes:
        key = f"probe_{probe.name}_p99_ms"
        errors_key = f"probe_{probe.name}_errors"
        limit = bound.get(key)
        top = limit.max if limit is not None and limit.max is not None else 1.0
        specs.append(
            MetricSpec(
                key,
                probe.name[:6],
                "probe",
                _millis,
                floor=top,  # the scale reaches the tolerance: a bar at the top is at the limit
                limit=limit,
                errors=bound.get(errors_key, Tolerance(errors_key)),
            )
        )
    return specs


def limit_text(spec: MetricSpec) -> str:
    """`≤50ms`: the bounds of a row's tolerance, in its unit ("" when it has none)."""
    if spec.limit is None:
        return ""
    parts = []
    if spec.limit.min is not None:
        parts.append(f"≥{spec.fmt(spec.limit.min).strip()}")
    if spec.limit.max is not None:
        parts.append(f"≤{spec.fmt(spec.limit.max).strip()}")
    return " ".join(parts)


def metric_specs(
    columns: Collection[str], extra: Sequence[MetricSpec] = ()
) -> list[MetricSpec]:
    """The graphs for a sampler with these columns, in display order; `extra` (probe rows)
    after the network, before the optional extras (load, pressure, temperature)."""
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
        *extra,
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
