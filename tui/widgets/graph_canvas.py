"""Every metric graph of the dashboard and the replay drawn by ONE widget, a line at a time.

Why one widget: with a widget per label, bars and value, a sample changed ~10 of them and
Textual's compositor redrew the bounding box of all of them, the whole graph area (~45
widgets, ~14 ms CPU a sample, most of the TUI's idle cost). Here `render_line` hands out
cached strips and a sample refreshes only the lines whose cells changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets.core_heat import CoreHeatRow
from tui.widgets.metric_row import LABEL_WIDTH, VALUE_WIDTH, GraphStyles, MetricRow

GraphRow = MetricRow | CoreHeatRow
MIN_BARS = 4
"""The bars keep this many columns however narrow the canvas."""
BAR_GROUPS = ("cpu", "core", "mem", "disk", "net", "probe", "extra")


def runs(ys: Sequence[int]) -> list[tuple[int, int]]:
    """`ys` (ascending) as runs of consecutive numbers: (first, last) each."""
    out: list[tuple[int, int]] = []
    for y in ys:
        if out and out[-1][1] == y - 1:
            out[-1] = (out[-1][0], y)
        else:
            out.append((y, y))
    return out


class GraphCanvas(Widget):
    """The graphs stacked, each `rows` tall: label, bars, value and (taller) scale."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "graph--label",
        "graph--label-bold",
        "graph--label-muted",
        "graph--value",
        "graph--value-beyond",
        "graph--min",
        *(f"graph--max-{group}" for group in BAR_GROUPS),
    }

    DEFAULT_CSS = """
    GraphCanvas {
        height: auto;
        width: 1fr;
    }
    GraphCanvas > .graph--value { width: 16; }
    GraphCanvas > .graph--label-bold { text-style: bold; }
    GraphCanvas > .graph--label-muted { color: $text-muted; }
    GraphCanvas > .graph--value-beyond { color: $error; text-style: bold; }
    GraphCanvas > .graph--min { color: $primary 30%; }
    GraphCanvas > .graph--max-extra { color: $primary; }
    GraphCanvas > .graph--max-cpu, GraphCanvas > .graph--max-core,
    GraphCanvas > .graph--max-probe { color: $error; }
    GraphCanvas > .graph--max-mem { color: $secondary; }
    GraphCanvas > .graph--max-disk { color: $warning; }
    GraphCanvas > .graph--max-net { color: $accent; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.rows: list[GraphRow] = []
        """Every graph in display order (hidden ones have 0 rows)."""
        self._lines: list[Strip] = []
        self._styles: GraphStyles | None = None
        self._styles_key: object = None

    @property
    def value_width(self) -> int:
        """The value column (`.graph--value` width: wider while a prediction is printed)."""
        width = self.get_component_styles("graph--value").width
        return int(width.value) if width is not None and width.is_cells else VALUE_WIDTH

    @property
    def bar_width(self) -> int:
        """How many columns the bars have: samples that fit one a column."""
        return max(MIN_BARS, self.size.width - LABEL_WIDTH - self.value_width)

    def set_rows(self, rows: Sequence[GraphRow]) -> None:
        """Stack `rows` (their `rows` set); the canvas is as tall as they are together."""
        self.rows = list(rows)
        height = sum(max(0, row.rows) for row in self.rows)
        if self.styles.height is None or self.styles.height.value != height:
            self.styles.height = height

    def offset_of(self, row: GraphRow) -> int:
        """The first line of `row` in the canvas."""
        y = 0
        for other in self.rows:
            if other is row:
                return y
            y += max(0, other.rows)
        raise ValueError("not a row of this canvas")

    def region_of(self, row: GraphRow) -> Region:
        """Where `row` is on the screen (empty when it has no rows)."""
        x, y, width, _ = self.region
        return Region(x, y + self.offset_of(row), width, max(0, row.rows))

    class Resized(Message):
        """The canvas changed size: its bars are scaled again (by the panel, which has the data)."""

    def on_resize(self) -> None:
        self.post_message(self.Resized())

    def text_of(self, row: GraphRow) -> list[str]:
        """The lines of `row` as drawn now (what the user reads), top first."""
        y = self.offset_of(row)
        return [line.text for line in self._lines[y : y + max(0, row.rows)]]

    # ---- drawing ----------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles_key = None

    def graph_styles(self) -> GraphStyles:
        """The styles of the parts, resolved once per theme and value width."""
        key = (self.app.theme, self.value_width)
        if self._styles is None or key != self._styles_key:
            _, base = self.background_colors

            def rich(name: str) -> Style:
                return self.get_visual_style(name).rich_style

            def color(name: str) -> Color:
                return base + self.get_component_styles(name).color

            minimum = color("graph--min")
            self._styles = GraphStyles(
                blank=self.visual_style.rich_style,
                pad=Style(bgcolor=self.visual_style.rich_style.bgcolor),
                label=rich("graph--label"),
                label_bold=rich("graph--label-bold"),
                label_muted=rich("graph--label-muted"),
                value=rich("graph--value"),
                beyond=rich("graph--value-beyond"),
                bar_colors={g: (minimum, color(f"graph--max-{g}")) for g in BAR_GROUPS},
                value_width=self.value_width,
            )
            self._styles_key = key
        return self._styles

    def redraw(self) -> None:
        """Draw every row again; refresh only the lines whose cells changed."""
        styles = self.graph_styles()
        width = self.size.width
        lines: list[Strip] = []
        for row in self.rows:
            if row.rows <= 0:
                continue
            if isinstance(row, CoreHeatRow):
                lines += row.draw(styles, self.bar_width)
            else:
                lines += row.draw(styles)
        lines = [line.adjust_cell_length(width, styles.pad) for line in lines]
        old = self._lines
        self._lines = lines
        if len(old) != len(lines):
            self.refresh()
            return
        changed = [
            y
            for y, (before, after) in enumerate(zip(old, lines, strict=True))
            if before is not after and list(before) != list(after)
        ]
        for first, last in runs(changed):  # one region per run of changed lines
            self.refresh(Region(0, first, width, last - first + 1))

    def render_line(self, y: int) -> Strip:
        if 0 <= y < len(self._lines):
            return self._lines[y]
        return Strip([Segment(" " * self.size.width, self.visual_style.rich_style)])
