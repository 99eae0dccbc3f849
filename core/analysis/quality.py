"""Data quality of a run, reported before any response is trusted."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.rundir.read import RunBundle


@dataclass
class Quality:
    """What the dataset holds against what the plan promised.

    `problems` are the findings a reader must see (one line each); the other
    fields are the figures behind them.
    """

    samples: int = 0
    interval_s: float = 1.0
    first_s: float = float("nan")
    last_s: float = float("nan")
    planned_total_s: float = float("nan")
    expected_samples: int = 0
    missing_samples: int = 0
    gaps: int = 0
    max_gap_s: float = float("nan")
    gap_list: list[tuple[float, float]] = field(default_factory=list)
    non_increasing: int = 0
    bad_timestamps: int = 0
    clock_jumps: int = 0
    max_clock_drift_s: float = float("nan")
    lateness_ms: dict[str, float] = field(default_factory=dict)
    late_samples: int = 0
    truncated_last_row: bool = False
    bad_values: int = 0
    missing_values: dict[str, int] = field(default_factory=dict)
    events: int = 0
    events_by_status: dict[str, int] = field(default_factory=dict)
    events_without_samples: list[str] = field(default_factory=list)
    events_not_started: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary_rows(self) -> list[tuple[str, str]]:
        """(check, value) pairs for tables."""
        late = self.lateness_ms
        rows = [
            (
                "samples",
                f"{self.samples} (expected {self.expected_samples} at {self.interval_s:g} s)",
            ),
            ("missing samples", str(self.missing_samples)),
            ("covered", f"{self.first_s:.1f} s .. {self.last_s:.1f} s"),
            (
                "clock gaps",
                f"{self.gaps}" + (f" (max {self.max_gap_s:.2f} s)" if self.gaps else ""),
            ),
            ("clock jumps (wall vs run)", str(self.clock_jumps)),
            ("truncated last row", "yes (dropped)" if self.truncated_last_row else "no"),
            ("non-numeric values", str(self.bad_values)),
            (
                "events",
                f"{self.events} "
                + ", ".join(f"{k}: {v}" for k, v in sorted(self.events_by_status.items())),
            ),
            ("events without samples", ", ".join(self.events_without_samples) or "none"),
        ]
        if np.isfinite(self.planned_total_s):
            rows.insert(3, ("planned length", f"{self.planned_total_s:.1f} s"))
        if late:
            rows.append(
                (
                    "sample lateness ms",
                    f"mean {late['mean']:.2f}, p50 {late['p50']:.2f}, p95 {late['p95']:.2f}, "
                    f"p99 {late['p99']:.2f}, max {late['max']:.2f}",
                )
            )
        return rows


def assess(bundle: RunBundle) -> Quality:
    """Check samples, clocks, lateness and events of `bundle`."""
    data = bundle.dataset
    q = Quality(samples=len(data), interval_s=bundle.interval_s)
    q.truncated_last_row = bundle.truncated_last_row
    q.bad_values = bundle.bad_values
    problems = list(bundle.notes)
    if bundle.schedule is not None:
        q.planned_total_s = bundle.schedule.total_s
    t = data["elapsed_s"].to_numpy(dtype=float)
    interval = bundle.interval_s
    if len(t):
        q.first_s, q.last_s = float(t[0]), float(t[-1])
        q.expected_samples = round((t[-1] - t[0]) / interval) + 1
        q.missing_samples = max(0, q.expected_samples - len(t))
        if np.isfinite(q.planned_total_s) and t[-1] < q.planned_total_s - 1.5 * interval:
            problems.append(
                f"data ends at {t[-1]:.1f} s of a planned {q.planned_total_s:.1f} s run"
            )
    else:
        problems.append("the dataset has no samples")
    if len(t) > 1:
        step = np.diff(t)
        gap_rows = np.flatnonzero(step > 1.5 * interval)
        q.gaps = len(gap_rows)
        q.non_increasing = int((step <= 0).sum())
        if q.gaps:
            q.max_gap_s = float(step[gap_rows].max())
            worst = gap_rows[np.argsort(-step[gap_rows])[:5]]
            q.gap_list = [(float(t[i]), float(step[i])) for i in sorted(worst)]
            problems.append(
                f"{q.gaps} clock gap(s) longer than 1.5 intervals, up to {q.max_gap_s:.2f} s"
            )
        if q.missing_samples:
            problems.append(f"{q.missing_samples} sample(s) missing of {q.expected_samples}")
        if q.non_increasing:
            problems.append(f"elapsed_s fails to increase {q.non_increasing} time(s)")
        stamps = pd.to_datetime(data["timestamp"], utc=True, format="ISO8601", errors="coerce")
        q.bad_timestamps = int(stamps.isna().sum())
        ok = stamps.notna().to_numpy()
        if ok.sum() > 1:
            wall = (stamps[ok] - stamps[ok].iloc[0]).dt.total_seconds().to_numpy()
            drift = wall - (t[ok] - t[ok][0])
            q.max_clock_drift_s = float(np.abs(drift).max())
            q.clock_jumps = int((np.abs(np.diff(drift)) > max(0.5, interval / 2)).sum())
            if q.clock_jumps:
                problems.append(
                    f"wall clock jumped against the run clock {q.clock_jumps} time(s) "
                    f"(max drift {q.max_clock_drift_s:.2f} s)"
                )
        if q.bad_timestamps:
            problems.append(f"{q.bad_timestamps} timestamp(s) are not ISO 8601")
    if "sample_lateness_ms" in data.columns and data["sample_lateness_ms"].notna().any():
        late = data["sample_lateness_ms"].dropna()
        q.lateness_ms = {
            "mean": float(late.mean()),
            "p50": float(late.quantile(0.5)),
            "p95": float(late.quantile(0.95)),
            "p99": float(late.quantile(0.99)),
            "max": float(late.max()),
        }
        q.late_samples = int((late > interval * 500.0).sum())
        if q.late_samples:
            problems.append(f"{q.late_samples} sample(s) later than half an interval")
    if q.truncated_last_row:
        problems.append("the last line was truncated (killed run?) and was dropped")
    if q.bad_values:
        problems.append(f"{q.bad_values} value(s) were not numbers (read as empty)")
    metric_cols = [c for c in bundle.metric_columns if c in data.columns]
    nan_counts = data[metric_cols].isna().sum()
    q.missing_values = {str(k): int(v) for k, v in nan_counts.items() if v}
    if q.missing_values:
        problems.append(
            f"empty cells in {len(q.missing_values)} column(s): "
            + ", ".join(f"{k} ({v})" for k, v in list(q.missing_values.items())[:5])
        )
    _assess_events(bundle, t, q, problems)
    q.problems = problems
    return q


def _assess_events(bundle: RunBundle, t: np.ndarray, q: Quality, problems: list[str]) -> None:
    events = bundle.events
    q.events = len(events)
    q.events_by_status = {str(k): int(v) for k, v in events["status"].value_counts().items()}
    started = events.loc[events["start_s"].notna()]
    lo = np.searchsorted(t, started["start_s"].to_numpy(), side="right")
    hi = np.searchsorted(t, started["end_s"].to_numpy(), side="right")
    q.events_without_samples = [str(e) for e in started["event_id"].to_numpy()[hi <= lo]]
    q.events_not_started = [str(e) for e in events.loc[events["start_s"].isna(), "event_id"]]
    if q.events_without_samples:
        problems.append("events without samples: " + ", ".join(q.events_without_samples))
    if q.events_not_started:
        problems.append("events that never started: " + ", ".join(q.events_not_started))
    unfinished = events.loc[~events["status"].isin(["completed", "not started"]), "event_id"]
    if len(unfinished):
        problems.append("events that did not complete: " + ", ".join(map(str, unfinished)))
