"""`twin --batch PROFILE.toml`: the headless run. Never imports Textual.

Exit codes are an API: 0 the run completed, 1 it failed or was stopped
(signal, a stressor died, disk full), 2 bad input (nothing started, no run
directory left), 3 the run completed (or `[steady_state] abort` stopped it) and its
steady-state hypothesis deviated; 1 wins over 3. Progress goes to stderr; the last
line on stdout is the run directory. SIGINT, SIGTERM and SIGHUP stop the run in order.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from core import plan_misses
from core.probes import Deviation, RunProbes
from core.profile import load_profile, resolve_schedule
from core.recovery import recover_runs
from core.rundir.layout import DEFAULT_RUNS_DIR, PREDICTION
from core.rundir.read import read_manifest
from core.rundir.write import check_output_parent
from core.runner import EventState, ExperimentRun, RunListener, RunResult
from core.schedule import Schedule

if TYPE_CHECKING:
    from core.live.outputs import LiveOptions, LiveOutputs

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def log(message: str) -> None:
    """A progress line on stderr; a terminal that hung up (EIO) or a closed pipe never stops
    the run: the run's outcome is in its files and the exit code."""
    try:
        print(message, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        _lost_terminal()


def _lost_terminal() -> None:
    """Send further output to /dev/null, so neither later lines nor the interpreter's final
    flush fail (a failed flush at exit would turn the exit code into 120)."""
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives until exit


class ProgressPrinter(RunListener):
    """One line per event start and end on stderr."""

    def __init__(self, run: ExperimentRun | None = None) -> None:
        self.run = run

    def on_event(self, state: EventState) -> None:
        e = state.event
        params = " ".join(f"{k}={v}" for k, v in e.params.items())
        if state.status == "running":
            t = state.start_elapsed_s or 0.0
            late = (t - e.start_s) * 1000
            missed = f": {'; '.join(state.misses)}" if state.misses else ""
            log(
                f"[{t:8.1f}s] {e.id} {e.stressor} started ({params}) {late:+.0f} ms vs plan{missed}"
            )
        else:
            t = state.end_elapsed_s or 0.0
            extra = f": {state.message}" if state.message else ""
            log(f"[{t:8.1f}s] {e.id} {e.stressor} {state.status}{extra}")

    def on_deviation(self, deviation: Deviation) -> None:
        log(deviation.line())


def report_recovered(parent: Path) -> None:
    for run_dir, notes in recover_runs(parent).items():
        log(f"twin: recovered {run_dir}: {'; '.join(notes)}")


def report_prediction(run_dir: Path | None) -> None:
    """Say on the console what run.json says of the prediction (written, or why not), so a
    user learns that `twin analyze` will score the run against it."""
    manifest = read_manifest(run_dir) if run_dir is not None else None
    for message in (manifest or {}).get("messages") or []:
        text = str(message)
        if text.startswith(PREDICTION):
            log(f"twin: {text} (twin analyze scores the run against it)")
        elif text.startswith("no prediction"):
            log(f"twin: {text}")


def run_batch(
    profile_path: Path,
    out: Path | None,
    live: LiveOptions | None = None,
    *,
    allow_commands: bool = False,
) -> int:
    """`allow_commands`: the operator's `--allow-commands` (command probes run programs)."""
    parent = check_output_parent(out or DEFAULT_RUNS_DIR)
    # disk checked where it will go; a command probe refused here unless allowed
    profile = load_profile(profile_path, scratch_dir=parent, allow_commands=allow_commands)
    schedule = resolve_schedule(profile)
    probes = RunProbes(profile.probes, profile.steady_state, allow_commands=allow_commands)
    report_recovered(parent)
    return execute(schedule, parent, profile.text, live, probes)


def open_live(schedule: Schedule, live: LiveOptions | None) -> LiveOutputs | None:
    """Bind `--metrics-port` before anything starts (in use: bad input, no run directory)."""
    if live is None or not live.enabled:
        return None
    from core.live.outputs import LiveOutputs

    outputs = LiveOutputs(live, schedule, log)
    outputs.open()
    return outputs


def execute(
    schedule: Schedule,
    parent: Path,
    profile_text: str,
    live: LiveOptions | None = None,
    probes: RunProbes | None = None,
) -> int:
    outputs = open_live(schedule, live)
    try:
        return _execute(schedule, parent, profile_text, outputs, probes)
    finally:
        if outputs is not None:
            outputs.close()  # the last InfluxDB points go out; /metrics stops


def _execute(
    schedule: Schedule,
    parent: Path,
    profile_text: str,
    outputs: LiveOutputs | None,
    probes: RunProbes | None,
) -> int:
    printer = ProgressPrinter()
    listener: RunListener = printer
    if outputs is not None:
        from core.live.fanout import FanOut

        listener = FanOut([printer, outputs])
    run = ExperimentRun(
        schedule, parent, profile_text=profile_text, listener=listener, probes=probes
    )
    run_dir = run.prepare()
    if outputs is not None:
        outputs.attach(run, run_dir)
    log(
        f"twin: run {schedule.name}: {len(schedule.events)} event(s), "
        f"{schedule.total_s:.0f} s at {schedule.interval_s:g} s -> {run_dir}"
    )
    report_prediction(run_dir)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        log(f"twin: {name} received, stopping the run")
        run.stop(name)

    previous = {sig: signal.signal(sig, on_signal) for sig in SIGNALS}
    try:
        run.start()
        result: RunResult | None = None
        while result is None:
            result = run.wait(timeout=0.25)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    summary = f"twin: {result.status}: {result.samples} samples"
    if result.message:
        summary += f"; {result.message}"
    if probes is not None and probes.monitor.deviated:
        summary += f"; steady state deviated ({len(probes.monitor.deviations)} deviations)"
    log(summary)
    manifest = read_manifest(result.run_dir) if result.run_dir is not None else None
    if missed_plan := plan_misses.summary((manifest or {}).get("plan_misses") or {}):
        log(missed_plan)
    try:
        print(result.run_dir, flush=True)
    except (OSError, ValueError):
        _lost_terminal()
    return result.exit_code
