"""What a probe and a steady-state hypothesis are: kinds, keys, defaults and their columns.

The keys are a contract (README, "Profiles", `[[probes]]` and `[steady_state]`); the profile
reader (`core.profile.read_probes`) checks them, the engine (`core.probes.engine`) runs them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.telemetry.columns import Column, probe_columns

KINDS = ("http", "tcp", "sched", "fsync", "command")
PROBE_KEYS = ("name", "kind", "url", "address", "argv", "expect_status", "every_s", "timeout_s")
TARGET_KEY = {"http": "url", "tcp": "address", "command": "argv"}
"""The one key each kind needs (sched and fsync need none)."""
STEADY_STATE_KEYS = ("abort", "tolerances")
BOUND_KEYS = ("max", "min")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
DEFAULT_EVERY_S = 1.0
EVERY_RANGE = (0.01, 60.0)
DEFAULT_TIMEOUT_S = 1.0
TIMEOUT_RANGE = (0.001, 60.0)
SCHED_SLEEP_S = 0.001
"""The sched probe's fixed sleep; what it records is the overshoot past it."""
FSYNC_BYTES = 4096


@dataclass(frozen=True)
class ProbeSpec:
    """One `[[probes]]` entry, checked: a name, a kind and the kind's target."""

    name: str
    kind: str
    every_s: float = DEFAULT_EVERY_S
    timeout_s: float = DEFAULT_TIMEOUT_S
    url: str = ""
    address: str = ""
    argv: tuple[str, ...] = ()
    expect_status: int | None = None

    @property
    def columns(self) -> list[Column]:
        """The dataset columns this probe fills, in file order."""
        return probe_columns(self.name)

    def target(self) -> str:
        """What the probe asks, for `twin plan` and messages."""
        if self.kind == "http":
            expect = f" (expect {self.expect_status})" if self.expect_status else ""
            return f"GET {self.url}{expect}"
        if self.kind == "tcp":
            return f"connect {self.address}"
        if self.kind == "command":
            return " ".join(self.argv)
        if self.kind == "sched":
            return f"sleep {SCHED_SLEEP_S * 1000:g} ms, record the overshoot"
        return f"write + fdatasync {FSYNC_BYTES // 1024} KiB in the run directory"


@dataclass(frozen=True)
class Tolerance:
    """A dataset column's allowed range: a deviation is a sample above `max` or below `min`."""

    column: str
    max: float | None = None
    min: float | None = None

    def broken_by(self, value: float) -> str | None:
        """`"max"` or `"min"` when `value` lies outside, else None (NaN: nothing measured)."""
        if self.max is not None and value > self.max:
            return "max"
        if self.min is not None and value < self.min:
            return "min"
        return None

    def bounds(self) -> dict[str, float]:
        """`{"max": 50}` as the profile writes it (and run.json repeats it)."""
        return {k: v for k, v in (("max", self.max), ("min", self.min)) if v is not None}

    def describe(self) -> str:
        """`>= 1073741824 and <= 50`: as the profile writes the bounds (whole numbers whole)."""
        parts = []
        if self.min is not None:
            parts.append(f">= {_number(self.min)}")
        if self.max is not None:
            parts.append(f"<= {_number(self.max)}")
        return " and ".join(parts)


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e18 else f"{value:g}"


@dataclass(frozen=True)
class SteadyStateSpec:
    """`[steady_state]`: the tolerances, and whether the first deviation stops the run."""

    abort: bool = False
    tolerances: tuple[Tolerance, ...] = field(default_factory=tuple)


def probe_column_names(probes: tuple[ProbeSpec, ...] | list[ProbeSpec]) -> list[str]:
    return [c.name for p in probes for c in p.columns]
