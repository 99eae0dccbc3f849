"""The twin TUI: one app built by `make_app`, for the command line and the tests alike.

The engine (`core.runner.ExperimentRun`) owns its threads; `tui.session.Session` keeps one
engine session running at all times (live, or a recorded run) and posts its news as
messages (`tui.messages`) to the app and to the screens that subscribed. Screens never
import the app: they read its state through its reactives (`run_status`, `draft`), get the
session when built, and ask for things with messages that bubble up here. Blocking engine
calls (starting or stopping a session) run in thread workers, so the UI never waits on them.

Exit codes of `run_app`: 0 normally, 1 when quitting (or a signal) stopped a recorded run
before its end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import var

from core.errors import EXIT_FAILED, EXIT_OK, ProfileError, TwinError
from core.recovery import recover_runs
from core.rundir.layout import DEFAULT_RUNS_DIR
from core.runner import StartStressor
from core.schedule import Schedule
from core.telemetry.sampler import Sampler
from tui.data.draft import Draft
from tui.data.status import RunStatus
from tui.dialogs.confirm import ConfirmDialog
from tui.messages import (
    DraftEdited,
    EventChanged,
    SamplesArrived,
    SessionFinished,
    SessionInfo,
    SessionStarted,
)
from tui.screens.dashboard import DashboardScreen
from tui.screens.editor import EditorScreen
from tui.screens.help import HelpScreen
from tui.session import Session
from tui.signals import install_stop_handlers
from tui.widgets.stressor_panel import StressorPanel


class TwinApp(App[int]):
    """The operator's cockpit: dashboard, timeline editor, run control."""

    CSS_PATH = "twin.tcss"
    TITLE = "twin"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [
        (0, "-narrow"),
        (70, "-normal"),
        (150, "-wide"),
    ]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [
        (0, "-short"),
        (16, "-tall"),
        (40, "-huge"),
    ]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "record", "Record/stop", priority=False),
        Binding("1", "show('dashboard')", "Dashboard", show=False),
        Binding("2", "show('editor')", "Editor", show=False),
        Binding("3,A", "show('analysis')", "Analysis", show=False),
        Binding("e", "show('editor')", "Editor"),
        Binding("o", "open_profile", "Open", show=False),
        Binding("question_mark", "help", "Keys"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    run_status: var[RunStatus] = var(RunStatus, init=False)
    """What the status bars show. A `var`: a change repaints only the widgets that watch
    it (a repainting reactive on the App would repaint the whole screen every second)."""
    draft: var[Draft] = var(Draft, init=False, always_update=True)
    """The profile being edited (edited in place; replaced when one is opened)."""

    handle_os_signals = False
    """Set by `run_app`: the real program owns SIGTERM/SIGHUP (tests' pytest process does not)."""

    def __init__(
        self,
        profile_path: Path | None = None,
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
        self.add_mode("dashboard", lambda: DashboardScreen(self.session))
        self.add_mode("editor", lambda: EditorScreen(self.session))
        if profile_path is not None:
            self.set_reactive(TwinApp.draft, Draft.load(profile_path))

    # ---- start-up ----------------------------------------------------------------------
    def on_mount(self) -> None:
        self.run_status = RunStatus(state="starting", name=self.draft_label())
        self.switch_mode("dashboard")
        if self.handle_os_signals:
            install_stop_handlers(
                self._stop_engine, self.on_signal, lambda: self.exit_code_ or EXIT_FAILED
            )
        if self.recover:
            self._recover()
        if self.live:
            self._start_live()
        else:
            self.run_status = RunStatus(state="live", name=self.draft_label())

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
        repaired = recover_runs(self.out_parent)
        for run_dir, notes in repaired.items():
            self.call_from_thread(
                self.notify, f"recovered {run_dir.name}: {'; '.join(notes)}", timeout=8
            )

    @work(thread=True, exit_on_error=False, group="engine")
    def _start_live(self) -> None:
        try:
            self.session.start_live()  # news: SessionStarted
        except TwinError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")

    def draft_label(self) -> str:
        if self.draft.is_blank:
            return ""
        star = "*" if self.draft.dirty else ""
        return f"{self.draft.name}{star}"

    # ---- engine news -----------------------------------------------------------------------
    def on_unmount(self) -> None:
        """The app is closing however it was asked to: stop the engine (run_app waits)."""
        self.session.stop_nowait("the TUI exited")

    def on_session_started(self, message: SessionStarted) -> None:
        info: SessionInfo = message.info
        if info.serial != self.session.serial or self._quitting:
            return
        name = info.name if info.recording else self.draft_label()
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
            if result.message:
                text += f"\n{result.message}"
            self.notify(text, severity=severity, timeout=10)
            self.run_status = RunStatus(
                state="live", name=self.draft_label(), last_run=result.run_dir
            )
        if self.live:
            self._start_live()

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
        adhoc = [f"{s.event.id} {s.event.stressor}" for s in self.session.active_events()]
        if not adhoc:
            self._record(schedule, [])
            return
        question = (
            f"Not recorded and running now: {', '.join(adhoc)}. The recording stops it "
            "(launch it again during the run to have it recorded). Stop it and record?"
        )
        self.push_screen(
            ConfirmDialog(question, "Stop it and record", "Cancel"),
            lambda yes: self._record(schedule, adhoc) if yes else None,
        )

    def _record(self, schedule: Schedule, stopping: list[str]) -> None:
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
        self._start_recording(schedule, self.draft.run_text())

    @work(thread=True, exit_on_error=False, group="engine")
    def _start_recording(self, schedule: Schedule, text: str) -> None:
        try:
            self.session.start_recording(schedule, text)  # news: SessionStarted
        except TwinError as exc:
            self.call_from_thread(self._recording_failed, str(exc))

    def _recording_failed(self, reason: str) -> None:
        self.notify(f"cannot start the run: {reason}", severity="error", timeout=10)
        self.run_status = RunStatus(
            state="live", name=self.draft_label(), last_run=self.run_status.last_run
        )

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

    # ---- screens ----------------------------------------------------------------------------
    def action_show(self, mode: str) -> None:
        if mode == "analysis":
            self._show_analysis()
            return
        while len(self.screen_stack) > 1:
            self.pop_screen()
        if self.current_mode != mode:
            self.switch_mode(mode)

    def _show_analysis(self) -> None:
        # imported here: analysis loads pandas (about 0.5 s), not needed to start the app
        from tui.screens.analysis import AnalysisScreen

        if self.run_status.recording:
            self.notify("analysis opens the last finished run", timeout=3)
        self.push_screen(AnalysisScreen(self.run_status.last_run, runs_root=self.out_parent))

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        if not self.is_screen_installed("help"):  # built once: `?` then only shows it
            self.install_screen(HelpScreen(self.binding_sections()), "help")
        self.push_screen("help")

    def binding_sections(self) -> list[tuple[str, Iterable[BindingType]]]:
        return [
            ("everywhere", self.BINDINGS),
            ("dashboard", DashboardScreen.BINDINGS),
            ("editor", EditorScreen.BINDINGS),
            ("dialogs", ConfirmDialog.BINDINGS),
        ]

    # ---- the draft -------------------------------------------------------------------------
    def action_open_profile(self) -> None:
        from tui.dialogs.open_profile import OpenProfileDialog

        self.push_screen(OpenProfileDialog(), self._opened)

    def _opened(self, path: Path | None) -> None:
        if path is None:
            return
        try:
            draft = Draft.load(path)
        except ProfileError as exc:
            self.notify(
                "\n".join(exc.problems[:6]),
                title=f"cannot open {path}",
                severity="error",
                timeout=12,
            )
            return
        self.draft = draft  # the editor watches it
        self.notify(f"opened {path}", timeout=3)

    def watch_draft(self) -> None:
        self._show_draft_name()

    def on_draft_edited(self, message: DraftEdited) -> None:
        self._show_draft_name()

    def _show_draft_name(self) -> None:
        """The draft was replaced or edited: the status bar shows its name (when live)."""
        status = self.run_status
        if not status.recording:
            self.run_status = RunStatus(
                state=status.state,
                name=self.draft_label(),
                events_now=status.events_now,
                last_run=status.last_run,
            )


def make_app(
    profile_path: Path | None = None,
    out_parent: Path | None = None,
    **options: Any,
) -> TwinApp:
    """Build the app (the command line and the tests use this same factory).

    `options` are `TwinApp`'s test hooks: `sampler_factory`, `start_stressor`,
    `live`, `recover`, `live_interval_s`.
    """
    return TwinApp(profile_path, out_parent, **options)


def run_app(profile_path: Path | None, out_parent: Path | None) -> int:
    """`twin [PROFILE] [--out DIR]`: run the TUI; returns the exit code."""
    app = make_app(profile_path, out_parent)
    app.handle_os_signals = True
    try:
        code = app.run()
    finally:
        app.session.shutdown("the TUI exited")
    return app.exit_code_ if code is None else int(code)
