"""The dashboard's memory: the last samples, appended from the engine's telemetry thread.

The engine calls `append` from its own thread; the UI reads `latest`/`window`
when it redraws. One lock, short critical sections, no copies of the values.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

from core.telemetry.sampler import Sample

HISTORY_S = 120.0
"""The shortest window of history the graphs show (more on wide terminals)."""
CAPACITY = 1200
"""Samples kept: 20 minutes at 1 s, enough for the widest terminal."""


class History:
    """A bounded, thread-safe list of samples, oldest first."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._samples: deque[Sample] = deque(maxlen=capacity)
        self._serials: deque[int] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self.version = 0
        """Bumped on every append: widgets redraw only when it moved."""
        self.columns: set[str] = set()
        """Every value name seen so far."""

    def append(self, sample: Sample, serial: int = 0) -> None:
        """Add a sample of engine session `serial` (event ids are unique per session)."""
        with self._lock:
            self._samples.append(sample)
            self._serials.append(serial)
            if len(self.columns) < len(sample.values):
                self.columns.update(sample.values)
            self.version += 1

    def clear(self) -> None:
        with self._lock:
            self._samples.clear()
            self._serials.clear()
            self.version += 1

    def __len__(self) -> int:
        return len(self._samples)

    @property
    def latest(self) -> Sample | None:
        with self._lock:
            return self._samples[-1] if self._samples else None

    def window(self, count: int) -> list[Sample]:
        """The last `count` samples (fewer while the history fills up)."""
        with self._lock:
            n = len(self._samples)
            start = max(0, n - count)
            return [self._samples[i] for i in range(start, n)]

    def tagged_window(self, count: int) -> list[tuple[int, Sample]]:
        """The last `count` samples with the session each came from."""
        with self._lock:
            n = len(self._samples)
            return [(self._serials[i], self._samples[i]) for i in range(max(0, n - count), n)]


def window_size(interval_s: float, width: int, capacity: int = CAPACITY) -> int:
    """How many samples a graph `width` columns wide shows: at least `HISTORY_S` of them."""
    wanted = max(int(HISTORY_S / max(interval_s, 1e-3)), width)
    return min(wanted, capacity)


def series(samples: Sequence[Sample], key: str) -> list[float]:
    return [s.values.get(key, 0.0) for s in samples]
