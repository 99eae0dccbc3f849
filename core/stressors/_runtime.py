"""What a stressor body gets inside its process: a stop flag with a deadline, and a reporter."""

from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Any

from core.shapes import ShapedPacer, is_shape, level_function
from core.stressors._proc import WorkBlock


class Stop:
    """Set by SIGTERM or by reaching the planned end (`duration_s` after start)."""

    def __init__(self, duration_s: float) -> None:
        self.start = time.monotonic()
        self.end = self.start + duration_s
        self.requested = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the owner decides, not the terminal

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def wait_until(self, start_at: float) -> bool:
        """Wait for a planned start (monotonic), then run `duration_s` from it; False if stopped."""
        while not self.requested:
            left = start_at - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, 0.005))
        duration = self.end - self.start
        self.start = time.monotonic()
        self.end = self.start + duration
        return not self.requested

    def done(self) -> bool:
        return self.requested or time.monotonic() >= self.end

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds` in short slices; False when it is time to stop."""
        until = min(time.monotonic() + seconds, self.end)
        while not self.requested:
            left = until - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, 0.05))
        return not self.done()


class Reporter:
    """Publishes the work done in the last second (rates) plus free-form status fields."""

    def __init__(self, block: WorkBlock) -> None:
        self.block = block
        self.status: dict[str, Any] = {}

    def publish(self, work: dict[str, float], **status: Any) -> None:
        self.status.update(status)
        self.block.write(
            {"t": time.monotonic(), "ready": True, "work": work, "status": self.status}
        )

    def fail(self, reason: str) -> None:
        self.block.write({"t": time.monotonic(), "ready": True, "error": reason, "work": {}})


class RateMeter:
    """Turns monotonically growing counters into per-second rates, about once a second."""

    def __init__(self, names: tuple[str, ...], every_s: float = 1.0) -> None:
        self.names = names
        self.every_s = every_s
        self.last_t = time.monotonic()
        self.last = dict.fromkeys(names, 0.0)

    def due(self) -> bool:
        return time.monotonic() - self.last_t >= self.every_s

    def rates(self, counters: dict[str, float]) -> dict[str, float]:
        now = time.monotonic()
        dt = max(now - self.last_t, 1e-9)
        out = {n: (counters[n] - self.last[n]) / dt for n in self.names}
        self.last = {n: counters[n] for n in self.names}
        self.last_t = now
        return out


def shaped_pacer(value: Any, stop: Stop, unit: float) -> ShapedPacer | None:
    """A pacer for a shaped rate cap, evaluated from the load's start; None for a number."""
    if not is_shape(value):
        return None
    return ShapedPacer(level_function(value, stop.end - stop.start), unit, stop.start)
