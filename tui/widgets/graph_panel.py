"""The graph area of the dashboard and the replay: the metric graphs over the events strip.

It fills the rows it has (`tui.data.graph_layout.plan_heights`: CPU total and memory grow
first; per-core rows fold into one heat row when they do not fit) and keeps every graph on
the strip's time axis. The screens give it the data (`show`); it remembers the last call, so
a resize redraws without asking them. One widget (`GraphCanvas`) draws every graph, so a
sample repaints only the lines that changed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label

from tui.data.graph_layout import plan_heights
from tui.data.metrics import MetricSpec, metric_specs
from tui.widgets.core_heat import CoreHeatRow
from tui.widgets.event_strip import EventStrip, Mark
from tui.widgets.graph_canvas import GraphCanvas, GraphRow
from tui.widgets.metric_row import MetricRow
from tui.widgets.value_text import ValueText


@dataclass(frozen=True)
class GraphView:
    """What the graphs show: a window of samples (oldest first) and the values to print."""

    series_of: Callable[[str], Sequence[float]]
    """The window's values of a column."""
    latest: Mapping[str, float] | None
    """The values printed beside the graphs: the newest sample's, or the cursor's."""
    marks: Sequence[tuple[Mark, ...]]
    """The events of each sample of the window."""
    predicted: Mapping[str, float] = field(default_factory=dict)
    """The model's value of a column at the same time, where the run has a prediction."""
    cursor: int | None = None
    """The cursor's column (replay), None when live."""
    now_text: str = "-"
    """Beside the strip: the events now (or at the cursor)."""


class GraphPanel(Vertical):
    """Metric graphs that share out the rows they have, over the events strip."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._columns: frozenset[str] = frozenset()
        self._extra: tuple[MetricSpec, ...] = ()
        self._view: GraphView | None = None
        self._plan_key: object = None
        self._rows: list[GraphRow] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="graphs"):
            yield GraphCanvas(id="canvas")
        with Horizontal(id="strip-row"):
            yield Label("events", classes="metric-label")
            yield EventStrip(id="strip")
            yield ValueText("", id="strip-now", classes="metric-value")

    @property
    def graphs(self) -> VerticalScroll:
        return self.query_one("#graphs", VerticalScroll)

    @property
    def canvas(self) -> GraphCanvas:
        return self.query_one(GraphCanvas)

    @property
    def width(self) -> int:
        """How many columns a graph (and the strip) has: samples that fit one a column."""
        bars = self.canvas.bar_width if self.canvas.size.width else 0
        return max(bars, self.query_one(EventStrip).size.width)

    def rows(self) -> list[MetricRow]:
        """Every metric graph, in display order (folded cores and unused swap: 0 rows)."""
        return [row for row in self._rows if isinstance(row, MetricRow)]

    def heat_row(self) -> CoreHeatRow | None:
        return next((row for row in self._rows if isinstance(row, CoreHeatRow)), None)

    # ---- the graphs there are --------------------------------------------------------
    def set_columns(self, columns: Collection[str], extra: Sequence[MetricSpec] = ()) -> None:
        """Have a graph for each of `columns` the dashboard knows, and one for each of `extra`
        (the probes of the run that records); cheap when unchanged."""
        wanted = frozenset(columns)
        if wanted == self._columns and tuple(extra) == self._extra:
            return
        self._columns, self._extra = wanted, tuple(extra)
        existing = {row.spec: row for row in self.rows()}
        specs = metric_specs(wanted, extra)
        cores = sum(spec.group == "core" for spec in specs)
        heat = self.heat_row()
        if heat is not None and heat.cores != cores:
            heat = None
        order: list[GraphRow] = []
        for spec in specs:
            order.append(existing.pop(spec, None) or MetricRow(spec))
            if spec.key == "cpu_percent" and cores:
                heat = heat or CoreHeatRow(cores)
                order.append(heat)
        self._rows = order
        self._plan_key = None
        self.call_after_refresh(self._relayout)

    def on_resize(self) -> None:
        self.call_after_refresh(self._relayout)

    def on_graph_canvas_resized(self) -> None:
        self._redraw()  # the bars are scaled to the canvas's width

    def _relayout(self) -> None:
        """Share the graph area's rows out (`plan_heights`) and redraw at the new sizes."""
        if not self.is_mounted:
            return
        visible = [row for row in self._rows if row.shown]
        available = self.graphs.scrollable_content_region.height
        plan = plan_heights([row.group for row in visible], available)
        key = (tuple(id(row) for row in visible), plan.heights)
        if key == self._plan_key:
            return
        self._plan_key = key
        for row in self._rows:
            row.rows = 0
        for row, rows in zip(visible, plan.heights, strict=True):
            row.rows = rows
        self.canvas.set_rows(self._rows)
        self._redraw()
        self.call_after_refresh(self._redraw)  # again at the canvas's new size

    # ---- drawing ------------------------------------------------------------------------
    def show(self, view: GraphView) -> None:
        """Draw `view` on every graph and on the strip."""
        self._view = view
        self._redraw()

    def _redraw(self) -> None:
        view = self._view
        if view is None or not self.is_mounted:
            return
        canvas = self.canvas
        width = canvas.bar_width
        shown_before = [row.shown for row in self._rows]
        for row in self._rows:
            if isinstance(row, CoreHeatRow):
                if row.rows > 0:
                    row.update(view.latest, width)
            elif row.rows > 0 or not row.shown:  # a hidden swap graph: to see it start
                key = row.spec.key
                row.update(
                    view.series_of(key), view.latest, width, view.predicted.get(key), view.cursor
                )
        canvas.redraw()
        self.query_one(EventStrip).show(view.marks, view.cursor)
        self.query_one("#strip-now", ValueText).text = view.now_text
        if [row.shown for row in self._rows] != shown_before:  # swap appeared: share out again
            self.call_after_refresh(self._relayout)
