"""`forecast_schedule`: a schedule's predicted series and every warning about it, in one call.

What `twin predict` prints and the TUI's predict dialog shows come from here, so both warn
alike: the model's host against this one, stressor kinds or parameters never seen in training,
parameters outside the training range, and the stretches where the plan would overload the
node; the series carries the prediction intervals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from core.model.intervals import DEFAULT_INTERVAL
from core.model.overload import Overload, overload_warnings
from core.model.predict import host_warning, predict_demand, predict_schedule, unmodelled_warnings
from core.model.ranges import OutOfRange, range_warnings
from core.model.store import TwinModel
from core.schedule import Schedule


@dataclass(frozen=True)
class Forecast:
    """A schedule's expected series (as `predict_schedule`) and what to warn about."""

    schedule: Schedule
    series: pd.DataFrame
    warnings: tuple[str, ...]
    """Host mismatch, events whose kind or parameters the model never saw, then every event
    parameter outside the training range (also in `out_of_range`)."""
    overloads: tuple[Overload, ...]
    out_of_range: tuple[OutOfRange, ...] = ()
    interval: float | None = DEFAULT_INTERVAL


def forecast_schedule(
    model: TwinModel,
    schedule: Schedule,
    baseline: Mapping[str, float] | None = None,
    interval: float | None = DEFAULT_INTERVAL,
) -> Forecast:
    """Predict `schedule` (from `baseline` levels when given, with `interval` bands) and
    collect every warning."""
    mismatch = host_warning(model)
    ranges = range_warnings(model, schedule)
    warnings = [
        *([mismatch] if mismatch else []),
        *unmodelled_warnings(model, schedule),
        *(str(w) for w in ranges),
    ]
    demand = predict_demand(model, schedule, baseline)
    return Forecast(
        schedule=schedule,
        series=predict_schedule(model, schedule, baseline, interval),
        warnings=tuple(warnings),
        overloads=tuple(overload_warnings(model, schedule, baseline, demand)),
        out_of_range=tuple(ranges),
        interval=interval,
    )
