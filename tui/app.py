"""The twin TUI: one app built by `make_app`, for the CLI and the tests alike.

The engine (`core.runner.ExperimentRun`) owns its threads; `tui.data.engine.EngineHost`
keeps one session running at all times (live, or a recorded run), and the
engine's callbacks become messages posted to this app (`post_message` is
thread-safe). Blocking engine calls (starting or stopping a session) run in
thread workers, so the UI never waits on them.

Exit codes of `run_app`: 0 normally, 1 when quitting (or a signal) stopped a
recorded run before its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.screen import Screen

from core.bundle import DEFAULT_RUNS_DIR
from core.errors import EXIT_FAILED, EXIT_OK, ProfileError, TwinError
from core.recovery import recover_runs
from core.runner import EventState, RunResult, StartStressor
from core.telemetry.sampler import Sample, Sampler
from tui.data.draft import Draft
from tui.data.engine import EngineCallbacks, EngineHost, SessionInfo
from tui.data.history import History
from tui.data.status import RunStatus
from tui.dialogs.confirm import ConfirmDialog
from tui.messages import EventChanged, SamplesArrived, SessionFinished
from tui.screens.dashboard import DashboardScreen
from tui.screens.editor import EditorScreen
from tui.screens.help import HelpScreen

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
SIGNAL_EXIT_GRACE_S = 3.0


class _Bridge(EngineCallbacks):
    """Engine threads -> the app: samples into the history, news as messages."""

    def __init__(self, app: TwinApp) -> None:
        self.app = app

    def sample(self, serial: int, sample: Sample) -> None:
        self.app.history.append(sample, serial)
        self.app.post_message(SamplesArrived(serial))

    def event(self, serial: int, state: EventState) -> None:
        self.app.post_message(EventChanged(serial, state))

    def finished(self, serial: int, result: RunResult) -> None:
        self.app.post_message(SessionFinished(serial, result))


def _analysis_screen_factory(app: TwinApp) -> Callable[[Path | None], Screen[Any]] | None:
    """The analysis screen (`tui.screens.analysis.AnalysisScreen`), when it exists."""
    try:
        module = importlib.import_module("tui.screens.analysis")
    except ImportError:
        return None
    screen_cls = getattr(module, "AnalysisScreen", None)
    if screen_cls is None:
        return None
    params = inspect.signature(screen_cls).parameters

    def build(run_dir: Path | None) -> Screen[Any]:
        kwargs: dict[str, Any] = {}
        if "run_dir" in params:
            kwargs["run_dir"] = run_dir
        if "runs_root" in params:
            kwargs["runs_root"] = app.out_parent
        screen: Screen[Any] = screen_cls(**kwargs)
        return screen

    return build


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
        self.profile_path = profile_path
        self.live = live
        self.recover = recover
        self.history = History()
        self.event_kinds: dict[str, str] = {}
        """`"serial:event id"` -> stressor, for the event strip."""
        self.draft = Draft()
        self.bridge = _Bridge(self)
        """Where engine callbacks land; tests feed samples through it too."""
        self.host = EngineHost(
            self.out_parent,
            self.bridge,
            sampler_factory=sampler_factory,
            start_stressor=start_stressor,
            live_interval_s=live_interval_s,
        )
        self.exit_code_ = EXIT_OK
        self._quitting = False
        self._analysis = _analysis_screen_factory(self)
        self.add_mode("dashboard", DashboardScreen)
        self.add_mode("editor", EditorScreen)
        if profile_path is not None:
            self.draft = Draft.load(profile_path)

    # ---- start-up ----------------------------------------------------------------------
    def on_mount(self) -> None:
        self.run_status = RunStatus(state="starting", name=self.draft_label())
        self.switch_mode("dashboard")
        if self.handle_os_signals:
            self._install_signal_handlers()
        if self.recover:
            self._recover()
        if self.live:
            self._start_live()
        else:
            self.run_status = RunStatus(state="live", name=self.draft_label())

    handle_os_signals = False
    """Set by `run_app`: the real program owns SIGTERM/SIGHUP (tests' pytest process does not)."""

    def _install_signal_handlers(self) -> None:
        """Plain `signal.signal` handlers, not the event loop's.

        When the terminal is gone (SSH hang-up) the loop can be stuck for ever inside
        Textual, writing to it; a loop-level handler would then never run. A plain handler
        runs in the main thread even there (lock waits are interruptible), so the engine is
        always stopped in order, and a watchdog ends the process if the UI cannot.
        """
        loop = asyncio.get_running_loop()

        def handler(signum: int, _frame: object) -> None:
            name = signal.Signals(signum).name
            threading.Thread(
                target=self._stop_engine_then_exit, args=(name,), name="twin-signal", daemon=True
            ).start()
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                loop.call_soon_threadsafe(self.on_signal, name)

        for sig in HANDLED_SIGNALS:
            with contextlib.suppress(ValueError):  # not the main thread (some test drivers)
                signal.signal(sig, handler)

    def _stop_engine_then_exit(self, name: str) -> None:
        """Stop the engine in order (complete files, no stressor left), then make sure we exit."""
        self.host.stop_recording(name)
        self.host.shutdown(f"{name} received")
        time.sleep(SIGNAL_EXIT_GRACE_S)  # the UI normally exits well before this
        os._exit(self.exit_code_ or EXIT_FAILED)

    def on_signal(self, name: str) -> None:
        """SIGTERM or SIGHUP: stop the run in order (complete files), then leave."""
        self.host.stop_recording(name)
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
            info = self.host.start_live()
        except TwinError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        if info is not None:
            self.call_from_thread(self._session_started, info)

    def _session_started(self, info: SessionInfo) -> None:
        last = self.run_status.last_run
        state = "recording" if info.recording else "live"
        name = info.name if info.recording else self.draft_label()
        self.run_status = RunStatus(
            state=state, name=name, total_s=info.total_s, run_dir=info.run_dir, last_run=last
        )

    # ---- what the screens read --------------------------------------------------------------
    @property
    def interval_s(self) -> float:
        info = self.host.info
        return info.interval_s if info is not None else 1.0

    @property
    def serial(self) -> int:
        info = self.host.info
        return info.serial if info is not None else 0

    def engine_elapsed(self) -> float:
        run = self.host.run
        return run.elapsed_s if run is not None else 0.0

    def active_events(self) -> list[EventState]:
        run = self.host.run
        return run.active_events if run is not None and run.running else []

    def draft_label(self) -> str:
        if self.draft.is_blank:
            return ""
        star = "*" if self.draft.dirty else ""
        return f"{self.draft.name}{star}"

    # ---- engine news -----------------------------------------------------------------------
    def on_unmount(self) -> None:
        """The app is closing however it was asked to: stop the engine (run_app waits)."""
        self.host.stop_nowait("the TUI exited")

    def on_samples_arrived(self, message: SamplesArrived) -> None:
        if not self.is_running:
            return
        self._update_status()
        screen = self.screen
        if isinstance(screen, DashboardScreen):
            screen.refresh_metrics()

    def on_event_changed(self, message: EventChanged) -> None:
        if not self.is_running:
            return
        state = message.state
        self.event_kinds[f"{message.serial}:{state.event.id}"] = state.event.stressor
        if message.serial != self.serial:
            return
        if state.status == "failed":
            self.notify(
                f"{state.event.id} {state.event.stressor} failed: {state.message}",
                severity="error",
                timeout=8,
            )
        self._update_status()
        for screen in self.screen_stack:
            if isinstance(screen, DashboardScreen | EditorScreen):
                screen.post_message(message)

    def on_session_finished(self, message: SessionFinished) -> None:
        result = message.result
        if message.serial != self.serial or self._quitting or not self.is_running:
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
        run = self.host.run
        info = self.host.info
        status = self.run_status
        if run is None or info is None:
            return
        events = (
            tuple(f"{s.event.id} {s.event.stressor}" for s in run.active_events)
            if run.running
            else ()
        )
        new = RunStatus(
            state=status.state,
            name=status.name,
            elapsed_s=run.elapsed_s if info.recording else 0.0,  # not shown when live
            total_s=info.total_s,
            events_now=events,
            run_dir=info.run_dir,
            last_run=status.last_run,
        )
        if new != status:
            self.run_status = new

    # ---- stressors --------------------------------------------------------------------------
    def launch(self, stressor: str, params: Mapping[str, Any], duration_s: float) -> None:
        event_id = self.host.launch(stressor, params, duration_s)
        if event_id is None:
            self.notify("the engine is not running yet", severity="warning")
            return
        where = "recorded" if self.run_status.recording else "not recorded"
        self.notify(f"{event_id}: {stressor} for {duration_s:g} s ({where})", timeout=3)

    def stop_event(self, event_id: str) -> None:
        self.host.stop_event(event_id)
        self.notify(f"stopping {event_id}", timeout=3)

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
        except ProfileError as exc:
            self.notify("the profile has problems (see the editor)", severity="error")
            self.switch_mode("editor")
            del exc
            return
        self.run_status = RunStatus(
            state="preparing",
            name=schedule.name,
            total_s=schedule.total_s,
            last_run=status.last_run,
        )
        self._start_recording(schedule, self.draft.run_text())

    @work(thread=True, exit_on_error=False, group="engine")
    def _start_recording(self, schedule: Any, text: str) -> None:
        try:
            info = self.host.start_recording(schedule, text)
        except TwinError as exc:
            self.call_from_thread(self._recording_failed, str(exc))
            return
        self.call_from_thread(self._session_started, info)

    def _recording_failed(self, reason: str) -> None:
        self.notify(f"cannot start the run: {reason}", severity="error", timeout=10)
        self.run_status = RunStatus(
            state="live", name=self.draft_label(), last_run=self.run_status.last_run
        )

    def _confirm_stop(self, stop: bool | None) -> None:
        if stop and self.run_status.recording:
            self.run_status = RunStatus(
                state="stopping",
                name=self.run_status.name,
                elapsed_s=self.run_status.elapsed_s,
                total_s=self.run_status.total_s,
                run_dir=self.run_status.run_dir,
                last_run=self.run_status.last_run,
            )
            self.host.stop_recording("stopped by the operator")

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
        self.host.shutdown(reason)
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
        if self._analysis is None:
            self._analysis = _analysis_screen_factory(self)
        if self._analysis is None:
            self.notify("analysis is not available in this build", severity="warning")
            return
        if self.run_status.recording:
            self.notify("analysis opens the last finished run", timeout=3)
        self.push_screen(self._analysis(self.run_status.last_run))

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        if not self.is_screen_installed("help"):  # built once: `?` then only shows it
            self.install_screen(HelpScreen(self.binding_sections()), "help")
        self.push_screen("help")

    def binding_sections(self) -> list[tuple[str, Iterable[BindingType]]]:
        sections: list[tuple[str, Iterable[BindingType]]] = [
            ("everywhere", self.BINDINGS),
            ("dashboard", DashboardScreen.BINDINGS),
            ("editor", EditorScreen.BINDINGS),
            ("dialogs", ConfirmDialog.BINDINGS),
        ]
        return sections

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
        self.set_draft(draft)
        self.notify(f"opened {path}", timeout=3)

    def set_draft(self, draft: Draft) -> None:
        self.draft = draft
        self.draft_changed()

    def draft_changed(self) -> None:
        """The draft was replaced or edited: refresh whoever shows it."""
        if not self.run_status.recording:
            status = self.run_status
            self.run_status = RunStatus(
                state=status.state,
                name=self.draft_label(),
                events_now=status.events_now,
                last_run=status.last_run,
            )
        if isinstance(self.screen, EditorScreen):
            self.screen.load_draft()


def make_app(
    profile_path: Path | None = None,
    out_parent: Path | None = None,
    **options: Any,
) -> TwinApp:
    """Build the app (the CLI and the tests use this same factory).

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
        app.host.shutdown("the TUI exited")
    return app.exit_code_ if code is None else int(code)
