"""The predictive twin: learn how this node responds to stress, predict planned runs.

Public API:
- `fit_runs(run_dirs)` -> `(TwinModel, notes)`; `TwinModel.save(path)`, `load_model(path)`;
- `predict_schedule(model, schedule, baseline=None, interval=0.9)` -> DataFrame (`elapsed_s` +
  per metric its column and `_lo`/`_hi` band, on a run's sample clock), `write_prediction`;
- `predict_into_run(run_dir, schedule)`: `RUN_DIR/prediction.csv` from the default model (or None);
- `overload_warnings(model, schedule)`, `host_warning(model)`, `unmodelled_warnings(...)`,
  `range_warnings(model, schedule)` (parameters outside the training range);
- `forecast_schedule(model, schedule)` -> `Forecast`: the series and all of those warnings;
- `default_model()` / `find_model(host_id)`: the newest model in `data/models/` for this host;
- `measure_levels()`: this machine's levels now, to pass as `baseline=` (calibrated);
- `whatif_schedule(model, cpu_percent=..., memory_mb=...)` for one-off questions.
"""

from __future__ import annotations

from core.model.fit import fit_runs, load_training_run
from core.model.forecast import Forecast, forecast_schedule
from core.model.intervals import DEFAULT_INTERVAL
from core.model.overload import Overload, overload_warnings
from core.model.predict import (
    default_model,
    host_warning,
    measure_levels,
    predict_demand,
    predict_into_run,
    predict_schedule,
    sample_clock,
    unmodelled_warnings,
    whatif_schedule,
    write_prediction,
)
from core.model.ranges import OutOfRange, range_warnings
from core.model.store import (
    DEFAULT_MODELS_DIR,
    MetricModel,
    Term,
    TwinModel,
    default_model_path,
    find_model,
    load_model,
)

__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_MODELS_DIR",
    "Forecast",
    "MetricModel",
    "OutOfRange",
    "Overload",
    "Term",
    "TwinModel",
    "default_model",
    "default_model_path",
    "find_model",
    "fit_runs",
    "forecast_schedule",
    "host_warning",
    "load_model",
    "load_training_run",
    "measure_levels",
    "overload_warnings",
    "predict_demand",
    "predict_into_run",
    "predict_schedule",
    "range_warnings",
    "sample_clock",
    "unmodelled_warnings",
    "whatif_schedule",
    "write_prediction",
]
