"""The per-core graphs folded into one row: each core a cell, its height and colour its load.

Not a widget: `tui.widgets.graph_canvas.GraphCanvas` draws it with the other graphs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from tui.data.timeaxis import buckets
from tui.widgets.metric_row import LABEL_WIDTH, GraphStyles, text_cell, value_cell
from tui.widgets.metric_sparkline import BARS

HEAT_STYLES = ("green", "green", "yellow", "yellow", "dark_orange", "red", "red", "bold red")
"""Colour by bar height: cool to hot."""


def heat_cells(loads: Sequence[float], width: int) -> Text:
    """One cell per core (cores share a cell when they outnumber the columns: the hottest shows)."""
    text = Text(no_wrap=True, overflow="crop")
    if not loads or width <= 0:
        return text
    per_core = max(1, width // len(loads))
    groups = buckets(loads, width) if len(loads) > width else [(v,) for v in loads]
    for group in groups:
        if not group:
            continue
        level = round(min(1.0, max(0.0, max(group) / 100.0)) * (len(BARS) - 1))
        text.append(BARS[level] * per_core, HEAT_STYLES[level])
    return text


HEAT_PARSED = {name: Style.parse(name) for name in set(HEAT_STYLES)}


class CoreHeatRow:
    """`cores ▂▅█▁▃  max 97% cpu5`: every core's load now (or at the replay's cursor)."""

    group = "heat"
    shown = True

    def __init__(self, cores: int) -> None:
        self.cores = cores
        self.rows = 0
        """1 when the per-core graphs are folded into it, 0 (not drawn) when they are not."""
        self.value_text = "-"
        self.cells = Text()
        self._drawn: tuple[object, list[Strip]] = (None, [])

    def update(self, latest: Mapping[str, float] | None, width: int) -> None:
        """The load of each core in `latest` in `width` cells; the hottest one named beside."""
        if latest is None or not self.cores:
            self.cells, self.value_text = Text(), "-"
            return
        loads = [latest.get(f"cpu{i}_percent", 0.0) for i in range(self.cores)]
        self.cells = heat_cells(loads, width)
        hottest = max(range(len(loads)), key=loads.__getitem__)
        self.value_text = f"max {loads[hottest]:.0f}% cpu{hottest}"

    def draw(self, styles: GraphStyles, width: int) -> list[Strip]:
        """Its one line: label, `width` cells, value (the last one again when unchanged)."""
        key = (self.cells.plain, tuple(self.cells.spans), self.value_text, width, id(styles))
        if key != self._drawn[0]:
            segments = [
                Segment(
                    self.cells.plain[span.start : span.end],
                    styles.blank + HEAT_PARSED[str(span.style)],
                )
                for span in self.cells.spans
            ]
            cells = Strip(segments).adjust_cell_length(width, styles.blank)
            line = Strip.join(
                [
                    text_cell(" cores", LABEL_WIDTH, styles.label_muted, styles.pad),
                    cells,
                    value_cell(self.value_text, styles.value_width, styles.value, styles.pad),
                ]
            )
            self._drawn = (key, [line])
        return self._drawn[1]
