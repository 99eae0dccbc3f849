"""Every metric list, in one place: named, documented choices of the data dictionary's columns.

`column(name)` finds any dataset column's entry (per-core, pressure, sensor and probe columns
too); `HEADLINE_METRICS`, `RESPONSE_METRICS` and `SUMMARY_METRICS` are the named choices, and
`METRIC_FAMILIES` the columns whose names depend on the machine or the profile. Analysis, the
model and the UIs pick from here (`pick`), never from a list of their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from core.telemetry.columns import (
    ACTIVE_EVENTS,
    CONTRACT_AFTER_CORES,
    CONTRACT_BEFORE_CORES,
    CPU_EXTRAS,
    ELAPSED,
    FREQ,
    MEM_EXTRAS,
    NET_EXTRAS,
    OUTPUT_FS,
    PCP_FREE,
    QUALITY,
    STRESS_WORK,
    TIMESTAMP,
    Column,
    cpu_core_column,
    probe_columns,
    psi_column,
    temperature_column,
)

STATIC_COLUMNS: tuple[Column, ...] = (
    *CONTRACT_BEFORE_CORES,
    *CONTRACT_AFTER_CORES,
    *CPU_EXTRAS,
    *MEM_EXTRAS,
    *NET_EXTRAS,
    PCP_FREE,
    FREQ,
    *OUTPUT_FS,
    *QUALITY,
    *STRESS_WORK,
)
"""Every column whose name does not depend on the machine."""
_BY_NAME = {c.name: c for c in STATIC_COLUMNS}
CPU_CORE = re.compile(r"^cpu(\d+)_percent$")
_PSI = re.compile(r"^psi_(\w+)_(some|full)_percent$")
_TEMP = re.compile(r"^temp_(\w+)_c$")
PROBE_COLUMN = re.compile(r"^probe_([a-z][a-z0-9_]*)_(count|errors|p50_ms|p99_ms|max_ms)$")


def column(name: str) -> Column | None:
    """The data dictionary's entry for a dataset column (per-core, pressure and sensors too)."""
    if name in _BY_NAME:
        return _BY_NAME[name]
    if match := CPU_CORE.match(name):
        return cpu_core_column(int(match.group(1)))
    if match := _PSI.match(name):
        return psi_column(match.group(1), match.group(2))
    if match := _TEMP.match(name):
        return temperature_column(match.group(1))
    if match := PROBE_COLUMN.match(name):
        return next(c for c in probe_columns(match.group(1)) if c.name == name)
    return None


def is_level(name: str) -> bool:
    """Whether a column is a gauge read at the sample instant (unknown columns: no)."""
    entry = column(name)
    return entry is not None and entry.level


# ---- the named choices -------------------------------------------------------------------

NON_METRIC: tuple[str, ...] = (TIMESTAMP.name, ELAPSED.name, ACTIVE_EVENTS.name)
"""The clock and the event ids; every other dataset column is a number to analyse."""

HEADLINE_METRICS: tuple[str, ...] = (
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
"""The contract's load figures, which every run has: what the model learns, and the core of
what analysis measures (then the machine-dependent families below)."""

RESPONSE_METRICS: tuple[str, ...] = (*HEADLINE_METRICS, "cpu_iowait_percent")
"""Whose response to each event `twin analyze` measures: the headline metrics plus iowait (disk
stress shows there when the busy share does not), then every `RESPONSE_FAMILIES` column."""

SUMMARY_METRICS: tuple[str, ...] = tuple(
    m
    for m in HEADLINE_METRICS
    if m not in ("mem_percent", "disk_read_ops_per_s", "disk_write_ops_per_s")
)
"""A prediction's summary (`twin predict`, the TUI's predict dialog): the headline metrics but
memory as a share and the operation counts, which repeat what the bytes say; all are in the CSV."""

SAMPLING_COLUMNS: tuple[str, ...] = ("sample_interval_s", "sample_lateness_ms")
"""The logger's clock bookkeeping: described with the data, never correlated with the load."""

METRIC_FAMILIES: dict[str, re.Pattern[str]] = {
    "psi": re.compile(r"^psi_\w+_percent$"),
    "temp": _TEMP,
    "probe": PROBE_COLUMN,
    "probe_p99": re.compile(r"^probe_[a-z][a-z0-9_]*_p99_ms$"),
}
"""Metric columns whose names depend on the machine, by family (add a family here: analysis
and the model pick it up through `RESPONSE_FAMILIES` / `MODEL_FAMILIES`)."""
RESPONSE_FAMILIES: tuple[str, ...] = ("psi", "probe")
"""Families `twin analyze` measures responses of, after `RESPONSE_METRICS`."""
MODEL_FAMILIES: tuple[str, ...] = ("psi", "temp", "probe_p99")
"""Families the model learns, after `HEADLINE_METRICS`."""


def family_columns(columns: Iterable[str], families: Sequence[str]) -> list[str]:
    """The columns, in their order, that belong to any of `families`."""
    patterns = [METRIC_FAMILIES[f] for f in families]
    return [c for c in columns if any(p.match(c) for p in patterns)]


def pick(columns: Iterable[str], named: Sequence[str], families: Sequence[str] = ()) -> list[str]:
    """The `named` metrics present (in `named` order), then the present `families` columns."""
    present = list(columns)
    have = set(present)
    main = [m for m in named if m in have]
    return main + [c for c in family_columns(present, families) if c not in main]
