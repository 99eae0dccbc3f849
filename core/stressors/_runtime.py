"""What a stressor body gets inside its process: a stop flag with a deadline, and a reporter."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from types import FrameType
from typing import Any

from core.shapes import ShapedPacer, is_shape, level_function
from core.stressors._proc import WorkBlock


class Stop:
    """Set by SIGTERM or by reaching the planned end (`duration_s` after start).

    Once installed, SIGTERM also writes to a wake-up pipe (`signal.set_wakeup_fd`), so a sleep
    waits in one select(2) until its deadline or the signal instead of waking every 50 ms to
    look at a flag: a sleeping stressor costs the machine nothing beyond its own work.
    """

    def __init__(self, duration_s: float) -> None:
        self.start = time.monotonic()
        self.end = self.start + duration_s
        self.requested = False
        self._wake_fd = -1

    def install(self) -> None:
        """Call from the main thread of the stressor process, before any worker is forked."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the owner decides, not the terminal
        read_fd, write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        self._wake_fd = read_fd

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def _wait(self, until: float) -> None:
        """Sleep until the monotonic instant `until`, or less if the stop is requested."""
        while not self.requested:
            left = until - time.monotonic()
            if left <= 0:
                return
            if self._wake_fd < 0:  # not installed (a caller's own Stop): plain slices
                time.sleep(min(left, 0.05))
                continue
            ready, _, _ = select.select([self._wake_fd], [], [], left)
            if ready and not self.requested:  # another handled signal: drain, sleep on
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_fd, 512)

    def wait_until(self, start_at: float) -> bool:
        """Wait for a planned start (monotonic), then run `duration_s` from it; False if stopped."""
        self._wait(start_at)
        duration = self.end - self.start
        self.start = time.monotonic()
        self.end = self.start + duration
        return not self.requested

    def done(self) -> bool:
        return self.requested or time.monotonic() >= self.end

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds` (never past the end); False when it is time to stop."""
        self._wait(min(time.monotonic() + seconds, self.end))
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
        return self.left() <= 0

    def left(self) -> float:
        """Seconds until the next report is due (0 when it is)."""
        return max(0.0, self.last_t + self.every_s - time.monotonic())

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
