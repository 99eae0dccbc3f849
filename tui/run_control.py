"""The engine half of the app: the session's news, run control (record, stop, quit), signals.

`RunControlApp` is the base of `tui.app.TwinApp`, which adds the screens. Here the app
hears the session (`tui.messages`, posted by `tui.session.Session`), keeps `run_status`
(what the status bars show) up to date, and drives the run's life as the operator asks:
`r` records the draft (asking first when it would stop an ad-hoc stressor, and before it
runs a `command` probe: answered no, nothing starts) or stops the recording; the profile's
probes and steady-state check run with it (`core.probes.RunProbes`, as in `twin --batch`), and
a deviation stays on the status bar until the run ends; `q` quits (asking first while a run
records), and the stressor panel's requests bubble up here. Blocking engine calls run in
thread workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from textual import work
from textual.app import App
from textual.reactive import var

from core.errors import EXIT_DEVIATED, EXIT_FAILED, EXIT_OK, ProfileError, TwinError
from core.probes import Deviation, RunProbes
from core.recovery import recover_runs
from core.rundir.layout import DEFAULT_RUNS_DIR
from core.runner import StartStressor
from core.schedule import Schedule
from core.telemetry.sampler import Sampler
from tui.data.draft import Draft
from tui.data.status import RunStatus
from tui.dialogs.confirm import ConfirmDialog
from tui.messages import (
    DeviationSeen,
    EventChanged,
    SamplesArrived,
    SessionFinished,
    SessionStarted,
)
from tui.priority import normal_priority
from tui.session import Session
from tui.signals import install_stop_handlers
from tui.widgets.stressor_panel import StressorPanel


class RunControlApp(App[int]):
    """An app that keeps one engine session going and lets the operator record runs."""

    run_status: var[RunStatus] = var(RunStatus, init=False)
    """What the status bars show. A `var`: a change repaints only the widgets that watch
    it (a repainting reactive on the App would repaint the whole screen every second)."""
    draft: var[Draft] = var(Draft, init=False, always_update=True)
    """The profile being edited (edited in place; replaced when one is opened)."""

    handle_os_signals = False
    """Set by `run_app`: the real program owns SIGTERM/SIGHUP (tests' pytest process does not)."""

    def __init__(
        self,
        out_parent: Path | None = None,
        *,
        sampler_factory: Callable[[], Sampler] | None = None,
        start_stressor: StartStressor | None = None,
        live: bool = True,
        recover: bool = True,
        live_interval_s: float = 1.0,
    ) -> None:
        super().__init__()
        self.out_parent = out_parent or DEFAULT_RUNS_DIR
        self.live = live
        self.recover = recover
        self.session = Session(
            self.out_parent,
            sampler_factory=sampler_factory,
            start_stressor=start_stressor,
            live_interval_s=live_interval_s,
        )
        """The engine; tests feed samples through its listener methods too."""
        self.session.subscribe(self)
        self.exit_code_ = EXIT_OK
        self._quitting = False

    def start_engine(self) -> None:
        """Once mounted: signals, recovery of interrupted runs, the live session."""
        self.run_status = RunStatus(state="starting", name=self.draft.label)
        if self.handle_os_signals:
            install_stop_handlers(
                self._stop_engine, self.on_signal, lambda: self.exit_code_ or EXIT_FAILED
            )
        if self.recover:
            self._recover()
        if self.live:
            self._start_live()
        else:
            self.run_status = self._live_status(None)

    def _stop_engine(self, name: str) -> None:
        """Stop the engine in order (complete files, no stressor left): any thread."""
        self.session.stop_recording(name)
        self.session.shutdown(f"{name} received")

    def on_signal(self, name: str) -> None:
        """SIGTERM or SIGHUP: stop the run in order (complete files), then leave."""
        self.session.stop_recording(name)
        self.shutdown(f"{name} received")

    @work(thread=True, exit_on_error=False, group="recover")
    def _recover(self) -> None:
        normal_priority()  # not the UI thread's
        repaired = recover_runs(self.out_parent)
        for run_dir, notes in repaired.items():
            self.call_from_thread(
                self.notify, f"recovered {run_dir.name}: {'; '.join(notes)}", timeout=8
            )

    @work(thread=True, exit_on_error=False, group="engine")
    def _start_live(self) -> None:
        normal_priority()  # the engine's threads and stressors start from here
        try:
            self.session.start_live()  # news: SessionStarted
        except TwinError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")

    # ---- engine news -----------------------------------------------------------------------
    def on_unmount(self) -> None:
        """The app is closing however it was asked to: stop the engine (run_app waits)."""
        self.session.stop_nowait("the TUI exited")

    def on_session_started(self, message: SessionStarted) -> None:
        info = message.info
        if info.serial != self.session.serial or self._quitting:
            return
        name = info.name if info.recording else self.draft.label
        self.run_status = RunStatus(
            state="recording" if info.recording else "live",
            name=name,
            total_s=info.total_s,
            run_dir=info.run_dir,
            last_run=self.run_status.last_run,
        )

    def on_samples_arrived(self, message: SamplesArrived) -> None:
        if self.is_running:
            self._update_status()

    def on_event_changed(self, message: EventChanged) -> None:
        state = message.state
        if not self.is_running or message.serial != self.session.serial:
            return
        if state.status == "failed":
            self.notify(
                f"{state.event.id} {state.event.stressor} failed: {state.message}",
                severity="error",
                timeout=8,
            )
        self._update_status()

    def on_session_finished(self, message: SessionFinished) -> None:
        result = message.result
        if message.serial != self.session.serial or self._quitting or not self.is_running:
            return
        if result.run_dir is not None:
            severity = "information" if result.exit_code == EXIT_OK else "warning"
            text = f"run {result.status}: {result.samples} samples → {result.run_dir}"
            if result.exit_code == EXIT_DEVIATED:
                text += f"\nsteady state deviated ({self.run_status.deviations} deviation(s))"
            if result.message:
                text += f"\n{result.message}"
            self.notify(text, severity=severity, timeout=10)
            self.run_status = self._live_status(result.run_dir)
        if self.live:
            self._start_live()

    def on_deviation_seen(self, message: DeviationSeen) -> None:
        if message.serial != self.session.serial or not self.run_status.recording:
            return
        status = self.run_status
        if not status.deviations:
            self.notify(message.deviation.line(), severity="warning", timeout=8)
        self.run_status = replace(
            status, deviation=deviation_text(message.deviation), deviations=status.deviations + 1
        )

    def _update_status(self) -> None:
        session, info, status = self.session, self.session.info, self.run_status
        if info is None:
            return
        events = tuple(f"{s.event.id} {s.event.stressor}" for s in session.active_events())
        new = replace(
            status,
            elapsed_s=session.elapsed_s if info.recording else 0.0,  # not shown when live
            total_s=info.total_s,
            events_now=events,
            run_dir=info.run_dir,
        )
        if new != status:
            self.run_status = new

    # ---- stressors (the stressor panel's requests bubble up here) ---------------------------
    def on_stressor_panel_launch_requested(self, message: StressorPanel.LaunchRequested) -> None:
        stressor, duration_s = message.stressor, message.duration_s
        event_id = self.session.launch(stressor, message.params, duration_s)
        if event_id is None:
            self.notify("the engine is not running yet", severity="warning")
            return
        where = "recorded" if self.run_status.recording else "not recorded"
        self.notify(f"{event_id}: {stressor} for {duration_s:g} s ({where})", timeout=3)

    def on_stressor_panel_stop_requested(self, message: StressorPanel.StopRequested) -> None:
        self.session.stop_event(message.event_id)
        self.notify(f"stopping {message.event_id}", timeout=3)

    # ---- run control ------------------------------------------------------------------------
    def action_record(self) -> None:
        if self._quitting:
            return
        status = self.run_status
        if status.state in ("preparing", "stopping", "starting"):
            self.notify(f"please wait: {status.state}", severity="warning", timeout=3)
            return
        if status.recording:
            self.push_screen(
                ConfirmDialog("Stop the recording now?", "Stop", "Keep recording"),
                self._confirm_stop,
            )
            return
        if self.draft.is_blank:
            self.notify(
                "no profile loaded: press o to open one, or e to build one", severity="warning"
            )
            return
        try:
            schedule = self.draft.schedule(self.out_parent)
        except ProfileError:
            self.notify("the profile has problems (see the editor)", severity="error")
            self.switch_mode("editor")
            return
        commands = self.draft.command_probes()
        if not commands:
            self._ask_adhoc(schedule, allow_commands=False)
            return
        programs = "; ".join(f"{p.name}: {' '.join(p.argv)}" for p in commands)
        question = (
            f"This profile's command probe(s) run a program every few seconds during the run: "
            f"{programs}. Run them? (No: the recording does not start.)"
        )
        self.push_screen(
            ConfirmDialog(question, "Run them and record", "Do not record"),
            lambda yes: self._ask_adhoc(schedule, allow_commands=True) if yes else None,
        )

    def _ask_adhoc(self, schedule: Schedule, allow_commands: bool) -> None:
        """Record, asking first when the recording would stop an ad-hoc stressor."""
        adhoc = [f"{s.event.id} {s.event.stressor}" for s in self.session.active_events()]
        if not adhoc:
            self._record(schedule, [], allow_commands)
            return
        question = (
            f"Not recorded and running now: {', '.join(adhoc)}. The recording stops it "
            "(launch it again during the run to have it recorded). Stop it and record?"
        )
        self.push_screen(
            ConfirmDialog(question, "Stop it and record", "Cancel"),
            lambda yes: self._record(schedule, adhoc, allow_commands) if yes else None,
        )

    def _record(self, schedule: Schedule, stopping: list[str], allow_commands: bool) -> None:
        if self.run_status.state != "live":  # the world moved while the question was asked
            self.notify(f"not recording: {self.run_status.state}", severity="warning")
            return
        if stopping:
            self.notify(f"stopping {', '.join(stopping)}: the recording starts", timeout=5)
        self.run_status = RunStatus(
            state="preparing",
            name=schedule.name,
            total_s=schedule.total_s,
            last_run=self.run_status.last_run,
        )
        try:  # the same engine helper as `twin --batch`: the profile's probes and hypothesis
            profile = self.draft.validated(self.out_parent)
            probes = RunProbes(profile.probes, profile.steady_state, allow_commands=allow_commands)
        except TwinError as exc:
            self._recording_failed(str(exc))
            return
        self._start_recording(schedule, self.draft.run_text(), probes)

    @work(thread=True, exit_on_error=False, group="engine")
    def _start_recording(self, schedule: Schedule, text: str, probes: RunProbes) -> None:
        normal_priority()  # the engine's threads and stressors start from here
        try:
            self.session.start_recording(schedule, text, probes)  # news: SessionStarted
        except TwinError as exc:
            self.call_from_thread(self._recording_failed, str(exc))

    def _recording_failed(self, reason: str) -> None:
        self.notify(f"cannot start the run: {reason}", severity="error", timeout=10)
        self.run_status = self._live_status(self.run_status.last_run)

    def _live_status(self, last_run: Path | None) -> RunStatus:
        return RunStatus(state="live", name=self.draft.label, last_run=last_run)

    def _confirm_stop(self, stop: bool | None) -> None:
        if stop and self.run_status.recording:
            self.run_status = replace(self.run_status, state="stopping", events_now=())
            self.session.stop_recording("stopped by the operator")

    async def action_quit(self) -> None:
        if self._quitting:
            return
        if self.run_status.recording:
            self.push_screen(
                ConfirmDialog("A run is recording. Stop it and quit?", "Stop and quit", "Stay"),
                self._confirm_quit,
            )
            return
        self.shutdown("quit")

    def _confirm_quit(self, quit_: bool | None) -> None:
        if quit_:
            self.shutdown("quit during the run")

    def shutdown(self, reason: str) -> None:
        """Stop every session in order, then exit."""
        if self._quitting:
            return
        self._quitting = True
        if self.run_status.recording:
            self.exit_code_ = EXIT_FAILED
        self.run_status = RunStatus(
            state="quitting", name=self.run_status.name, run_dir=self.run_status.run_dir
        )
        self._shutdown_engine(reason)

    @work(thread=True, exit_on_error=False, group="shutdown")
    def _shutdown_engine(self, reason: str) -> None:
        self.session.shutdown(reason)
        self.call_from_thread(self.exit, self.exit_code_)


def deviation_text(deviation: Deviation) -> str:
    """A deviation in a few words for the status bar: `probe_api_p99_ms > 50 at 3.2 s`."""
    sign = ">" if deviation.bound == "max" else "<"
    return f"{deviation.column} {sign} {deviation.limit:g} at {deviation.elapsed_s:.1f} s"
