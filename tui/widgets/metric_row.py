"""One dashboard graph: its label, its bars, and the current value with its unit.

Not a widget: `tui.widgets.graph_canvas.GraphCanvas` draws every graph itself, so a new sample
repaints only the lines that changed (one widget per label, bars and value made Textual's
compositor redraw ~45 widgets a second). A graph taller than one row also shows its scale under
the value: `top 100%` for a percentage, the peak in view for a rate (the bars' top).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rich.cells import cell_len, set_cell_size
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.renderables._blend_colors import blend_colors
from textual.strip import Strip

from tui.data.metrics import MetricSpec, limit_text
from tui.widgets.metric_sparkline import (
    BARS,
    bar_rows,
    bar_segments,
    scale_levels,
    with_cursor,
)

LABEL_WIDTH = 7
"""The label column (`Disk R `, `PSI cpu`)."""
VALUE_WIDTH = 16
"""The value column, its one cell of left padding included (wider with a prediction)."""


@dataclass
class GraphStyles:
    """The styles of every part of a graph, resolved from the canvas's CSS (and its theme)."""

    blank: Style
    """An empty cell of the bars."""
    pad: Style
    """The padding of the label and value columns: the background alone."""
    label: Style
    label_bold: Style
    label_muted: Style
    value: Style
    beyond: Style
    bar_colors: Mapping[str, tuple[Color, Color]]
    """A group's bar colours at the bottom and at the top of the scale."""
    value_width: int = VALUE_WIDTH
    _bars: dict[tuple[str, int], list[Style]] = field(default_factory=dict)

    def bars(self, group: str, height: int) -> list[Style]:
        """The style of each bar height of a `height`-row graph (min colour to max colour)."""
        key = (group, height)
        if key not in self._bars:
            low, high = self.bar_colors.get(group) or self.bar_colors["extra"]
            steps = len(BARS) * max(1, height) - 1
            colors: dict[RichColor, Style] = {}
            styles = []
            for level in range(steps + 1):
                color = blend_colors(low.rich_color, high.rich_color, level / steps if steps else 1)
                if color not in colors:
                    colors[color] = self.blank + Style(color=color)
                styles.append(colors[color])
            self._bars[key] = styles
        return self._bars[key]


def text_cell(text: str, width: int, style: Style, pad: Style | None = None) -> Strip:
    """`text` in a cell `width` wide: cut, or padded with `pad` (the bare background)."""
    return Strip(text_segments(text, width, style, pad), max(0, width))


@lru_cache(maxsize=1024)
def text_segments(
    text: str, width: int, style: Style, pad: Style | None = None
) -> tuple[Segment, ...]:
    """The segments of `text_cell` (cached: labels and units repeat every frame)."""
    if width <= 0:
        return ()
    text = set_cell_size(text, min(width, cell_len(text)))
    segments = [Segment(text, style)] if text else []
    room = width - cell_len(text)
    if room:
        segments.append(Segment(" " * room, style if pad is None else pad))
    return tuple(segments)


@lru_cache(maxsize=1024)
def value_segments(text: str, width: int, style: Style, pad: Style) -> tuple[Segment, ...]:
    """A value column line: one cell of padding, then `text`, an ellipsis where it is cut."""
    room = width - 1
    if room <= 0:
        return text_segments("", width, pad)
    if cell_len(text) > room:
        text = set_cell_size(text, room - 1) + "…"
    return text_segments("", 1, pad) + text_segments(text, room, style, pad)


def value_cell(text: str, width: int, style: Style, pad: Style) -> Strip:
    """`value_segments` as a strip `width` wide."""
    return Strip(value_segments(text, width, style, pad), max(0, width))


def value_lines(
    text: str, rows: int, width: int, style: Style, pad: Style
) -> list[Sequence[Segment]]:
    """The value column, a line per row; rows below the text are the column's own blank (its
    style, as a widget's empty lines are)."""
    lines = text.split("\n")
    empty = text_segments("", 1, pad) + text_segments("", width - 1, style)
    return [
        value_segments(lines[y], width, style, pad) if y < len(lines) else empty
        for y in range(rows)
    ]


class MetricRow:
    """`CPU ▁▂▅█▇▃  42.0%`: a label, bars and a value, `rows` tall."""

    def __init__(self, spec: MetricSpec) -> None:
        self.spec = spec
        self.rows = 1
        """Its height in rows, as the dashboard's plan (`tui.data.graph_layout`) gave it."""
        self.ever_nonzero = False
        self.value_text = ""
        """The value column: a line per row at most."""
        self.beyond = False
        """Whether the value is beyond the row's tolerance (drawn red)."""
        self.levels: tuple[int, ...] = ()
        """The bar of each column (-1: no data), 0 to `8 * rows - 1`."""
        self.top = 1.0
        """The value at the top of the scale now (the ceiling, or the peak in view)."""
        self.cursor: int | None = None
        self._drawn: tuple[object, list[Strip]] = (None, [])

    @property
    def group(self) -> str:
        return self.spec.group

    @property
    def shown(self) -> bool:
        """Whether it has a place in the graph area (swap: once it was ever non-zero)."""
        return not self.spec.hide_when_zero or self.ever_nonzero

    def scale_text(self) -> str:
        """`top 100%` / `top 12.0MiB/s`: the value at the top of this graph."""
        return f"top {self.spec.fmt(self.top).strip()}"

    def update(
        self,
        data: Sequence[float],
        latest: Mapping[str, float] | None,
        width: int,
        predicted: float | None = None,
        cursor: int | None = None,
    ) -> None:
        """Scale `data` (the whole window) into `width` columns and take the value of `latest`
        (the newest or the cursor's values); `cursor`: the replay's column, None when live."""
        spec = self.spec
        self.cursor = cursor
        self.levels, self.top = scale_levels(data, width, self.rows, spec.ceiling, spec.floor)
        lines = self._value_lines(latest, predicted)
        if self.rows > 1:
            lines.append(self.scale_text())
        else:
            lines = [" ".join(lines)]
        self.value_text = "\n".join(lines[: max(1, self.rows)])
        self.beyond = latest is not None and spec.breaks(latest)
        if spec.hide_when_zero:
            self.ever_nonzero = self.ever_nonzero or any(v > 0 for v in data)

    def draw(self, styles: GraphStyles) -> list[Strip]:
        """Its lines, top first (the last ones again while nothing changed)."""
        key = (self.levels, self.rows, self.cursor, self.value_text, self.beyond, id(styles))
        if key != self._drawn[0]:
            rows = max(1, self.rows)
            label_style = {"cpu": styles.label_bold, "core": styles.label_muted}.get(
                self.group, styles.label
            )
            bar_styles = styles.bars(self.group, rows)
            bars: list[Sequence[Segment]]
            if self.cursor is None:
                bars = bar_segments(self.levels, rows, bar_styles, styles.blank)
            else:
                strips = bar_rows(self.levels, rows, bar_styles, styles.blank)
                bars = [list(with_cursor(strip, self.cursor)) for strip in strips]
            value_style = styles.beyond if self.beyond else styles.value
            values = value_lines(self.value_text, rows, styles.value_width, value_style, styles.pad)
            label = text_segments(self.spec.label, LABEL_WIDTH, label_style, styles.pad)
            blank_label = text_segments("", LABEL_WIDTH, label_style, styles.pad)
            width = LABEL_WIDTH + len(self.levels) + styles.value_width
            lines = [  # one strip a line, its width known: no joins, no measuring
                Strip([*(label if y == 0 else blank_label), *bars[y], *values[y]], width)
                for y in range(rows)
            ]
            self._drawn = (key, lines)
        return self._drawn[1]

    def _value_lines(
        self, latest: Mapping[str, float] | None, predicted: float | None
    ) -> list[str]:
        """The value with its detail, then a probe's tolerance (one line each when tall)."""
        if latest is None or self.spec.key not in latest:
            text = "-"
        else:
            value = latest[self.spec.key]
            text = self.spec.fmt(value)
            if predicted is not None:  # instead of the detail: the value column stays narrow
                text = f"{text} (pred {self.spec.fmt(predicted).strip()})"
            elif self.spec.detail is not None:
                text = f"{text} {self.spec.detail(latest)}"
        errors = self.spec.errors
        if errors is not None and latest is not None and errors.column in latest:
            text = f"{text} {latest[errors.column]:.0f}err"
        limit = limit_text(self.spec)
        return [text, limit] if limit else [text]
