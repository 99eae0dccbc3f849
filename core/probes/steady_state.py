"""The steady-state hypothesis: tolerances on dataset columns, checked at every sample.

A deviation is one excursion of a column outside its tolerance: it begins at the first
sample outside (that sample's value, time and events are what run.json and the stderr line
give) and lasts while the column stays outside (`worst` and `samples` follow it). An empty
cell (no successful probe) neither begins nor ends one; a tolerance on the errors column
catches a target that stopped answering.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.probes.spec import SteadyStateSpec, Tolerance

MAX_LISTED = 1000  # deviations listed in run.json; beyond it they are only counted

HELD, DEVIATED, NOT_CHECKED = "held", "deviated", "not-checked"


@dataclass
class Deviation:
    column: str
    bound: str  # "max" | "min"
    limit: float
    value: float
    elapsed_s: float
    active_events: tuple[str, ...]
    worst: float = math.nan
    samples: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "limit": {self.bound: self.limit},
            "value": round(self.value, 3),
            "elapsed_s": round(self.elapsed_s, 3),
            "active_events": list(self.active_events),
            "worst": round(self.worst, 3),
            "samples": self.samples,
        }

    def line(self) -> str:
        """The one stderr line that reports it while the run goes on."""
        sign = ">" if self.bound == "max" else "<"
        during = f" during {';'.join(self.active_events)}" if self.active_events else ""
        return (
            f"twin: steady state deviated at {self.elapsed_s:.1f} s: {self.column} = "
            f"{self.value:.4g} {sign} {self.bound} {self.limit:g}{during}"
        )


@dataclass
class SteadyStateMonitor:
    """Checks each sample against the tolerances; `observe` returns the deviations it began."""

    spec: SteadyStateSpec | None
    deviations: list[Deviation] = field(default_factory=list)
    unlisted: int = 0
    _open: dict[str, Deviation] = field(default_factory=dict)

    @property
    def checked(self) -> bool:
        return self.spec is not None and bool(self.spec.tolerances)

    @property
    def deviated(self) -> bool:
        return bool(self.deviations) or self.unlisted > 0

    @property
    def verdict(self) -> str:
        if not self.checked:
            return NOT_CHECKED
        return DEVIATED if self.deviated else HELD

    def observe(
        self, elapsed_s: float, values: Mapping[str, float], active: Sequence[str]
    ) -> list[Deviation]:
        if self.spec is None:
            return []
        begun = []
        for tolerance in self.spec.tolerances:
            value = values.get(tolerance.column)
            if value is None or math.isnan(value):
                continue
            deviation = self._check(tolerance, value, elapsed_s, tuple(active))
            if deviation is not None:
                begun.append(deviation)
        return begun

    def _check(
        self, tolerance: Tolerance, value: float, elapsed_s: float, active: tuple[str, ...]
    ) -> Deviation | None:
        column = tolerance.column
        bound = tolerance.broken_by(value)
        current = self._open.get(column)
        if bound is None:
            self._open.pop(column, None)
            return None
        if current is not None and current.bound == bound:
            current.samples += 1
            worse = value > current.worst if bound == "max" else value < current.worst
            current.worst = value if worse else current.worst
            return None
        limit = tolerance.max if bound == "max" else tolerance.min
        assert limit is not None
        deviation = Deviation(column, bound, limit, value, elapsed_s, active, worst=value)
        self._open[column] = deviation
        if len(self.deviations) < MAX_LISTED:
            self.deviations.append(deviation)
        else:
            self.unlisted += 1
        return deviation

    def to_json(self) -> dict[str, Any]:
        """run.json's `"steady_state"`."""
        out: dict[str, Any] = {
            "verdict": self.verdict,
            "deviations": [d.to_json() for d in self.deviations],
        }
        if self.unlisted:
            out["deviations_not_listed"] = self.unlisted
        if self.spec is not None:
            out["abort"] = self.spec.abort
            out["tolerances"] = {t.column: t.bounds() for t in self.spec.tolerances}
        return out
