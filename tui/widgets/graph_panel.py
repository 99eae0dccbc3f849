"""The graph area of the dashboard and the replay: the metric graphs over the events strip.

It fills the rows it has (`tui.data.graph_layout.plan_heights`: CPU total and memory grow
first; per-core rows fold into one heat row when they do not fit) and keeps every graph on
the strip's time axis. The screens give it the data (`show`); it remembers the last call, so
a resize or a scroll redraws without asking them.
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

    def compose(self) -> ComposeResult:
        yield VerticalScroll(id="graphs")
        with Horizontal(id="strip-row"):
            yield Label("events", classes="metric-label")
            yield EventStrip(id="strip")
            yield ValueText("", id="strip-now", classes="metric-value")

    def on_mount(self) -> None:
        graphs = self.query_one("#graphs", VerticalScroll)
        self.watch(graphs, "scroll_y", self._redraw, init=False)

    @property
    def graphs(self) -> VerticalScroll:
        return self.query_one("#graphs", VerticalScroll)

    @property
    def width(self) -> int:
        """How many columns a graph (and the strip) has: samples that fit one a column."""
        rows = list(self.graphs.query_children(MetricRow))
        width = max((r.graph_width for r in rows), default=0)
        return max(width, self.query_one(EventStrip).size.width)

    def rows(self) -> list[MetricRow]:
        return list(self.graphs.query_children(MetricRow))

    # ---- the graphs there are --------------------------------------------------------
    def set_columns(self, columns: Collection[str], extra: Sequence[MetricSpec] = ()) -> None:
        """Have a graph for each of `columns` the dashboard knows, and one for each of `extra`
        (the probes of the run that records); cheap when unchanged."""
        wanted = frozenset(columns)
        if wanted == self._columns and tuple(extra) == self._extra:
            return
        self._columns, self._extra = wanted, tuple(extra)
        graphs = self.graphs
        existing = {row.spec: row for row in graphs.query_children(MetricRow)}
        specs = metric_specs(wanted, extra)
        cores = sum(spec.group == "core" for spec in specs)
        heat = next(iter(graphs.query_children(CoreHeatRow)), None)
        if heat is not None and heat.cores != cores:
            heat.remove()
            heat = None
        order: list[MetricRow | CoreHeatRow] = []
        for spec in specs:
            row = existing.pop(spec, None) or MetricRow(spec)
            order.append(row)
            if spec.key == "cpu_percent" and cores:
                heat = heat or CoreHeatRow(cores)
                order.append(heat)
        for row in existing.values():
            row.remove()
        previous: MetricRow | CoreHeatRow | None = None
        for widget in order:
            if not widget.is_attached:
                if previous is None:
                    graphs.mount(widget, before=0) if graphs.children else graphs.mount(widget)
                else:
                    graphs.mount(widget, after=previous)
            previous = widget
        self._plan_key = None
        self.call_after_refresh(self._relayout)

    def on_resize(self) -> None:
        self.call_after_refresh(self._relayout)

    def _visible(self) -> list[MetricRow | CoreHeatRow]:
        out: list[MetricRow | CoreHeatRow] = []
        for widget in self.graphs.children:
            if isinstance(widget, MetricRow):
                if not widget.spec.hide_when_zero or widget.ever_nonzero:
                    out.append(widget)
            elif isinstance(widget, CoreHeatRow):
                out.append(widget)
        return out

    def _relayout(self) -> None:
        """Share the graph area's rows out (`plan_heights`) and redraw at the new sizes."""
        if not self.is_mounted:
            return
        visible = self._visible()
        groups = ["heat" if isinstance(w, CoreHeatRow) else w.spec.group for w in visible]
        available = self.graphs.scrollable_content_region.height
        plan = plan_heights(groups, available)
        key = (tuple(id(w) for w in visible), plan.heights)
        if key == self._plan_key:
            return
        self._plan_key = key
        for widget, rows in zip(visible, plan.heights, strict=True):
            if isinstance(widget, CoreHeatRow):
                widget.set_class(rows > 0, "-shown")
            else:
                widget.set_rows(rows)
        self.call_after_refresh(self._redraw)

    # ---- drawing ------------------------------------------------------------------------
    def show(self, view: GraphView) -> None:
        """Draw `view` on every graph in sight and on the strip."""
        self._view = view
        self._redraw()

    def _redraw(self) -> None:
        view = self._view
        if view is None or not self.is_mounted:
            return
        graphs = self.graphs
        area = graphs.region
        shown_before = [r.display for r in self.rows()]
        for widget in graphs.children:
            region = widget.region
            if region and area and not region.overlaps(area):
                continue  # scrolled out of view (many cores): redrawn when scrolled back
            if isinstance(widget, CoreHeatRow):
                if widget.has_class("-shown"):
                    widget.show(view.latest)
            elif isinstance(widget, MetricRow) and widget.rows > 0:
                key = widget.spec.key
                widget.show(view.series_of(key), view.latest, view.predicted.get(key), view.cursor)
        self.query_one(EventStrip).show(view.marks, view.cursor)
        self.query_one("#strip-now", ValueText).text = view.now_text
        if [r.display for r in self.rows()] != shown_before:  # swap appeared: share out again
            self.call_after_refresh(self._relayout)
