"""Execute a `Schedule`: telemetry, stressors and annotations on one run clock.

Two threads per run. The telemetry thread samples at fixed deadlines and
writes rows. The control thread owns every stressor: it starts events at their
planned time, polls them (a dead stressor is noticed within `POLL_S`), stops
them at their end, and serves ad-hoc launches and stops from the UI. All
stressors are started from that one long-lived thread on purpose: the kernel's
PR_SET_PDEATHSIG fires when the *thread* that forked a child exits.

With `record=False` the same engine drives the TUI's live dashboard without
writing a run directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import queue
import shutil
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from core.bundle import (
    ANNOTATIONS,
    DATASET,
    DEFAULT_MODELS_DIR,
    MANIFEST,
    PROFILE_COPY,
    SCHEDULE,
    SCRATCH,
    AnnotationLog,
    Manifest,
    SpaceReserve,
    create_run_dir,
    lock_run_dir,
    now_utc,
    write_atomic,
)
from core.errors import EXIT_FAILED, EXIT_OK, BadInput
from core.schedule import Event, Schedule
from core.telemetry import columns as C
from core.telemetry.logger import RunClock, TelemetryLoop, iso_ms
from core.telemetry.sampler import Sample, Sampler, SystemSampler
from core.telemetry.writer import DatasetWriter

POLL_S = 0.1
# Real stressors are launched this early and told the monotonic time to begin their load:
# a Python process takes ~0.15 s to boot, and events must start within 100 ms of plan.
PRELAUNCH_S = 0.5
DEFAULT_GRACE_S = 2.0
# Spare space for the last writes of a run on a full disk (see `core.bundle.SpaceReserve`).
RESERVE_MANIFEST = 32 << 10
RESERVE_ANNOTATIONS = 64 << 10
RESERVE_PER_EVENT = 1 << 10
# The longest run the engine accepts (a year): a guard against absurd numbers in a profile.
MAX_RUN_S = 366 * 86400.0


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
    ) -> HandleLike:
        handle: HandleLike = start_stressor(
            kind, params, duration, scratch, event_id=eid, start_at=start_at
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


@dataclass(frozen=True)
class RunResult:
    status: str  # completed | stopped | failed | degraded
    exit_code: int
    run_dir: Path | None
    samples: int
    message: str = ""
    events: tuple[EventState, ...] = ()


class RunListener:
    """Callbacks from the engine threads; the TUI turns them into messages."""

    def on_sample(self, sample: Sample) -> None:
        """A new row (called from the telemetry thread)."""

    def on_event(self, state: EventState) -> None:
        """An event started or ended (called from the control thread)."""

    def on_finish(self, result: RunResult) -> None:
        """The run is over and its files are complete."""


@dataclass
class _Live:
    state: EventState
    handle: HandleLike


@dataclass
class _Request:
    action: str  # "launch" | "stop"
    event: Event | None = None
    event_id: str = ""


class ExperimentRun:
    """One run of a schedule (or, with `record=False`, a live unrecorded session)."""

    def __init__(
        self,
        schedule: Schedule,
        out_parent: Path | None = None,
        *,
        profile_text: str = "",
        record: bool = True,
        sampler: Sampler | None = None,
        start_stressor: StartStressor | None = None,
        listener: RunListener | None = None,
        grace_s: float = DEFAULT_GRACE_S,
        until_stopped: bool = False,
    ) -> None:
        self.schedule = schedule
        self.out_parent = out_parent
        self.profile_text = profile_text
        self.record = record
        self.listener = listener or RunListener()
        self.grace_s = grace_s
        self.until_stopped = until_stopped or not record
        self._sampler = sampler
        self._start_stressor = start_stressor
        self.run_dir: Path | None = None
        self.clock: RunClock | None = None
        self.states: dict[str, EventState] = {
            e.id: EventState(e) for e in sorted(schedule.events, key=lambda e: (e.start_s, e.id))
        }
        self._live: dict[str, _Live] = {}
        self._lock = threading.Lock()
        self._requests: queue.Queue[_Request] = queue.Queue()
        self._wake = threading.Event()
        self._stop_reason = ""
        self._degraded = ""
        self._crashed = ""
        self._annotations_dirty = False
        self._reserve: SpaceReserve | None = None
        self._owner_fd: int | None = None
        self._adhoc_count = 0
        self._result: RunResult | None = None
        self._done = threading.Event()
        self._writer: DatasetWriter | None = None
        self._annotations: AnnotationLog | None = None
        self._manifest: Manifest | None = None
        self._loop: TelemetryLoop | None = None
        self._threads: list[threading.Thread] = []
        self.scratch_dir: Path | None = None
        # Launched ahead of their planned start, not yet loading (real stressors only).
        self._armed: dict[str, _Live] = {}
        self._prelaunch_s = PRELAUNCH_S if start_stressor is None else 0.0
        self.prediction_path: Path | None = None
        self._loop_columns: list[C.Column] = []

    # ---- set-up -------------------------------------------------------------
    def prepare(self) -> Path | None:
        """Create the run directory and its files; raises BadInput before anything runs."""
        total = self.schedule.total_s
        if not (math.isfinite(total) and 0 <= total <= MAX_RUN_S) and not self.until_stopped:
            raise BadInput(
                f"{self.schedule.name}: the run would last {total:g} s, more than the "
                f"{MAX_RUN_S:.0f} s (a year) twin runs; nothing was started"
            )
        started = now_utc()
        if self.record:
            assert self.out_parent is not None, "a recorded run needs out_parent"
            self.run_dir = create_run_dir(self.out_parent, self.schedule.name, started)
            self.scratch_dir = self.run_dir / SCRATCH
            try:
                self._prepare_files(started)
            except OSError as exc:  # e.g. a full disk: refuse before anything runs
                self._release_run_dir()
                shutil.rmtree(self.run_dir, ignore_errors=True)
                raise BadInput(
                    f"{self.out_parent}: cannot write the run's files: {exc.strerror or exc}"
                ) from None
            self._write_prediction()
        else:
            self.scratch_dir = Path(tempfile.mkdtemp(prefix="twin-scratch-"))
            self._prepare_files(started)
        return self.run_dir

    def _write_prediction(self) -> None:
        """`prediction.csv` from this host's newest model, if any: `twin analyze` scores it.

        A prediction is a bonus: no model, or one that fails, never stops the run.
        """
        assert self.run_dir is not None and self._manifest is not None
        if not DEFAULT_MODELS_DIR.is_dir():  # no model: don't pay for importing pandas
            return
        try:
            from core.model import predict_into_run

            path = predict_into_run(self.run_dir, self.schedule)
        except Exception as exc:
            self._manifest.messages.append(f"no prediction: {type(exc).__name__}: {exc}")
        else:
            if path is not None:
                self._manifest.messages.append(
                    f"{path.name}: predicted by this host's newest model"
                )
                self.prediction_path = path
        self._manifest.save()

    def _prepare_files(self, started: datetime) -> None:
        assert self.scratch_dir is not None
        if self.run_dir is not None:
            # Held for the whole run: recovery leaves a locked run directory alone.
            self._owner_fd = lock_run_dir(self.run_dir)
            events = len(self.schedule.events)
            self._reserve = SpaceReserve(
                self.run_dir,
                {
                    MANIFEST: RESERVE_MANIFEST,
                    ANNOTATIONS: RESERVE_ANNOTATIONS + RESERVE_PER_EVENT * events,
                },
            )
        self.scratch_dir.mkdir(exist_ok=True)
        if self._sampler is None:
            self._sampler = SystemSampler(output_dir=self.run_dir)
        extra = C.STRESS_WORK
        self._loop_columns = self._sampler.columns + C.QUALITY + extra
        if self.run_dir is not None:
            write_atomic(self.run_dir / SCHEDULE, self.schedule.dumps())
            if self.profile_text:
                write_atomic(self.run_dir / PROFILE_COPY, self.profile_text)
            self._annotations = AnnotationLog(self.run_dir / ANNOTATIONS, self._reserve)
            self._writer = DatasetWriter(self.run_dir / DATASET, self._loop_columns)
            self._manifest = Manifest(
                run_dir=self.run_dir,
                profile_name=self.schedule.name,
                profile_sha256=hashlib.sha256(self.profile_text.encode()).hexdigest(),
                interval_s=self.schedule.interval_s,
                planned_total_s=self.schedule.total_s,
                seed=self.schedule.seed,
                started_at=iso_ms(started),
                columns=[c.name for c in self._loop_columns],
            )
            self._manifest.save()

    def _release_run_dir(self) -> None:
        """Drop the space reserve and the owner lock (the run's files are final)."""
        if self._reserve is not None:
            self._reserve.release()
        if self._owner_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._owner_fd)
            self._owner_fd = None

    def start(self) -> None:
        if self._sampler is None:
            raise RuntimeError("prepare() first")
        self.clock = RunClock.start_now()
        if self._manifest is not None:
            self._manifest.started_at = iso_ms(self.clock.wall0)
            self._manifest.save()
        self._loop = TelemetryLoop(
            self._sampler,
            self.schedule.interval_s,
            self.clock,
            self._on_sample,
            decorate=self._decorate,
            extra_columns=C.STRESS_WORK,
        )
        until = None if self.until_stopped else self.schedule.total_s
        telemetry = threading.Thread(
            target=self._telemetry_main, args=(until,), name="twin-telemetry", daemon=True
        )
        control = threading.Thread(target=self._control_main, name="twin-control", daemon=True)
        self._threads = [telemetry, control]
        telemetry.start()
        control.start()

    # ---- commands (any thread) ------------------------------------------------
    def stop(self, reason: str = "stopped") -> None:
        """Stop every stressor, mark running events aborted, finish the files."""
        if not self._stop_reason:
            self._stop_reason = reason
        self._wake.set()

    def launch(
        self, stressor: str, params: Mapping[str, Any], duration_s: float, label: str = ""
    ) -> str:
        """Start an ad-hoc event now; it is annotated like a scheduled one."""
        with self._lock:
            self._adhoc_count += 1
            eid = f"a{self._adhoc_count:02d}"
        start = self.elapsed_s
        event = Event(eid, stressor, dict(params), start, float(duration_s), label or "ad hoc")
        self._requests.put(_Request("launch", event=event))
        self._wake.set()
        return eid

    def stop_event(self, event_id: str) -> None:
        self._requests.put(_Request("stop", event_id=event_id))
        self._wake.set()

    def wait(self, timeout: float | None = None) -> RunResult | None:
        self._done.wait(timeout)
        return self._result

    # ---- state (any thread) ---------------------------------------------------
    @property
    def elapsed_s(self) -> float:
        return self.clock.elapsed() if self.clock else 0.0

    @property
    def running(self) -> bool:
        return self.clock is not None and not self._done.is_set()

    @property
    def active_events(self) -> list[EventState]:
        with self._lock:
            return [live.state for live in self._live.values()]

    def event_states(self) -> list[EventState]:
        with self._lock:
            return list(self.states.values())

    # ---- telemetry thread ------------------------------------------------------
    def _decorate(self, elapsed: float, values: dict[str, float]) -> tuple[str, ...]:
        with self._lock:
            lives = list(self._live.values())
        for col in C.STRESS_WORK:
            values[col.name] = 0.0
        for live in lives:
            for key, value in live.handle.work().items():
                if key in values:
                    values[key] += value
        return tuple(live.state.event.id for live in lives)

    def _on_sample(self, sample: Sample) -> None:
        if self._writer is not None and not self._degraded:
            try:
                self._writer.write(sample)
            except OSError as exc:
                self._files_failed(DATASET, exc)
                return
        self.listener.on_sample(sample)

    def _files_failed(self, name: str, exc: OSError) -> None:
        """A run file could not be written (disk full, I/O error): stop the run as degraded."""
        if not self._degraded:
            where = self.run_dir / name if self.run_dir else Path(name)
            self._degraded = f"cannot write {where}: {exc.strerror or exc}"
        self.stop("degraded")

    def _telemetry_main(self, until: float | None) -> None:
        assert self._loop is not None
        try:
            self._loop.run(until)
        except Exception as exc:  # a crash must stop the stressors and fail the run, not hang
            self._on_crash("telemetry", exc)
        finally:
            self._wake.set()

    def _on_crash(self, thread: str, exc: BaseException) -> None:
        with contextlib.suppress(Exception):
            traceback.print_exception(exc, file=sys.stderr)
        if not self._crashed:
            self._crashed = f"internal error in the {thread} thread: {type(exc).__name__}: {exc}"
        self.stop("crashed")

    # ---- control thread -------------------------------------------------------
    def _control_main(self) -> None:
        try:
            self._control_loop()
        except Exception as exc:
            self._on_crash("control", exc)
            self._abort_all("crashed")
        finally:
            self._finish()

    def _control_loop(self) -> None:
        assert self._loop is not None
        pending = [s for s in self.states.values() if s.status == "planned"]
        telemetry = self._threads[0]
        while True:
            if self._stop_reason:
                self._abort_all(self._stop_reason)
                return
            now = self.elapsed_s
            self._serve_requests()
            while pending and pending[0].event.start_s - self._prelaunch_s <= now:
                self._begin(pending.pop(0), planned=True)
            self._activate_armed()
            self._poll_live()
            if not pending and not self._live and not self._armed and not telemetry.is_alive():
                return
            due = [pending[0].event.start_s - self._prelaunch_s] if pending else []
            due += [armed.state.event.start_s for armed in self._armed.values()]
            due += [live.state.due_end_s for live in self._live.values()]
            wait = min([POLL_S, *(d - self.elapsed_s for d in due)])
            if wait > 0:
                self._wake.wait(wait)
            self._wake.clear()

    def _serve_requests(self) -> None:
        while True:
            try:
                req = self._requests.get_nowait()
            except queue.Empty:
                return
            if req.action == "launch" and req.event is not None:
                event = replace(req.event, start_s=self.elapsed_s)
                state = EventState(event, adhoc=True)
                with self._lock:
                    self.states[event.id] = state
                self._begin(state)
            elif req.action == "stop":
                live = self._live.get(req.event_id)
                if live is not None:
                    self._end(live, "aborted", "stopped by the operator")

    def _begin(self, state: EventState, planned: bool = False) -> None:
        event = state.event
        assert self.scratch_dir is not None and self.clock is not None
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
                )
        except Exception as exc:  # a stressor that cannot start fails its event, not the run
            t = self.elapsed_s
            state.start_elapsed_s = state.end_elapsed_s = t
            state.status, state.message = "failed", f"could not start: {exc}"
            self._annotate_start(state)
            self._annotate_end(state)
            self.listener.on_event(state)
            return
        if planned and self.elapsed_s < event.start_s:
            self._armed[event.id] = _Live(state, handle)
            return
        self._make_live(_Live(state, handle))

    def _make_live(self, live: _Live) -> None:
        """The load has begun: from now on samples name the event."""
        with self._lock:
            live.state.status, live.state.start_elapsed_s = "running", self.elapsed_s
            self._live[live.state.event.id] = live
        self._annotate_start(live.state)
        self.listener.on_event(live.state)

    def _activate_armed(self) -> None:
        for eid, armed in list(self._armed.items()):
            if self.elapsed_s >= armed.state.event.start_s:
                del self._armed[eid]
                self._make_live(armed)
            elif (exit_ := armed.handle.poll()) is not None:  # died before its start
                del self._armed[eid]
                self._make_live(armed)
                self._finished(armed, "failed", exit_.reason or "the stressor exited")

    def _poll_live(self) -> None:
        for live in list(self._live.values()):
            exit_ = live.handle.poll()
            if exit_ is not None:
                if exit_.ok:
                    self._finished(live, "completed", "")
                else:
                    self._finished(live, "failed", exit_.reason or "the stressor exited")
            elif self.elapsed_s >= live.state.due_end_s:
                self._end(live, "completed", "")

    def _end(self, live: _Live, status: str, message: str) -> None:
        exit_ = live.handle.stop(self.grace_s)
        if status == "completed" and not exit_.ok:
            status, message = "failed", exit_.reason
        elif not exit_.ok and exit_.reason:  # e.g. aborted, and it ignored SIGTERM
            message = f"{message}; {exit_.reason}" if message else exit_.reason
        self._finished(live, status, message)

    def _finished(self, live: _Live, status: str, message: str) -> None:
        with self._lock:
            self._live.pop(live.state.event.id, None)
            live.state.status, live.state.message = status, message
            live.state.end_elapsed_s = self.elapsed_s
        self._annotate_end(live.state)
        self.listener.on_event(live.state)

    def _abort_all(self, reason: str) -> None:
        """Stop every live stressor; never raises (it also runs after a crash)."""
        message = self._degraded or self._crashed or f"run stopped: {reason}"
        for eid, armed in list(self._armed.items()):  # launched but not yet loading
            del self._armed[eid]
            with contextlib.suppress(Exception):  # the others must still be stopped
                armed.handle.stop(self.grace_s)
        for live in list(self._live.values()):
            try:
                self._end(live, "aborted", message)
            except Exception as exc:  # stop the others anyway; this one goes with the thread
                with self._lock:
                    self._live.pop(live.state.event.id, None)
                    live.state.status = "aborted"
                    live.state.message = f"{message}; could not be stopped cleanly: {exc}"
                    live.state.end_elapsed_s = self.elapsed_s
                self._annotations_dirty = True

    # ---- files -----------------------------------------------------------------
    def _annotate_start(self, state: EventState) -> None:
        if self._annotations is None or self.clock is None:
            return
        e = state.event
        planned_start = e.start_s if not state.adhoc else state.start_elapsed_s or 0.0
        self._annotation_write(
            self._annotations.started,
            {
                "event_id": e.id,
                "stressor": e.stressor,
                "label": e.label,
                "params": json.dumps(e.params, sort_keys=True),
                "planned_start_s": f"{planned_start:.3f}",
                "planned_end_s": f"{planned_start + e.duration_s:.3f}",
                "start_time": iso_ms(self.clock.wall_at(state.start_elapsed_s or 0.0)),
                "start_elapsed_s": f"{state.start_elapsed_s or 0.0:.3f}",
                "status": "running",
            },
        )

    def _annotation_write(self, write: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        try:
            write(*args, **kwargs)
        except OSError as exc:  # the row is kept in memory; the final flush may use the reserve
            self._annotations_dirty = True
            self._files_failed(ANNOTATIONS, exc)

    def _annotate_end(self, state: EventState) -> None:
        if self._annotations is None or self.clock is None:
            return
        end = state.end_elapsed_s or 0.0
        self._annotation_write(
            self._annotations.finished,
            state.event.id,
            end_time=iso_ms(self.clock.wall_at(end)),
            end_elapsed_s=f"{end:.3f}",
            status=state.status,
            message=state.message,
        )

    def _finish(self) -> None:
        assert self._loop is not None
        self._loop.stop()
        for thread in self._threads[:1]:
            thread.join(timeout=5)
        failed = [s for s in self.states.values() if s.status == "failed"]
        rows = self._writer.rows if self._writer else self._loop.samples
        if self._degraded:
            status = "degraded"
            message = f"{self._degraded}; the stressors were stopped; {rows} complete rows kept"
        elif self._crashed:
            status, message = "failed", self._crashed
        elif self._stop_reason:
            status, message = "stopped", f"stopped: {self._stop_reason}"
        elif failed:
            status = "failed"
            message = "; ".join(f"{s.event.id} failed: {s.message}" for s in failed)
        else:
            status, message = "completed", ""
        code = EXIT_OK if status == "completed" else EXIT_FAILED
        if self._writer is not None:
            self._writer.close()
        if self._annotations is not None and self._annotations_dirty:
            try:
                self._annotations.flush(final=True)
            except OSError as exc:
                message = f"{message}; annotations.csv not updated: {exc.strerror or exc}"
        if self._manifest is not None:
            self._manifest.status = status
            self._manifest.exit_code = code
            self._manifest.stop_reason = message
            self._manifest.ended_at = iso_ms(now_utc())
            self._manifest.sample_count = self._writer.rows if self._writer else 0
            self._manifest.reserve = self._reserve
            try:
                self._manifest.save()
            except OSError as exc:
                message = f"{message}; run.json not updated: {exc.strerror or exc}"
        if self.scratch_dir is not None:
            shutil.rmtree(self.scratch_dir, ignore_errors=True)
        self._release_run_dir()
        self._result = RunResult(
            status=status,
            exit_code=code,
            run_dir=self.run_dir,
            samples=rows,
            message=message,
            events=tuple(self.states.values()),
        )
        self._done.set()
        self.listener.on_finish(self._result)


def expected_samples(total_s: float, interval_s: float) -> int:
    """Rows a complete run writes: one per interval, the first one interval in."""
    return math.floor(total_s / interval_s + 1e-9)
