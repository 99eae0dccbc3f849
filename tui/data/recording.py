"""A recorded run, as the replay screen reads it, and the replay's time cursor.

No Textual here. The run directory is read only through the engine's one reader
(`core.rundir.read.load_run`, pandas), so call `Recording.load` from a thread worker or
before the app starts; a directory that is not a run raises `BadInput` (one line, exit 2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.rundir.read import NON_METRIC, load_run

REPLAY_SERIAL = 0
"""The session serial a replayed run's events are keyed by for the strip (`0:e01`); the
engine's sessions count from 1."""


@dataclass(frozen=True)
class RecordedEvent:
    event_id: str
    stressor: str
    start_s: float
    end_s: float


@dataclass
class Recording:
    """A run's samples, column by column, its events and its prediction (if it has one)."""

    path: Path
    name: str
    interval_s: float
    elapsed_s: list[float]
    timestamps: list[str]
    columns: dict[str, list[float]]
    active: list[tuple[str, ...]]
    events: list[RecordedEvent]
    predicted: dict[str, list[float]] = field(default_factory=dict)
    """The model's value of a column at each sample (interpolated onto the run's clock)."""

    @classmethod
    def load(cls, path: Path) -> Recording:
        """Read RUN_DIR through `load_run` (BadInput when it is not a run, or is empty)."""
        import numpy as np

        from core.errors import BadInput

        bundle = load_run(path)
        data = bundle.dataset
        if data.empty:
            raise BadInput(f"{path}: the run has no samples to replay")
        elapsed = data["elapsed_s"].to_numpy(dtype=float)
        columns = {
            c: data[c].to_numpy(dtype=float).tolist()
            for c in data.columns
            if c not in NON_METRIC and data[c].dtype.kind in "fiu"
        }
        active_texts = data["active_events"] if "active_events" in data else [""] * len(data)
        active = [tuple(e for e in str(t).split(";") if e) for t in active_texts]
        events = [
            RecordedEvent(str(r.event_id), str(r.stressor), float(r.start_s), float(r.end_s))
            for r in bundle.events.itertuples()
            if math.isfinite(float(r.start_s))
        ]
        events.sort(key=lambda e: (e.start_s, e.event_id))
        predicted: dict[str, list[float]] = {}
        frame = bundle.prediction()
        if frame is not None and len(frame):
            t = frame["elapsed_s"].to_numpy(dtype=float)
            for column in frame.columns:
                if column in columns and frame[column].dtype.kind in "fiu":
                    values = frame[column].to_numpy(dtype=float)
                    predicted[column] = np.interp(elapsed, t, values).tolist()
        return cls(
            path=bundle.path,
            name=bundle.name or bundle.path.name,
            interval_s=bundle.interval_s,
            elapsed_s=elapsed.tolist(),
            timestamps=[str(t) for t in data["timestamp"]],
            columns=columns,
            active=active,
            events=events,
            predicted=predicted,
        )

    def __len__(self) -> int:
        return len(self.elapsed_s)

    @property
    def kinds(self) -> dict[str, str]:
        """`"0:event id"` -> stressor, as the event strip looks them up (`event_marks`)."""
        return {f"{REPLAY_SERIAL}:{e.event_id}": e.stressor for e in self.events}

    def values_at(self, index: int) -> dict[str, float]:
        """Every number of sample `index` (empty cells left out)."""
        return {k: v[index] for k, v in self.columns.items() if not math.isnan(v[index])}

    def predicted_at(self, index: int) -> dict[str, float]:
        return {k: v[index] for k, v in self.predicted.items() if not math.isnan(v[index])}

    def event_starts(self) -> list[int]:
        """Where each event starts: the first sample naming it in `active_events` (the
        sample at its recorded start when none does), sorted, one per distinct start."""
        first: dict[str, int] = {}
        for index, ids in enumerate(self.active):
            for eid in ids:
                first.setdefault(eid, index)
        starts = {first.get(e.event_id, self.index_at(e.start_s)) for e in self.events}
        starts.update(first.values())  # ad-hoc events the annotations may not name
        return sorted(starts)

    def index_at(self, elapsed_s: float) -> int:
        """The first sample at or after `elapsed_s` (the last one past the end)."""
        from bisect import bisect_left

        return min(bisect_left(self.elapsed_s, elapsed_s - 1e-9), len(self) - 1)


@dataclass
class Cursor:
    """The replay's time cursor over `count` samples, and the window of `width` in view."""

    count: int
    index: int = 0
    start: int = 0
    """The first sample in view."""
    width: int = 1

    def set_width(self, width: int) -> None:
        self.width = max(1, width)
        self._follow()

    def move(self, samples: int) -> None:
        self.go(self.index + samples)

    def go(self, index: int) -> None:
        self.index = max(0, min(self.count - 1, index))
        self._follow()

    def page(self, pages: int) -> None:
        self.move(pages * self.width)

    def next_event(self, starts: Sequence[int]) -> None:
        later = [s for s in starts if s > self.index]
        if later:
            self.go(later[0])

    def previous_event(self, starts: Sequence[int]) -> None:
        earlier = [s for s in starts if s < self.index]
        if earlier:
            self.go(earlier[-1])

    def _follow(self) -> None:
        """Scroll the window so the cursor stays in view (a page at a time at the edges)."""
        if self.index < self.start:
            self.start = self.index
        elif self.index >= self.start + self.width:
            self.start = self.index - self.width + 1
        self.start = max(0, min(self.start, max(0, self.count - self.width)))

    @property
    def end(self) -> int:
        return min(self.count, self.start + self.width)

    @property
    def column(self) -> int:
        """The cursor's column in a graph `width` wide (short runs are right-aligned)."""
        shown = self.end - self.start
        return (self.width - shown) + (self.index - self.start)
