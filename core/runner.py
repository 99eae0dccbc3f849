"""Execute a `Schedule`: telemetry, stressors and annotations on one run clock.

Two threads per run. The telemetry thread samples at fixed deadlines and writes rows. The
control thread owns every stressor (`core.event_lifecycle`): it starts events at their planned
time, polls them (a dead stressor is noticed within `POLL_S`), stops them at their end, and
serves ad-hoc launches and stops from the UI; each real stressor boots on a launch thread
that lives until the stressor is reaped (PR_SET_PDEATHSIG follows the forking *thread*). Files
go through `core.rundir.write.RunDirectoryWriter`; `record=False` drives the TUI's dashboard.
"""

from __future__ import annotations

import contextlib
import math
import queue
import shutil
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.event_lifecycle import PRELAUNCH_S as PRELAUNCH_S  # `as`: re-exported (engine API)
from core.event_lifecycle import EventLifecycle, PlanMisses
from core.event_lifecycle import EventState as EventState
from core.event_lifecycle import HandleLike as HandleLike
from core.event_lifecycle import StartStressor as StartStressor
from core.probes import Deviation, RunProbes
from core.rundir.layout import ANNOTATIONS, DATASET, DEFAULT_MODELS_DIR, PREDICTION
from core.rundir.write import RunDirectoryWriter
from core.schedule import Event, Schedule
from core.telemetry import columns as C
from core.telemetry.logger import RunClock, TelemetryLoop, now_utc
from core.telemetry.sampler import Sample, Sampler, SystemSampler

WriteEvent = Callable[[RunDirectoryWriter, EventState], None]
POLL_S = 0.1
IDLE_POLL_S = 1.0  # the longest sleep with nothing planned or running: every change wakes it
DEFAULT_GRACE_S = 2.0
MAX_RUN_S = 366 * 86400.0  # the longest run accepted (a year): a guard against absurd numbers


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

    def on_deviation(self, deviation: Deviation) -> None:
        """A column left its `[steady_state]` tolerance (from the telemetry thread)."""


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
        probes: RunProbes | None = None,
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
        self.probes = probes or RunProbes()  # [[probes]] and [steady_state]: none by default
        self.run_dir: Path | None = None
        self.scratch_dir: Path | None = None
        self.clock: RunClock | None = None
        self.states: dict[str, EventState] = {
            e.id: EventState(e) for e in sorted(schedule.events, key=lambda e: (e.start_s, e.id))
        }
        self._events: EventLifecycle | None = None
        self._lock = threading.Lock()
        self._requests: queue.Queue[_Request] = queue.Queue()
        self._wake = threading.Event()
        self._stop_reason = ""
        self._degraded = ""
        self._crashed = ""
        self._adhoc_count = 0
        self._result: RunResult | None = None
        self._done = threading.Event()
        self._files: RunDirectoryWriter | None = None
        self._loop: TelemetryLoop | None = None
        self._threads: list[threading.Thread] = []

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
        if not self.record:
            self.scratch_dir = Path(tempfile.mkdtemp(prefix="twin-scratch-"))
            self._sampler = self._sampler or SystemSampler()
            return None
        assert self.out_parent is not None, "a recorded run needs out_parent"
        files = self._files = RunDirectoryWriter.create(self.out_parent, self.schedule, started)
        self.run_dir, self.scratch_dir = files.run_dir, files.scratch_dir
        with files.refusing():  # e.g. a full disk: refuse before anything runs
            self._sampler = self._sampler or SystemSampler(output_dir=self.run_dir)
            columns = self._sampler.columns + C.QUALITY + C.STRESS_WORK + self.probes.columns
            files.write_plan(self.schedule, self.profile_text, columns, started)
        self._write_prediction(files)
        return self.run_dir

    def _write_prediction(self, files: RunDirectoryWriter) -> None:
        """`prediction.csv` from this host's newest model, if any: `twin analyze` scores it.

        A prediction is a bonus: no model, or one that fails, never stops the run.
        """
        if not any(DEFAULT_MODELS_DIR.glob("*.json")):  # no model file: no pandas imported
            return
        try:
            from core.model import predict_into_run

            path = predict_into_run(files.run_dir, self.schedule)
        except Exception as exc:
            files.note(f"no prediction: {type(exc).__name__}: {exc}")
        else:
            if path is not None:
                files.note(f"{path.name}: predicted by this host's newest model")
        files.manifest.save()

    def start(self) -> None:
        if self._sampler is None or self.scratch_dir is None:
            raise RuntimeError("prepare() first")
        self.clock = RunClock.start_now()
        self._events = EventLifecycle(
            self.clock,
            self.scratch_dir,
            start_stressor=self._start_stressor,
            grace_s=self.grace_s,
            on_start=self._reporter(RunDirectoryWriter.event_started),
            on_end=self._reporter(RunDirectoryWriter.event_ended),
            on_refused=self._reporter(
                RunDirectoryWriter.event_started, RunDirectoryWriter.event_ended
            ),
            contention=str(self.schedule.extra.get("contention", "shared")),
            wake=self._wake.set,  # a stressor finished booting on its launch thread
        )
        if self._files is not None:
            self._files.clock_started(self.clock)
        self._loop = TelemetryLoop(
            self._sampler,
            self.schedule.interval_s,
            self.clock,
            self._on_sample,
            decorate=self._decorate,
            extra_columns=C.STRESS_WORK + self.probes.columns,
        )
        self.probes.start(self.scratch_dir)  # their own threads, on the run's filesystem
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
        return self._events.active() if self._events is not None else []

    # ---- telemetry thread ------------------------------------------------------
    def _decorate(self, elapsed: float, values: dict[str, float]) -> tuple[str, ...]:
        handles = self._events.live_handles() if self._events is not None else []
        for col in C.STRESS_WORK:
            values[col.name] = 0.0
        for _, handle in handles:
            for key, value in handle.work().items():
                if key in values:
                    values[key] += value
        self.probes.collect(values)
        return tuple(eid for eid, _ in handles)

    def _on_sample(self, sample: Sample) -> None:
        if self._files is not None and not self._degraded:
            try:
                self._files.sample(sample)
            except OSError as exc:
                self._files_failed(DATASET, exc)
                return
        self.probes.after_sample(sample, self.listener.on_deviation, self.stop)
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
            self._abort_all()
        finally:
            self._finish()

    def _control_loop(self) -> None:
        events = self._events
        assert events is not None
        pending = [s for s in self.states.values() if s.status == "planned"]
        telemetry = self._threads[0]
        while True:
            if self._stop_reason:
                self._abort_all()
                return
            now = self.elapsed_s
            self._serve_requests()
            while pending and pending[0].event.start_s - events.prelaunch_s <= now:
                events.begin(pending.pop(0), planned=True)
            events.activate_armed()
            events.poll()
            if not pending and not events.busy and not telemetry.is_alive():
                return
            due = [pending[0].event.start_s - events.prelaunch_s] if pending else []
            poll = POLL_S if pending or events.busy else IDLE_POLL_S
            wait = min([poll, *(d - self.elapsed_s for d in due + events.due_times())])
            if wait > 0:
                self._wake.wait(wait)
            self._wake.clear()

    def _serve_requests(self) -> None:
        assert self._events is not None
        while not self._requests.empty():
            req = self._requests.get_nowait()  # the control thread is its only reader
            if req.action == "launch" and req.event is not None:
                event = replace(req.event, start_s=self.elapsed_s)
                state = EventState(event, adhoc=True)
                with self._lock:
                    self.states[event.id] = state
                self._events.begin(state)
            elif req.action == "stop":
                self._events.end(req.event_id, "aborted", "stopped by the operator")

    def _abort_all(self) -> None:
        """Stop every stressor (after a stop, a degraded write or a crash); never raises."""
        if self._events is not None:
            reason = self._stop_reason or "crashed"
            self._events.abort_all(self._degraded or self._crashed or f"run stopped: {reason}")

    # ---- what happened, to the files and the listener -----------------------------
    def _reporter(self, *writes: WriteEvent) -> Callable[[EventState], None]:
        """Report one transition: into annotations.csv (`writes`), then to the listener."""

        def report(state: EventState) -> None:
            if self._files is not None:
                for write in writes:
                    try:
                        write(self._files, state)
                    except OSError as exc:  # the row is kept; the final flush may use the reserve
                        self._files_failed(ANNOTATIONS, exc)
            self.listener.on_event(state)

        return report

    def _finish(self) -> None:
        assert self._loop is not None
        self._loop.stop()
        for thread in self._threads[:1]:
            thread.join(timeout=5)
        self.probes.stop()
        rows = self._files.rows if self._files else self._loop.samples
        status, message = self._outcome(rows)
        code = self.probes.exit_code(status, self._stop_reason, self.states.values())
        if self._files is not None:
            self._files.manifest.extra.update(
                contention=str(self.schedule.extra.get("contention", "shared")),
                sampler_priority=getattr(self._sampler, "priority", "") or "not raised",
                plan_misses=(self._events.misses if self._events else PlanMisses()).record(),
                **self.probes.record(),
            )
            message = self._files.finish(status, code, message)
            if (self._files.run_dir / PREDICTION).is_file():  # scores -> fidelity.jsonl (lazy)
                __import__("core.model.record", fromlist=["_"]).record_run_safely(self.run_dir)
        if self.scratch_dir is not None:
            shutil.rmtree(self.scratch_dir, ignore_errors=True)
        events = tuple(self.states.values())
        self._result = RunResult(status, code, self.run_dir, rows, message, events)
        self._done.set()
        self.listener.on_finish(self._result)

    def _outcome(self, rows: int) -> tuple[str, str]:
        """The run's status and the one line that explains it."""
        failed = [s for s in self.states.values() if s.status == "failed"]
        if self._degraded:
            kept = f"the stressors were stopped; {rows} complete rows kept"
            return "degraded", f"{self._degraded}; {kept}"
        if self._crashed:
            return "failed", self._crashed
        if self._stop_reason:
            return "stopped", f"stopped: {self._stop_reason}"
        if failed:
            return "failed", "; ".join(f"{s.event.id} failed: {s.message}" for s in failed)
        return "completed", ""
