"""`forecast_schedule`: a schedule's predicted series and every warning about it, in one call.

What `twin predict` prints and the TUI's predict dialog shows come from here, so both warn
alike: the model's host against this one, stressor kinds or parameters never seen in training,
and the stretches where the plan would overload the node. Prediction intervals and capacity
answers (issue 14) belong on `Forecast` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from core.model.predict import (
    Overload,
    host_warning,
    overload_warnings,
    predict_schedule,
    unmodelled_warnings,
)
from core.model.store import TwinModel
from core.schedule import Schedule


@dataclass(frozen=True)
class Forecast:
    """A schedule's expected series (as `predict_schedule`) and what to warn about."""

    schedule: Schedule
    series: pd.DataFrame
    warnings: tuple[str, ...]
    """Host mismatch, then events whose kind or parameters the model never saw."""
    overloads: tuple[Overload, ...]


def forecast_schedule(
    model: TwinModel, schedule: Schedule, baseline: Mapping[str, float] | None = None
) -> Forecast:
    """Predict `schedule` (from `baseline` levels when given) and collect every warning."""
    mismatch = host_warning(model)
    warnings = ([mismatch] if mismatch else []) + unmodelled_warnings(model, schedule)
    return Forecast(
        schedule=schedule,
        series=predict_schedule(model, schedule, baseline),
        warnings=tuple(warnings),
        overloads=tuple(overload_warnings(model, schedule, baseline)),
    )
