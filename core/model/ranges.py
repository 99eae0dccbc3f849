"""Which events of a plan ask the model to extrapolate: parameters outside the training range.

A linear gain learnt from 256-2048 MiB says little about 6144 MiB; a what-if that is wrong with
confidence is worse than none. `range_warnings` names each event and parameter whose drive
lies outside what the training runs covered (`kinds[kind]["feature_min"/"feature_max"]` of the
model file), by more than `SLACK`.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.model.response import event_features
from core.model.store import TwinModel
from core.schedule import Event, Schedule

SLACK = 0.10  # 10% beyond the range is still "in range"


@dataclass(frozen=True)
class OutOfRange:
    """One event parameter beyond the training range."""

    event_id: str
    kind: str
    param: str
    value: float
    low: float
    high: float

    def __str__(self) -> str:
        side = "above" if self.value > self.high else "below"
        return (
            f"event {self.event_id} ({self.kind}): {self.param} {self.value:g} is {side} the "
            f"training range {self.low:g}-{self.high:g}: its effect is extrapolated"
        )


def _param_of(feature: str) -> str:
    """The profile parameter a feature comes from."""
    if feature == "drive":
        return "drive (load_percent x workers / CPUs)"
    if feature.endswith("_rate_mb_s"):
        return "rate_mb_s"
    return feature


def _event_ranges(model: TwinModel, event: Event) -> list[OutOfRange]:
    info = model.kinds.get(event.stressor)
    if not info:
        return []  # a kind never seen is its own warning (unmodelled_warnings)
    highs, lows = info.get("feature_max", {}), info.get("feature_min", {})
    out: list[OutOfRange] = []
    for name, value in event_features(event.stressor, event.params, model.n_cpus).items():
        if name not in highs or name.endswith("uncapped"):
            continue
        high, low = float(highs[name]), float(lows.get(name, 0.0))  # old files: no minimum
        if value > high * (1.0 + SLACK) or value < low * (1.0 - SLACK):
            out.append(OutOfRange(event.id, event.stressor, _param_of(name), value, low, high))
    return out


def range_warnings(model: TwinModel, schedule: Schedule) -> list[OutOfRange]:
    """Every event parameter of `schedule` outside the model's training range."""
    return [w for event in schedule.events for w in _event_ranges(model, event)]
