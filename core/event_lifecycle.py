"""One event's stressor from launch to exit, on the run's control thread.

An event is *planned*, then (real stressors only) *armed*: launched `PRELAUNCH_S` early and
told the monotonic instant to begin its load, then *live* (samples name it) until it exits, is
due to end, or is stopped; it ends *completed*, *failed* or *aborted*. `EventLifecycle` keeps
the armed and live stressors and reports every transition to the run, which annotates it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from core.schedule import Event
from core.telemetry.logger import RunClock

# Real stressors are launched this early and told the monotonic time to begin their load:
# a Python process takes ~0.15 s to boot, and events must start within 100 ms of plan.
PRELAUNCH_S = 0.5


class StressorExitLike(Protocol):
    @property
    def ok(self) -> bool: ...
    @property
    def reason(self) -> str: ...


class HandleLike(Protocol):
    def poll(self) -> StressorExitLike | None: ...
    def stop(self, grace_s: float = ...) -> StressorExitLike: ...
    def work(self) -> dict[str, float]: ...


StartStressor = Callable[[str, Mapping[str, Any], float, Path, str], HandleLike]


def real_stressors() -> Callable[..., HandleLike]:
    """The real stressor processes (imported lazily: tests and the UI may use fakes)."""
    from core.stressors import start_stressor

    def start(
        kind: str,
        params: Mapping[str, Any],
        duration: float,
        scratch: Path,
        eid: str,
        start_at: float | None = None,
        contention: str = "shared",
    ) -> HandleLike:
        handle: HandleLike = start_stressor(
            kind, params, duration, scratch, event_id=eid, start_at=start_at, contention=contention
        )
        return handle

    return start


@dataclass
class EventState:
    """What happened to one event so far (what annotations.csv records)."""

    event: Event
    status: str = "planned"  # planned | running | completed | failed | aborted
    start_elapsed_s: float | None = None
    end_elapsed_s: float | None = None
    message: str = ""
    adhoc: bool = False

    @property
    def due_end_s(self) -> float:
        """When the event should end on the run clock: its full duration from the real start."""
        start = self.event.start_s if self.start_elapsed_s is None else self.start_elapsed_s
        return start + self.event.duration_s

    def time_left_s(self, elapsed_s: float) -> float:
        return (
            max(0.0, self.due_end_s - elapsed_s) if self.status in ("planned", "running") else 0.0
        )


@dataclass
class LiveStressor:
    state: EventState
    handle: HandleLike


Report = Callable[[EventState], None]


class EventLifecycle:
    """The armed and live stressors of one run, and every transition of their events.

    `on_start` is told when an event's load begins, `on_end` when it ended, `on_refused` when
    its stressor could not even start (the event failed at once). Only the control thread calls
    the methods that change state; `active` and `live_handles` may be read from any thread.
    """

    def __init__(
        self,
        clock: RunClock,
        scratch_dir: Path,
        *,
        start_stressor: StartStressor | None,
        grace_s: float,
        on_start: Report,
        on_end: Report,
        on_refused: Report,
        contention: str = "shared",
    ) -> None:
        self.clock = clock
        self.contention = contention  # how real stressors compete: core.stressors.handle
        self.scratch_dir = scratch_dir
        self.grace_s = grace_s
        self.prelaunch_s = PRELAUNCH_S if start_stressor is None else 0.0
        self._start_stressor = start_stressor
        self._on_start, self._on_end, self._on_refused = on_start, on_end, on_refused
        self.live: dict[str, LiveStressor] = {}
        self.armed: dict[str, LiveStressor] = {}  # launched ahead of their start, not loading
        self._lock = threading.Lock()

    def active(self) -> list[EventState]:
        with self._lock:
            return [live.state for live in self.live.values()]

    def live_handles(self) -> list[tuple[str, HandleLike]]:
        with self._lock:
            return [(eid, live.handle) for eid, live in self.live.items()]

    @property
    def busy(self) -> bool:
        return bool(self.live or self.armed)

    def due_times(self) -> list[float]:
        """When something is next due: an armed start or a live end (run clock)."""
        due = [armed.state.event.start_s for armed in self.armed.values()]
        return due + [live.state.due_end_s for live in self.live.values()]

    def begin(self, state: EventState, planned: bool = False) -> None:
        """Launch the event's stressor (armed if its planned start is still ahead)."""
        event = state.event
        try:
            if self._start_stressor is not None:
                handle = self._start_stressor(
                    event.stressor, event.params, event.duration_s, self.scratch_dir, event.id
                )
            else:
                start_at = self.clock.mono0 + event.start_s if planned else None
                handle = real_stressors()(
                    event.stressor,
                    event.params,
                    event.duration_s,
                    self.scratch_dir,
                    event.id,
                    start_at=start_at,
                    contention=self.contention,
                )
        except Exception as exc:  # a stressor that cannot start fails its event, not the run
            state.start_elapsed_s = state.end_elapsed_s = self.clock.elapsed()
            state.status, state.message = "failed", f"could not start: {exc}"
            self._on_refused(state)
            return
        if planned and self.clock.elapsed() < event.start_s:
            self.armed[event.id] = LiveStressor(state, handle)
            return
        self._make_live(LiveStressor(state, handle))

    def _make_live(self, live: LiveStressor) -> None:
        """The load has begun: from now on samples name the event."""
        with self._lock:
            live.state.status, live.state.start_elapsed_s = "running", self.clock.elapsed()
            self.live[live.state.event.id] = live
        self._on_start(live.state)

    def activate_armed(self) -> None:
        for eid, armed in list(self.armed.items()):
            if self.clock.elapsed() >= armed.state.event.start_s:
                del self.armed[eid]
                self._make_live(armed)
            elif (exit_ := armed.handle.poll()) is not None:  # died before its start
                del self.armed[eid]
                self._make_live(armed)
                self._finished(armed, "failed", exit_.reason or "the stressor exited")

    def poll(self) -> None:
        """Notice stressors that exited, and end those that are due."""
        for live in list(self.live.values()):
            exit_ = live.handle.poll()
            if exit_ is not None:
                if exit_.ok:
                    self._finished(live, "completed", "")
                else:
                    self._finished(live, "failed", exit_.reason or "the stressor exited")
            elif self.clock.elapsed() >= live.state.due_end_s:
                self.end(live.state.event.id, "completed", "")

    def end(self, event_id: str, status: str, message: str) -> None:
        """Stop a live event's stressor and record how it ended (no-op if not live)."""
        live = self.live.get(event_id)
        if live is None:
            return
        exit_ = live.handle.stop(self.grace_s)
        if status == "completed" and not exit_.ok:
            status, message = "failed", exit_.reason
        elif not exit_.ok and exit_.reason:  # e.g. aborted, and it ignored SIGTERM
            message = f"{message}; {exit_.reason}" if message else exit_.reason
        self._finished(live, status, message)

    def _finished(self, live: LiveStressor, status: str, message: str) -> None:
        with self._lock:
            self.live.pop(live.state.event.id, None)
            live.state.status, live.state.message = status, message
            live.state.end_elapsed_s = self.clock.elapsed()
        self._on_end(live.state)

    def abort_all(self, message: str) -> None:
        """Stop every armed and live stressor; never raises (it also runs after a crash)."""
        for eid, armed in list(self.armed.items()):  # launched but not yet loading
            del self.armed[eid]
            with contextlib.suppress(Exception):  # the others must still be stopped
                armed.handle.stop(self.grace_s)
        for eid, live in list(self.live.items()):
            try:
                self.end(eid, "aborted", message)
            except Exception as exc:  # stop the others anyway; this one goes with the thread
                with self._lock:
                    self.live.pop(eid, None)
                    live.state.status = "aborted"
                    live.state.message = f"{message}; could not be stopped cleanly: {exc}"
                    live.state.end_elapsed_s = self.clock.elapsed()
                with contextlib.suppress(Exception):
                    self._on_end(live.state)
