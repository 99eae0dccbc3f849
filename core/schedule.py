"""The plan of a run: plain data shared by the runner, the TUI, analysis and the model.

`start_s` is on the run clock: seconds since the run started, baseline
included; never a wall-clock time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODES = ("sequential", "parallel")
"""How a profile places its events (stressor kinds live in the stressor table, core.stressors)."""


@dataclass(frozen=True)
class Event:
    """One planned stress event."""

    id: str
    stressor: str
    params: dict[str, Any]
    start_s: float
    duration_s: float
    label: str = ""

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "stressor": self.stressor,
            "label": self.label,
            "params": dict(self.params),
            "start_s": round(self.start_s, 6),
            "duration_s": round(self.duration_s, 6),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(
            id=str(data["id"]),
            stressor=str(data["stressor"]),
            label=str(data.get("label") or ""),
            params=dict(data.get("params") or {}),
            start_s=float(data["start_s"]),
            duration_s=float(data["duration_s"]),
        )


@dataclass(frozen=True)
class Schedule:
    """A resolved plan: what `schedule.json` holds and what the runner executes."""

    name: str
    mode: str
    events: tuple[Event, ...]
    total_s: float
    interval_s: float = 1.0
    baseline_s: float = 0.0
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "seed": self.seed,
            "interval_s": self.interval_s,
            "baseline_s": self.baseline_s,
            "total_s": round(self.total_s, 6),
            "events": [e.to_json() for e in self.events],
            **self.extra,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schedule:
        known = {"name", "mode", "seed", "interval_s", "baseline_s", "total_s", "events"}
        events = tuple(Event.from_json(e) for e in data.get("events", []))
        end = max((e.end_s for e in events), default=0.0)
        return cls(
            name=str(data["name"]),
            mode=str(data.get("mode", "sequential")),
            seed=data.get("seed"),
            interval_s=float(data.get("interval_s", 1.0)),
            baseline_s=float(data.get("baseline_s", 0.0)),
            total_s=float(data.get("total_s", end)),
            events=events,
            extra={k: v for k, v in data.items() if k not in known},
        )

    @classmethod
    def load(cls, path: Path) -> Schedule:
        return cls.from_json(json.loads(path.read_text()))

    def active_at(self, t: float) -> list[Event]:
        """Events planned to be running at run-clock time `t`."""
        return [e for e in self.events if e.start_s <= t < e.end_s]
