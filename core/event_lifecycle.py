"""One event's stressor from launch to exit, on the run's control thread.

An event is *planned*, then (real stressors only) *launching* on a thread of its own and
*armed*: launched `prelaunch_s` early and told the monotonic instant to begin its load, then
*live* (samples name it) until it exits, is due to end, or is stopped; it ends *completed*,
*failed* or *aborted*. `EventLifecycle` keeps the armed and live stressors and reports every
transition to the run, which annotates it; what missed the plan (a late start, a memory or
disk target not reached) goes into the event's message and `plan_misses` (core.plan_misses).

Launches never block the control thread: a Python child takes ~0.15 s to boot on an idle
machine and over a second with every core busy, and with events one after the other each
launch waited for the one before (a disk event started 2.3 s late among 8 at once). Each boot
runs on its own thread, and `prelaunch_s` grows with the slowest recent boots.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from core.plan_misses import PlanMisses as PlanMisses  # `as`: re-exported for the runner
from core.plan_misses import TargetWatch, late_start, target_of
from core.schedule import Event
from core.telemetry.logger import RunClock

# Real stressors are launched at least this early and told the monotonic time to begin their
# load: a Python process takes ~0.25 s to boot, over a second when 8 boot at once among busy
# stressors, and events must start within 100 ms of plan. After each boot the lead becomes
# BOOT_MARGIN times the slowest of the last BOOTS_KEPT boots (at most MAX_PRELAUNCH_S).
PRELAUNCH_S = 1.0
BOOT_MARGIN = 3.0
BOOTS_KEPT = 8
MAX_PRELAUNCH_S = 10.0


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
        freeing_bytes: int = 0,
    ) -> HandleLike:
        handle: HandleLike = start_stressor(
            kind,
            params,
            duration,
            scratch,
            event_id=eid,
            start_at=start_at,
            contention=contention,
            freeing_bytes=freeing_bytes,
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
    misses: list[str] = field(default_factory=list)  # how it missed the plan, for its message

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
    watch: TargetWatch | None = None


class Launch:
    """One real stressor booting on a thread of its own, so the control thread never waits.

    The thread stays until `release()` (the stressor was reaped): PR_SET_PDEATHSIG follows the
    thread that forked the child, so the child must not outlive it.
    """

    def __init__(self, state: EventState, planned: bool, boot: Callable[[], HandleLike],
                 wake: Callable[[], None]) -> None:  # fmt: skip
        self.state, self.planned = state, planned
        self.handle: HandleLike | None = None
        self.error: Exception | None = None
        self.boot_s = 0.0
        self._wake = wake
        self.ready = threading.Event()
        self._released = threading.Event()
        name = f"twin-launch-{state.event.id}"
        threading.Thread(target=self._main, args=(boot,), name=name, daemon=True).start()

    def _main(self, boot: Callable[[], HandleLike]) -> None:
        began = time.monotonic()
        try:
            self.handle = boot()
        except Exception as exc:  # reported by the control thread: the event fails at once
            self.error = exc
        self.boot_s = time.monotonic() - began
        self.ready.set()
        self._wake()
        if self.handle is not None:
            self._released.wait()

    def release(self) -> None:
        self._released.set()


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
        wake: Callable[[], None] = lambda: None,
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
        self.launching: dict[str, Launch] = {}  # booting (real stressors only)
        self._launched: dict[str, Launch] = {}  # booted: their threads wait for the reaping
        self._boots: list[float] = []  # recent boot times, for prelaunch_s
        self.misses = PlanMisses()
        self._wake = wake
        self._lock = threading.Lock()

    def active(self) -> list[EventState]:
        with self._lock:
            return [live.state for live in self.live.values()]

    def live_handles(self) -> list[tuple[str, HandleLike]]:
        with self._lock:
            return [(eid, live.handle) for eid, live in self.live.items()]

    @property
    def busy(self) -> bool:
        return bool(self.live or self.armed or self.launching)

    def due_times(self) -> list[float]:
        """When something is next due: an armed start or a live end (run clock); a launch
        that finishes booting wakes the control thread itself."""
        due = [armed.state.event.start_s for armed in self.armed.values()]
        return due + [live.state.due_end_s for live in self.live.values()]

    def memory_freed_before(self, start_s: float) -> int:
        """Bytes the live memory stressors hold and free before `start_s` (their due end): a
        planned event boots ahead of its start, while the one before it may still hold its
        memory; its own check must not count that twice (a sequential sweep near the limit
        was refused). Each stressor still re-checks the reserve before every chunk it fills."""
        from core.stressors.safety import memory_held_bytes

        return sum(
            memory_held_bytes(dict(live.state.event.params))
            for live in self.live.values()
            if live.state.event.stressor == "memory" and live.state.due_end_s <= start_s
        )

    def begin(self, state: EventState, planned: bool = False) -> None:
        """Launch the event's stressor (armed if its planned start is still ahead)."""
        event = state.event
        if self._start_stressor is None:  # real: boots on its own thread (see the docstring)
            start_at = self.clock.mono0 + event.start_s if planned else None
            memory = planned and event.stressor == "memory"
            freeing = self.memory_freed_before(event.start_s) if memory else 0

            def boot() -> HandleLike:
                return real_stressors()(
                    event.stressor,
                    event.params,
                    event.duration_s,
                    self.scratch_dir,
                    event.id,
                    start_at=start_at,
                    contention=self.contention,
                    freeing_bytes=freeing,
                )

            self.launching[event.id] = Launch(state, planned, boot, self._wake)
            return
        try:
            handle = self._start_stressor(
                event.stressor, event.params, event.duration_s, self.scratch_dir, event.id
            )
        except Exception as exc:  # a stressor that cannot start fails its event, not the run
            self._refused(state, exc)
            return
        self._arm(state, handle, planned)

    def _refused(self, state: EventState, exc: Exception) -> None:
        state.start_elapsed_s = state.end_elapsed_s = self.clock.elapsed()
        state.status, state.message = "failed", f"could not start: {exc}"
        self._on_refused(state)

    def _arm(self, state: EventState, handle: HandleLike, planned: bool) -> None:
        target = target_of(state.event)
        live = LiveStressor(state, handle, TargetWatch(target) if target else None)
        if planned and self.clock.elapsed() < state.event.start_s:
            self.armed[state.event.id] = live
            return
        self._make_live(live, planned)

    def _booted(self) -> None:
        """Launches whose stressor is up (or failed to start): armed, live or failed now."""
        for eid, launch in list(self.launching.items()):
            if not launch.ready.is_set():
                continue
            del self.launching[eid]
            self._boots = [*self._boots[1 - BOOTS_KEPT :], launch.boot_s]
            lead = BOOT_MARGIN * max(self._boots)
            self.prelaunch_s = min(MAX_PRELAUNCH_S, max(PRELAUNCH_S, lead))
            if launch.handle is None:
                self._refused(launch.state, launch.error or RuntimeError("no stressor"))
                continue
            self._launched[eid] = launch
            self._arm(launch.state, launch.handle, launch.planned)

    def _make_live(self, live: LiveStressor, planned: bool = True) -> None:
        """The load has begun: from now on samples name the event."""
        with self._lock:
            live.state.status, live.state.start_elapsed_s = "running", self.clock.elapsed()
            self.live[live.state.event.id] = live
        note = late_start(live.state.event, live.state.start_elapsed_s) if planned else ""
        if note and not live.state.adhoc:
            live.state.misses.append(note)
            self.misses.late_starts += 1
        self._on_start(live.state)

    def activate_armed(self) -> None:
        self._booted()
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
            if live.watch is not None:
                status: dict[str, Any] = getattr(live.handle, "status", dict)()
                live.watch.observe(live.handle.work(), status)
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
        missed = live.watch.missed() if live.watch is not None and status == "completed" else ""
        if missed:
            live.state.misses.append(missed)
            self.misses.targets_missed += 1
        with self._lock:
            self.live.pop(live.state.event.id, None)
            live.state.status = status
            live.state.message = "; ".join(m for m in (message, *live.state.misses) if m)
            live.state.end_elapsed_s = self.clock.elapsed()
        self._release(live.state.event.id)
        self._on_end(live.state)

    def _release(self, event_id: str) -> None:
        launch = self._launched.pop(event_id, None)
        if launch is not None:
            launch.release()

    def abort_all(self, message: str) -> None:
        """Stop every armed and live stressor; never raises (it also runs after a crash)."""
        for eid, launch in list(self.launching.items()):  # booting: wait, then stop it
            del self.launching[eid]
            launch.ready.wait()
            if launch.handle is not None:
                with contextlib.suppress(Exception):
                    launch.handle.stop(self.grace_s)
            launch.release()
        for eid, armed in list(self.armed.items()):  # launched but not yet loading
            del self.armed[eid]
            with contextlib.suppress(Exception):  # the others must still be stopped
                armed.handle.stop(self.grace_s)
            self._release(eid)
        for eid, live in list(self.live.items()):
            try:
                self.end(eid, "aborted", message)
            except Exception as exc:  # stop the others anyway; this one goes with the thread
                with self._lock:
                    self.live.pop(eid, None)
                    live.state.status = "aborted"
                    live.state.message = f"{message}; could not be stopped cleanly: {exc}"
                    live.state.end_elapsed_s = self.clock.elapsed()
                self._release(eid)
                with contextlib.suppress(Exception):
                    self._on_end(live.state)
