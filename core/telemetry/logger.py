"""The sampling loop: deadline scheduling on the monotonic clock, so rows never drift.

Sample k is due at `start + k * interval`; a late wake-up delays only that
sample (its lateness is recorded), never the ones after it: a short stall is
caught up with samples at least half an interval apart (so every row's rates
still cover a real interval), and the row count stays exact. Only after a
stall longer than `SKIP_AFTER_S` (a suspended VM or laptop) are the missed
deadlines skipped; the gap then shows in `elapsed_s` and `sample_interval_s`.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.telemetry.columns import QUALITY, Column
from core.telemetry.sampler import Sample, Sampler

SKIP_AFTER_S = 1.0
MIN_SPACING = 0.5  # catching up, samples are at least this many intervals apart


@dataclass(frozen=True)
class RunClock:
    """The run clock: seconds since the run started, and the wall time it maps to."""

    mono0: float
    wall0: datetime

    @classmethod
    def start_now(cls) -> RunClock:
        return cls(time.monotonic(), datetime.now(UTC))

    def elapsed(self) -> float:
        return time.monotonic() - self.mono0

    def wall_at(self, elapsed_s: float) -> datetime:
        return self.wall0 + timedelta(0, elapsed_s)  # positional: half the cost of seconds=


def iso_ms(when: datetime) -> str:
    """ISO 8601 to the millisecond with `Z` (the time is UTC). One %-format of the fields, as
    strftime would print them: strftime's path is a third of a cold 1 Hz tick's row."""
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031 (cheaper than a format)
        when.year,
        when.month,
        when.day,
        when.hour,
        when.minute,
        when.second,
        when.microsecond // 1000,
    )


def now_utc() -> datetime:
    return datetime.now(UTC)


def expected_samples(total_s: float, interval_s: float) -> int:
    """Rows a complete run writes: one per interval, the first one interval in.

    The loop below stops at exactly this row; the model predicts the same rows."""
    return math.floor(total_s / interval_s + 1e-9)


class TelemetryLoop:
    """Calls the sampler at each deadline and hands every `Sample` to `on_sample`.

    `decorate` adds columns owned by others (active events, stressor work) to
    each sample's values at the instant it is taken.
    """

    def __init__(
        self,
        sampler: Sampler,
        interval_s: float,
        clock: RunClock,
        on_sample: Callable[[Sample], None],
        decorate: Callable[[float, dict[str, float]], tuple[str, ...]] | None = None,
        extra_columns: list[Column] | None = None,
    ) -> None:
        self.sampler = sampler
        self.interval_s = interval_s
        self.clock = clock
        self.on_sample = on_sample
        self.decorate = decorate
        self.columns = sampler.columns + QUALITY + (extra_columns or [])
        self._stop = threading.Event()
        # Held while the loop runs; stop() releases it, so the loop's one timed wait per tick
        # is a single C-level acquire (Event.wait is a Condition and a new lock every time).
        self._wake = threading.Lock()
        self._wake.acquire()
        self.samples = 0

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(RuntimeError):  # already released by an earlier stop()
            self._wake.release()

    def run(self, until_s: float | None = None) -> None:
        """Sample until `until_s` on the run clock (inclusive) or until `stop()`.

        What a tick calls is bound to locals first: each tick starts cold (at 1 Hz the
        process has slept a second), and every lookup it skips is CPU saved."""
        mono0, interval, clock = self.clock.mono0, self.interval_s, self.clock
        monotonic, thread_time, acquire = time.monotonic, time.thread_time, self._wake.acquire
        read, decorate, on_sample, stopped = (
            self.sampler.read,
            self.decorate,
            self.on_sample,
            self._stop.is_set,
        )
        catch_up_limit = max(SKIP_AFTER_S, 2 * interval)
        prev_mono = mono0
        self.sampler.prime(prev_mono)
        prev_cpu = thread_time()
        k = 1
        last_k = expected_samples(until_s, interval) if until_s is not None else None
        while last_k is None or k <= last_k:
            deadline = mono0 + k * interval
            wait = max(deadline, prev_mono + MIN_SPACING * interval) - monotonic()
            if wait > 0 and acquire(timeout=wait):
                return
            if stopped():
                return
            now = monotonic()
            values = read(now)
            elapsed = now - mono0
            active = decorate(elapsed, values) if decorate else ()
            cpu = thread_time()
            values["sample_interval_s"] = now - prev_mono
            values["sample_lateness_ms"] = (now - deadline) * 1000.0
            values["logger_cpu_percent"] = 100.0 * (cpu - prev_cpu) / max(now - prev_mono, 1e-9)
            prev_mono, prev_cpu = now, cpu
            on_sample(Sample(clock.wall_at(elapsed), elapsed, values, active))
            self.samples += 1
            k += 1
            behind = math.floor((monotonic() - mono0) / interval)
            if (behind - k) * interval > catch_up_limit:
                k = behind
