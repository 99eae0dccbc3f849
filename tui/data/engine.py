"""The engine sessions behind the TUI: always one `ExperimentRun`, live or recording.

When nothing records, a `record=False` session keeps the dashboard live and
serves the stressor buttons; `start_recording` replaces it with a recorded run
of a schedule, and the app goes back to a live session when that ends. Every
method here may block (a stop waits for stressors to end), so the UI calls them
from thread workers. Callbacks come from the engine's threads, tagged with the
session's serial number so the UI can drop news from a session already gone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.runner import EventState, ExperimentRun, RunListener, RunResult, StartStressor
from core.schedule import Schedule
from core.telemetry.sampler import Sample, Sampler

LIVE_INTERVAL_S = 1.0
STOP_TIMEOUT_S = 30.0


def live_schedule(interval_s: float = LIVE_INTERVAL_S) -> Schedule:
    return Schedule(name="live", mode="parallel", events=(), total_s=0, interval_s=interval_s)


@dataclass(frozen=True)
class SessionInfo:
    """What the UI shows about the current session."""

    serial: int
    recording: bool
    name: str
    run_dir: Path | None
    total_s: float
    interval_s: float
    schedule: Schedule


class EngineCallbacks:
    """What the host reports (from engine threads); the app overrides these."""

    def sample(self, serial: int, sample: Sample) -> None:
        """A new sample."""

    def event(self, serial: int, state: EventState) -> None:
        """An event started or ended."""

    def finished(self, serial: int, result: RunResult) -> None:
        """A session ended (its files are complete)."""


class _Listener(RunListener):
    def __init__(self, serial: int, callbacks: EngineCallbacks) -> None:
        self.serial = serial
        self.callbacks = callbacks

    def on_sample(self, sample: Sample) -> None:
        self.callbacks.sample(self.serial, sample)

    def on_event(self, state: EventState) -> None:
        self.callbacks.event(self.serial, state)

    def on_finish(self, result: RunResult) -> None:
        self.callbacks.finished(self.serial, result)


class EngineHost:
    """Owns the current `ExperimentRun` and swaps live and recorded sessions."""

    def __init__(
        self,
        out_parent: Path,
        callbacks: EngineCallbacks,
        *,
        sampler_factory: Callable[[], Sampler] | None = None,
        start_stressor: StartStressor | None = None,
        live_interval_s: float = LIVE_INTERVAL_S,
    ) -> None:
        self.out_parent = out_parent
        self.callbacks = callbacks
        self.sampler_factory = sampler_factory
        self.start_stressor = start_stressor
        self.live_interval_s = live_interval_s
        self._lock = threading.RLock()
        self._run: ExperimentRun | None = None
        self._info: SessionInfo | None = None
        self._serial = 0
        self.closed = False

    # ---- state --------------------------------------------------------------------
    @property
    def run(self) -> ExperimentRun | None:
        return self._run

    @property
    def info(self) -> SessionInfo | None:
        return self._info

    @property
    def recording(self) -> bool:
        info, run = self._info, self._run
        return bool(info and info.recording and run is not None and run.running)

    # ---- sessions (blocking: call from a worker thread) --------------------------------
    def _new_run(self, schedule: Schedule, record: bool, profile_text: str) -> ExperimentRun:
        self._serial += 1
        return ExperimentRun(
            schedule,
            self.out_parent if record else None,
            profile_text=profile_text,
            record=record,
            sampler=self.sampler_factory() if self.sampler_factory else None,
            start_stressor=self.start_stressor,
            listener=_Listener(self._serial, self.callbacks),
        )

    def start_live(self) -> SessionInfo | None:
        """Start a live (unrecorded) session unless one already runs."""
        with self._lock:
            if self.closed:
                return None
            if self._run is not None and self._run.running:
                return self._info
            schedule = live_schedule(self.live_interval_s)
            run = self._new_run(schedule, record=False, profile_text="")
            run.prepare()
            run.start()
            self._run = run
            self._info = SessionInfo(
                self._serial, False, "live", None, 0.0, schedule.interval_s, schedule
            )
            return self._info

    def start_recording(self, schedule: Schedule, profile_text: str) -> SessionInfo:
        """Stop the live session, then start a recorded run; raises BadInput (live again)."""
        with self._lock:
            if self.closed:
                raise RuntimeError("the engine is shutting down")
            self._stop_current("recording starts", STOP_TIMEOUT_S)
            run = self._new_run(schedule, record=True, profile_text=profile_text)
            try:
                run_dir = run.prepare()
            except Exception:
                self._run = None
                self.start_live()
                raise
            run.start()
            self._run = run
            self._info = SessionInfo(
                self._serial,
                True,
                schedule.name,
                run_dir,
                schedule.total_s,
                schedule.interval_s,
                schedule,
            )
            return self._info

    def stop_recording(self, reason: str) -> None:
        """Ask the recorded run to stop in order (returns at once; `finished` follows)."""
        run = self._run
        if run is not None and self._info is not None and self._info.recording:
            run.stop(reason)

    def _stop_current(self, reason: str, timeout: float) -> RunResult | None:
        run = self._run
        if run is None:
            return None
        if run.clock is None:  # prepared but never started
            self._run = None
            return None
        run.stop(reason)
        result = run.wait(timeout)
        self._run = None
        return result

    def shutdown(self, reason: str, timeout: float = STOP_TIMEOUT_S) -> RunResult | None:
        """Stop whatever runs, in order, and start nothing more. Returns the last result."""
        with self._lock:
            self.closed = True
            return self._stop_current(reason, timeout)

    def stop_nowait(self, reason: str) -> None:
        """Ask whatever runs to stop, without waiting (`shutdown` waits)."""
        self.closed = True
        run = self._run
        if run is not None:
            run.stop(reason)

    # ---- stressors (any thread: the engine queues the request) --------------------------
    def launch(self, stressor: str, params: Mapping[str, Any], duration_s: float) -> str | None:
        run = self._run
        if run is None or not run.running:
            return None
        return run.launch(stressor, params, duration_s, label="ad hoc")

    def stop_event(self, event_id: str) -> None:
        run = self._run
        if run is not None:
            run.stop_event(event_id)
