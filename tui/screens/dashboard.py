"""The first screen: live graphs, the stress events on their time axis, the stressor panel."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import ProgressBar

from tui.data.history import series, window_size
from tui.data.metrics import MetricSpec, probe_specs
from tui.data.prediction import PredictionTrack
from tui.data.status import RunStatus
from tui.messages import SamplesArrived, SessionInfo
from tui.session import Session
from tui.widgets.event_strip import event_marks
from tui.widgets.fitted_footer import FittedFooter
from tui.widgets.graph_panel import GraphPanel, GraphView
from tui.widgets.status_bar import StatusBar
from tui.widgets.stressor_panel import StressorPanel

PREDICTED_ROWS = ("cpu_percent", "mem_percent")
"""The rows that show the run's predicted value beside the measured one."""


class DashboardScreen(Screen[None]):
    """Graphs of the live system; the stressor panel on the right.

    Reads the samples from the session it is given, redraws on its `SamplesArrived`,
    follows the app's `run_status`; the stressor panel's requests bubble up to the app.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "launch('cpu')", "CPU"),
        Binding("m", "launch('memory')", "Mem"),
        Binding("d", "launch('disk')", "Disk"),
        Binding("n", "launch('network')", "Net"),
        Binding("x", "stop_stressor", "Stop", tooltip="Stop the stressor selected"),
        Binding("s", "focus_panel", "Panel", show=False),
        Binding("g", "focus_graphs", "Graphs", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__(id="dashboard")
        self.session = session
        self._version = -1
        self._track: PredictionTrack | None = None
        """The recorded run's `prediction.csv`, while that run records."""
        self._track_dir: Path | None = None
        self._track_serial = -1
        self._probe_rows: tuple[SessionInfo | None, list[MetricSpec]] = (None, [])
        """The probe rows of the session they were made for (remade when it changes)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="top"):
            yield StatusBar(id="status")
            yield ProgressBar(id="progress", show_eta=False, total=100)
        with Horizontal(id="main"):
            yield GraphPanel(id="graph-col")
            yield StressorPanel(id="stressors")
        yield FittedFooter()

    def on_mount(self) -> None:
        self.query_one("#graphs").focus()
        self.watch(self.app, "run_status", self._status_changed, init=True)
        self.session.subscribe(self)
        self.refresh_metrics()

    def on_unmount(self) -> None:
        self.session.unsubscribe(self)

    def on_samples_arrived(self, message: SamplesArrived) -> None:
        if self.app.screen is self:  # a screen not shown is redrawn when it comes back
            self.refresh_metrics()

    def on_screen_resume(self) -> None:
        self._version = -1
        self.refresh_metrics()

    def on_resize(self) -> None:
        self.call_after_refresh(self._redraw)

    def _redraw(self) -> None:
        self._version = -1
        self.refresh_metrics()

    # ---- graphs -------------------------------------------------------------------
    def refresh_metrics(self) -> None:
        """Redraw every graph from the session's history (cheap when nothing changed)."""
        history = self.session.history
        if history.version == self._version or not self.is_mounted:
            return
        self._version = history.version
        panel = self.query_one(GraphPanel)
        panel.set_columns(history.columns, self._probe_specs())
        tagged = history.tagged_window(window_size(self.session.interval_s, panel.width))
        samples = [sample for _, sample in tagged]
        latest = samples[-1].values if samples else None
        track, elapsed = self._prediction_now()
        predicted: dict[str, float] = {}
        if track is not None:
            for key in PREDICTED_ROWS:
                value = track.at(key, elapsed)
                if value is not None:
                    predicted[key] = value
        marks = event_marks(
            [s.active_events for s in samples],
            [serial for serial, _ in tagged],
            self.session.event_kinds,
        )
        now = samples[-1].active_events if samples else ()
        panel.show(
            GraphView(
                series_of=lambda key: series(samples, key),
                latest=latest,
                marks=marks,
                predicted=predicted,
                now_text=" ".join(now) or "-",
            )
        )
        running = self.session.active_events()
        self.query_one(StressorPanel).show_running(running, self.session.elapsed_s)

    def _probe_specs(self) -> list[MetricSpec]:
        """A row per probe of the profile being recorded (none while live)."""
        info = self.session.info
        if info is not self._probe_rows[0]:
            recorded = info is not None and info.recording
            specs = probe_specs(info.probes, info.tolerances) if info and recorded else []
            self._probe_rows = (info, specs)
        return self._probe_rows[1]

    def _status_changed(self, status: RunStatus) -> None:
        bar = self.query_one("#progress", ProgressBar)
        bar.display = status.recording
        if status.recording:
            bar.update(total=100, progress=round(status.progress * 100, 1))
        self._follow_prediction(status)

    # ---- predicted next to measured ----------------------------------------------------
    def _follow_prediction(self, status: RunStatus) -> None:
        """Load the recorded run's prediction when it starts; drop it when it ends."""
        run_dir = status.run_dir if status.recording else None
        if run_dir == self._track_dir:
            return
        self._track_dir = run_dir
        self._set_track(None, -1)
        info = self.session.info
        if run_dir is not None and info is not None and info.run_dir == run_dir:
            self._load_prediction(run_dir, info.serial)

    @work(thread=True, exclusive=True, exit_on_error=False, group="prediction")
    def _load_prediction(self, run_dir: Path, serial: int) -> None:
        track = PredictionTrack.load(run_dir, PREDICTED_ROWS)
        if track is not None:
            self.app.call_from_thread(self._prediction_loaded, run_dir, track, serial)

    def _prediction_loaded(self, run_dir: Path, track: PredictionTrack, serial: int) -> None:
        if run_dir == self._track_dir:  # still the run that records
            self._set_track(track, serial)

    def _set_track(self, track: PredictionTrack | None, serial: int) -> None:
        if track is self._track:
            return
        self._track = track
        self._track_serial = serial
        self.set_class(track is not None, "-predicted")  # wider values: one layout, not per sample
        self._version = -1
        self.refresh_metrics()

    def _prediction_now(self) -> tuple[PredictionTrack | None, float]:
        """The track and the newest sample's elapsed time, if that sample is of its run."""
        if self._track is None:
            return None, 0.0
        tagged = self.session.history.tagged_window(1)
        if not tagged or tagged[0][0] != self._track_serial:
            return None, 0.0
        return self._track, tagged[0][1].elapsed_s

    # ---- actions ------------------------------------------------------------------
    def action_launch(self, stressor: str) -> None:
        self.query_one(StressorPanel).request_launch(stressor)

    def action_stop_stressor(self) -> None:
        panel = self.query_one(StressorPanel)
        event_id = panel.selected_event()
        if event_id is None:
            self.notify("no stressor is running", severity="warning")
            return
        panel.post_message(StressorPanel.StopRequested(event_id))  # handled by the app

    def action_focus_panel(self) -> None:
        self.query_one("#launch-cpu").focus()

    def action_focus_graphs(self) -> None:
        self.query_one("#graphs").focus()
