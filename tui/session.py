"""The TUI's one door to the engine: always one `ExperimentRun`, live or recording.

When nothing records, a `record=False` run keeps the dashboard live and serves the
stressor buttons; `start_recording` replaces it with a recorded run of a schedule, and
the app goes back to a live run when that ends.

`Session` is the engine's `RunListener` itself: each callback lands here (on an engine
thread), the samples go into `history`, and the news is posted as a message
(`tui.messages`) to every subscriber: the app and the screens that asked. The run a
callback comes from is the session's current one: runs never overlap (the old one is
stopped and waited for, under the lock, before the next starts), and a run given up on
after a stop timeout is muted so that late news from it cannot pass for the new run's.

Other listeners can hear every run too (`add_listener`: the live outputs of `--metrics-port`
and `--influx`): each run's callbacks fan out to the session and to them
(`core.live.fanout.FanOut`), and each is told of a run before it starts (`run_started`).

The session methods that start or stop a run block (a stop waits for stressors to end), so
the UI calls them from thread workers; the others return at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from textual.message import Message

from core.live.fanout import FanOut
from core.probes import Deviation, RunProbes
from core.runner import EventState, ExperimentRun, RunListener, RunResult, StartStressor
from core.schedule import Schedule
from core.telemetry.sampler import Sample, Sampler
from tui.data.history import History
from tui.messages import (
    DeviationSeen,
    EventChanged,
    SamplesArrived,
    SessionFinished,
    SessionInfo,
    SessionStarted,
)

LIVE_INTERVAL_S = 1.0
STOP_TIMEOUT_S = 30.0


class Subscriber(Protocol):
    """Anything that takes messages (an app, a screen): `post_message` is thread-safe."""

    def post_message(self, message: Message) -> bool: ...


class SessionListener(RunListener):
    """A listener of every run the session starts, told of each run before it starts."""

    def run_started(self, run: ExperimentRun, schedule: Schedule, run_dir: Path | None) -> None:
        """`run` (of `schedule`, recording into `run_dir` or not recorded) starts next."""


def live_schedule(interval_s: float = LIVE_INTERVAL_S) -> Schedule:
    return Schedule(name="live", mode="parallel", events=(), total_s=0, interval_s=interval_s)


class Session(RunListener):
    """Owns the current `ExperimentRun`, swaps live and recorded runs, reports as messages."""

    def __init__(
        self,
        out_parent: Path,
        *,
        sampler_factory: Callable[[], Sampler] | None = None,
        start_stressor: StartStressor | None = None,
        live_interval_s: float = LIVE_INTERVAL_S,
    ) -> None:
        self.out_parent = out_parent
        self.sampler_factory = sampler_factory
        self.start_stressor = start_stressor
        self.live_interval_s = live_interval_s
        self.history = History()
        """The last samples of every session, tagged with their session's serial."""
        self.event_kinds: dict[str, str] = {}
        """`"serial:event id"` -> stressor, for the event strip."""
        self._subscribers: list[Subscriber] = []
        self._listeners: tuple[SessionListener, ...] = ()
        self._lock = threading.RLock()
        self._run: ExperimentRun | None = None
        self._info: SessionInfo | None = None
        self._serial = 0
        self.closed = False

    # ---- subscribers ------------------------------------------------------------------
    def subscribe(self, target: Subscriber) -> None:
        """Post the session's news to `target` from now on."""
        if target not in self._subscribers:
            self._subscribers = [*self._subscribers, target]

    def unsubscribe(self, target: Subscriber) -> None:
        self._subscribers = [s for s in self._subscribers if s is not target]

    def add_listener(self, listener: SessionListener) -> None:
        """Let `listener` hear every run started from now on (after the session itself)."""
        self._listeners = (*self._listeners, listener)

    def _post(self, message_for: Callable[[], Message]) -> None:
        for target in self._subscribers:  # a copy each: a message is handled once
            target.post_message(message_for())

    # ---- the engine's callbacks (engine threads) --------------------------------------
    def on_sample(self, sample: Sample) -> None:
        serial = self._serial
        self.history.append(sample, serial)
        self._post(lambda: SamplesArrived(serial))

    def on_event(self, state: EventState) -> None:
        serial = self._serial
        self.event_kinds[f"{serial}:{state.event.id}"] = state.event.stressor
        self._post(lambda: EventChanged(serial, state))

    def on_finish(self, result: RunResult) -> None:
        serial = self._serial
        self._post(lambda: SessionFinished(serial, result))

    def on_deviation(self, deviation: Deviation) -> None:
        serial = self._serial
        self._post(lambda: DeviationSeen(serial, deviation))

    # ---- what the UI reads (any thread) -----------------------------------------------
    @property
    def info(self) -> SessionInfo | None:
        return self._info

    @property
    def serial(self) -> int:
        info = self._info
        return info.serial if info is not None else 0

    @property
    def interval_s(self) -> float:
        info = self._info
        return info.interval_s if info is not None else self.live_interval_s

    @property
    def running(self) -> bool:
        """Whether a run (live or recorded) is going on now."""
        run = self._run
        return run is not None and run.running

    @property
    def elapsed_s(self) -> float:
        run = self._run
        return run.elapsed_s if run is not None else 0.0

    def active_events(self) -> list[EventState]:
        """The events running now (ad-hoc ones included)."""
        run = self._run
        return run.active_events if run is not None and run.running else []

    # ---- sessions (blocking: call from a worker thread) --------------------------------
    def _new_run(
        self, schedule: Schedule, record: bool, profile_text: str, probes: RunProbes | None = None
    ) -> ExperimentRun:
        self._serial += 1
        return ExperimentRun(
            schedule,
            self.out_parent if record else None,
            profile_text=profile_text,
            probes=probes,
            record=record,
            sampler=self.sampler_factory() if self.sampler_factory else None,
            start_stressor=self.start_stressor,
            listener=FanOut([self, *self._listeners]) if self._listeners else self,
        )

    def _announce(self, run: ExperimentRun, schedule: Schedule, run_dir: Path | None) -> None:
        for listener in self._listeners:
            listener.run_started(run, schedule, run_dir)

    def _started(self, run: ExperimentRun, info: SessionInfo) -> SessionInfo:
        self._run, self._info = run, info
        self._post(lambda: SessionStarted(info))
        return info

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
            self._announce(run, schedule, None)
            run.start()
            info = SessionInfo(
                self._serial, False, "live", None, 0.0, schedule.interval_s, schedule
            )
            return self._started(run, info)

    def start_recording(
        self, schedule: Schedule, profile_text: str, probes: RunProbes | None = None
    ) -> SessionInfo:
        """Stop the live session, then start a recorded run (with the profile's `probes`);
        raises BadInput (live again)."""
        with self._lock:
            if self.closed:
                raise RuntimeError("the engine is shutting down")
            self._stop_current("recording starts", STOP_TIMEOUT_S)
            run = self._new_run(schedule, record=True, profile_text=profile_text, probes=probes)
            try:
                run_dir = run.prepare()
            except Exception:
                self._run = None
                self.start_live()
                raise
            self._announce(run, schedule, run_dir)
            run.start()
            info = SessionInfo(
                self._serial,
                True,
                schedule.name,
                run_dir,
                schedule.total_s,
                schedule.interval_s,
                schedule,
                run.probes.specs,
                run.probes.monitor.spec.tolerances if run.probes.monitor.spec else (),
            )
            return self._started(run, info)

    def stop_recording(self, reason: str) -> None:
        """Ask the recorded run to stop in order (returns at once; `SessionFinished` follows)."""
        run, info = self._run, self._info
        if run is not None and info is not None and info.recording:
            run.stop(reason)

    def _stop_current(self, reason: str, timeout: float) -> RunResult | None:
        run = self._run
        if run is None:
            return None
        self._run = None
        if run.clock is None:  # prepared but never started
            return None
        run.stop(reason)
        result = run.wait(timeout)
        run.listener = RunListener()  # given up on (or done): nothing more from it reaches us
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
        """Start an ad-hoc stressor now; its event id, or None when no run is going on."""
        run = self._run
        if run is None or not run.running:
            return None
        return run.launch(stressor, params, duration_s, label="ad hoc")

    def stop_event(self, event_id: str) -> None:
        run = self._run
        if run is not None:
            run.stop_event(event_id)
