"""The twin TUI: one app built by `make_app`, for the command line and the tests alike.

The engine (`core.runner.ExperimentRun`) owns its threads; `tui.session.Session` keeps one
engine session running at all times (live, or a recorded run) and posts its news as
messages (`tui.messages`) to the app and to the screens that subscribed. The app's engine
half (news, record, stop, quit) is `tui.run_control.RunControlApp`; this module adds the
screens. Screens never import the app: they read its state through its reactives
(`run_status`, `draft`), get the session when built, and ask for things with messages that
bubble up to the app.

`--metrics-port` and `--influx` hear every session through `tui.live_link.LiveLink`.

Exit codes of `run_app`: 0 normally, 1 when quitting (or a signal) stopped a recorded run
before its end.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.driver import Driver

from core.errors import ProfileError, TwinError
from tui.data.draft import Draft
from tui.data.status import RunStatus
from tui.dialogs.confirm import ConfirmDialog
from tui.messages import DraftEdited
from tui.priority import raise_ui_thread
from tui.run_control import RunControlApp
from tui.screens.dashboard import DashboardScreen
from tui.screens.editor import EditorScreen
from tui.screens.help import HelpScreen
from tui.screens.replay import ReplayScreen

if TYPE_CHECKING:
    from core.live.outputs import LiveOptions
    from tui.data.recording import Recording


class TwinApp(RunControlApp):
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
        Binding("r", "record", "Record", tooltip="Record the profile, or stop the recording"),
        Binding("1", "show('dashboard')", "Dashboard", show=False),
        Binding("2", "show('editor')", "Editor", show=False),
        Binding("3,A", "show('analysis')", "Analysis", show=False),
        Binding("e", "show('editor')", "Editor"),
        Binding("o", "open_profile", "Open", show=False, tooltip="Open a profile, or replay a run"),
        Binding("question_mark", "help", "Keys"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        profile_path: Path | None = None,
        out_parent: Path | None = None,
        replay: Recording | None = None,
        **options: Any,
    ) -> None:
        super().__init__(out_parent, **options)
        self.replay = replay
        """The run `twin RUN_DIR` opened: replayed over the live dashboard from the start."""
        self.add_mode("dashboard", lambda: DashboardScreen(self.session))
        self.add_mode("editor", lambda: EditorScreen(self.session))
        if profile_path is not None:
            self.set_reactive(TwinApp.draft, Draft.load(profile_path))

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, but on Linux one whose input thread sleeps until a key."""
        driver = super().get_driver_class()
        named = os.environ.get("TEXTUAL_DRIVER")  # a driver asked for by name is used as is
        if driver.__module__ == "textual.drivers.linux_driver" and not named:
            try:  # it reads Textual's input parser, not a public API: a Textual that moved it
                from tui.driver import QuietLinuxDriver  # gets its own driver back
            except ImportError:
                return driver
            return QuietLinuxDriver
        return driver

    def on_mount(self) -> None:
        self.ui_priority = raise_ui_thread()  # keys first under load (nice -10 if permitted)
        self.switch_mode("dashboard")
        self.start_engine()
        # the objects of start-up (Textual's, the screens') live as long as the app: out of the
        # collector's full passes, which took 30-90 ms of the UI thread each (worst key latency)
        self.call_after_refresh(gc.freeze)
        if self.replay is not None:
            self.push_screen(ReplayScreen(self.replay))

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
            ("replay", ReplayScreen.BINDINGS),
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
        if path.is_dir():
            self._open_run(path)
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

    @work(thread=True, exclusive=True, exit_on_error=False, group="replay")
    def _open_run(self, run_dir: Path) -> None:
        """Read the run (pandas: a thread), then replay it."""
        from tui.data.recording import Recording

        try:
            recording = Recording.load(run_dir)
        except (TwinError, OSError, ValueError) as exc:
            self.call_from_thread(
                self.notify, str(exc), title="cannot replay", severity="error", timeout=10
            )
            return
        self.call_from_thread(self.push_screen, ReplayScreen(recording))

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
                name=self.draft.label,
                events_now=status.events_now,
                last_run=status.last_run,
            )


def make_app(
    profile_path: Path | None = None,
    out_parent: Path | None = None,
    replay: Recording | None = None,
    **options: Any,
) -> TwinApp:
    """Build the app (the command line and the tests use this same factory).

    `options` are `TwinApp`'s test hooks: `sampler_factory`, `start_stressor`,
    `live`, `recover`, `live_interval_s`.
    """
    return TwinApp(profile_path, out_parent, replay, **options)


def run_app(
    profile_path: Path | None,
    out_parent: Path | None,
    live: LiveOptions | None = None,
    replay: Path | None = None,
) -> int:
    """`twin [PROFILE | RUN_DIR] [--out DIR]`: run the TUI; returns the exit code.

    A run directory is read before the screen opens: not a run is one line, exit 2."""
    recording = None
    if replay is not None:
        from tui.data.recording import Recording

        recording = Recording.load(replay)
    link = None
    if live is not None and live.enabled:
        from tui.live_link import LiveLink

        link = LiveLink(live, _stderr_line)
        link.open()  # a port in use: one line, exit 2, before the screen opens
    app = make_app(profile_path, out_parent, recording)
    app.handle_os_signals = True
    if link is not None:
        app.session.add_listener(link)
        link.log = lambda line: _notify_or_print(app, line)
    try:
        code = app.run()
    finally:
        app.session.shutdown("the TUI exited")
        if link is not None:
            link.close()
    return app.exit_code_ if code is None else int(code)


def _stderr_line(line: str) -> None:
    print(line, file=sys.stderr)


def _notify_or_print(app: TwinApp, line: str) -> None:
    """A live output's line: a notification while the app runs (any thread), else stderr."""
    if app.is_running:
        try:
            app.call_from_thread(app.notify, line.removeprefix("twin: "), timeout=8)
            return
        except RuntimeError:  # on the app's own thread
            app.notify(line.removeprefix("twin: "), timeout=8)
            return
    _stderr_line(line)
