"""The Analysis screen: data quality, responses and a chart of one run.

Self-contained: `AnalysisScreen(run_dir)` (or `AnalysisScreen()` for the most
recent run under `data/runs/`) computes the analysis in a thread worker with
`core.analysis` (nothing is written to the run) and shows it. Keys: `r`
reloads, `m` cycles the charted metric, `escape` closes.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from core.analysis.pipeline import AnalysisResult, compute
from core.analysis.plots import envelope, event_spans
from core.analysis.report import fmt, response_view
from core.errors import TwinError
from core.rundir.layout import DEFAULT_RUNS_DIR, is_run_dir
from core.rundir.read import load_run
from tui.widgets.fitted_footer import FittedFooter

RUNS_DIR = DEFAULT_RUNS_DIR
CHART_METRICS = ("cpu_percent", "mem_percent", "load_1m", "disk_write_bytes_per_s")


def latest_run(root: Path = RUNS_DIR) -> Path | None:
    """The most recently modified run directory under `root`, if any."""
    if not root.is_dir():
        return None
    runs = [p for p in root.iterdir() if is_run_dir(p)]
    return max(runs, key=lambda p: p.stat().st_mtime, default=None)


class AnalysisScreen(Screen[None]):
    """Analysis of one run bundle."""

    DEFAULT_CSS = """
    AnalysisScreen #analysis-quality { height: auto; max-height: 12; padding: 0 1; }
    AnalysisScreen #analysis-responses { height: 1fr; }
    AnalysisScreen #analysis-plot { height: 1fr; min-height: 10; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("r", "reload", "Reload"),
        Binding("m", "next_metric", "Next metric"),
    ]

    metric: reactive[str] = reactive("cpu_percent")
    """The metric drawn in the chart."""

    class Loaded(Message):
        """Posted when an analysis finished (`result` None and `error` set on failure)."""

        def __init__(self, result: AnalysisResult | None, error: str = "") -> None:
            super().__init__()
            self.result = result
            self.error = error

    def __init__(self, run_dir: Path | None = None, runs_root: Path = RUNS_DIR) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.runs_root = runs_root
        self.result: AnalysisResult | None = None
        self.error = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("loading analysis…", id="analysis-quality")
            yield DataTable(id="analysis-responses", zebra_stripes=True, cursor_type="row")
            yield PlotextPlot(id="analysis-plot")
        yield FittedFooter()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        run = self.run_dir or latest_run(self.runs_root)
        if run is None:
            self.query_one("#analysis-quality", Static).update(
                f"no run found under {self.runs_root}"
            )
            return
        self.run_dir = run
        self.query_one("#analysis-quality", Static).update(f"analysing {run}…")
        self._analyse(run)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _analyse(self, run: Path) -> None:
        try:
            result = compute(load_run(run))
        except TwinError as exc:
            self.post_message(self.Loaded(None, str(exc)))
            return
        self.post_message(self.Loaded(result))

    def on_analysis_screen_loaded(self, message: Loaded) -> None:
        self.result, self.error = message.result, message.error
        quality = self.query_one("#analysis-quality", Static)
        table = self.query_one("#analysis-responses", DataTable)
        table.clear(columns=True)
        if message.result is None:
            quality.update(f"[red]{message.error}[/]")
            return
        res = message.result
        lines = [f"[b]{res.bundle.name}[/]  profile {res.bundle.profile or '?'}"]
        lines += [f"{k}: {v}" for k, v in res.quality.summary_rows()[:6]]
        lines += [f"[yellow]! {p}[/]" for p in res.quality.problems[:4]]
        quality.update("\n".join(lines))
        view = response_view(res.responses)
        table.add_columns(*[str(c) for c in view.columns])
        for row in view.itertuples(index=False):
            table.add_row(*(fmt(v) for v in row))
        self.draw()

    def watch_metric(self) -> None:
        self.draw()

    def action_next_metric(self) -> None:
        present = [m for m in CHART_METRICS if self.result and m in self.result.bundle.dataset]
        if present:
            i = present.index(self.metric) if self.metric in present else -1
            self.metric = present[(i + 1) % len(present)]

    def action_close(self) -> None:
        self.app.pop_screen()

    def draw(self) -> None:
        if self.result is None or not self.is_mounted:
            return
        data = self.result.bundle.dataset
        widget = self.query_one("#analysis-plot", PlotextPlot)
        plt = widget.plt
        plt.clear_data()
        plt.clear_figure()
        if self.metric in data.columns:
            t = data["elapsed_s"].to_numpy(dtype=float)
            tt, yy = envelope(t, data[self.metric].to_numpy(dtype=float), buckets=200)
            plt.plot(tt.tolist(), yy.tolist(), marker="braille", label=self.metric)
            for start, end, _ in event_spans(self.result.bundle.events)[:60]:
                plt.vline(start, "green")
                plt.vline(end, "red")
        plt.title(f"{self.metric} (event start green, end red)")
        plt.xlabel("elapsed s")
        widget.refresh()
