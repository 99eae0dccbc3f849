"""What the predictive model (`core.model`) tells the TUI: a plan's summary, a run's track.

No Textual here. `core.model` pulls in numpy and pandas, so it is imported only
inside these functions (called from thread workers), never when the app starts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import BadInput, ProfileError, TwinError
from core.schedule import Schedule
from core.telemetry import metric_lists
from tui.data.draft import Draft
from tui.data.units import human_bytes, human_rate

MODELS_DIR: Path | None = None
"""Where models are looked for; None: the model store's default (`data/models/`)."""


def _percent(value: float) -> str:
    return f"{value:.1f}%"


def _plain(value: float) -> str:
    return f"{value:.2f}"


_SHOWN: dict[str, tuple[str, Callable[[float], str]]] = {
    "cpu_percent": ("CPU", _percent),
    "mem_used_bytes": ("Mem used", human_bytes),
    "mem_available_bytes": ("Mem available", human_bytes),
    "swap_percent": ("Swap", _percent),
    "load_1m": ("Load 1m", _plain),
    "disk_read_bytes_per_s": ("Disk read", human_rate),
    "disk_write_bytes_per_s": ("Disk write", human_rate),
    "net_sent_bytes_per_s": ("Net TX", human_rate),
    "net_recv_bytes_per_s": ("Net RX", human_rate),
}
SUMMARY_METRICS: tuple[tuple[str, str, Callable[[float], str]], ...] = tuple(
    (key, *_SHOWN.get(key, (key, _plain))) for key in metric_lists.SUMMARY_METRICS
)
"""The metrics the predict dialog lists: the data dictionary's `SUMMARY_METRICS` (those the
model has), each with its label and format."""


@dataclass(frozen=True)
class MetricForecast:
    label: str
    peak: str
    mean: str


@dataclass(frozen=True)
class Forecast:
    """The predict dialog's content."""

    name: str
    total_s: float
    metrics: tuple[MetricForecast, ...]
    warnings: tuple[str, ...]


def load_default_model() -> Any | None:
    """The newest model for this host (`core.model.default_model`), or None."""
    from core.model import DEFAULT_MODELS_DIR, default_model

    return default_model(MODELS_DIR if MODELS_DIR is not None else DEFAULT_MODELS_DIR)


def forecast(model: Any, schedule: Schedule) -> Forecast:
    """Predict `schedule` with `model`: per-metric peak and mean, and every warning."""
    from core.model import forecast_schedule

    told = forecast_schedule(model, schedule)
    frame = told.series
    metrics: list[MetricForecast] = []
    for key, label, fmt in SUMMARY_METRICS:
        if key in frame.columns and len(frame):
            column = frame[key]
            metrics.append(
                MetricForecast(label, fmt(float(column.max())), fmt(float(column.mean())))
            )
    warnings = [*told.warnings, *(str(w) for w in told.overloads)]
    return Forecast(schedule.name, schedule.total_s, tuple(metrics), tuple(warnings))


class NoForecast(Exception):
    """Why the edited plan cannot be predicted: what to tell the operator, and how loudly."""

    def __init__(self, text: str, severity: str = "error", timeout: float = 5.0) -> None:
        super().__init__(text)
        self.text = text
        self.severity: Any = severity
        self.timeout = timeout


def forecast_draft(draft: Draft, scratch_dir: Path) -> Forecast:
    """What the newest model of this host predicts for `draft`; raises `NoForecast`.

    Blocking (loads the model, pandas): call it from a thread worker.
    """
    try:
        schedule = draft.schedule(scratch_dir)
    except ProfileError:
        raise NoForecast("the profile has problems: fix them to predict") from None
    try:
        model = load_default_model()
        if model is None:
            raise NoForecast(
                "no model for this host: run `twin model fit RUN_DIR...`", "warning", 8
            )
        return forecast(model, schedule)
    except (TwinError, OSError, ValueError) as exc:
        raise NoForecast(f"cannot predict: {exc}") from None


class PredictionTrack:
    """A run's `prediction.csv`: the predicted value of a metric at an elapsed time."""

    def __init__(self, elapsed_s: Sequence[float], columns: Mapping[str, Sequence[float]]) -> None:
        import numpy as np

        self._t = np.asarray(elapsed_s, dtype=float)
        self._columns = {k: np.asarray(v, dtype=float) for k, v in columns.items()}

    @classmethod
    def load(cls, run_dir: Path, keys: Sequence[str]) -> PredictionTrack | None:
        """Read `keys` of a run's `prediction.csv` through the engine's one reader
        (`core.rundir.read.load_prediction`); None when it is missing, empty or unreadable."""
        from core.rundir.read import load_prediction

        try:
            frame = load_prediction(run_dir)
        except (BadInput, OSError):
            return None
        if frame is None or frame.empty:
            return None
        columns = {k: frame[k].to_numpy(dtype=float) for k in keys if k in frame.columns}
        if not columns:
            return None
        return cls(frame["elapsed_s"].to_numpy(dtype=float), columns)

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(self._columns)

    def at(self, key: str, elapsed_s: float) -> float | None:
        """The predicted `key` at `elapsed_s` (interpolated; held at the ends)."""
        import numpy as np

        values = self._columns.get(key)
        if values is None:
            return None
        return float(np.interp(elapsed_s, self._t, values))
