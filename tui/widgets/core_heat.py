"""The per-core graphs folded into one row: each core a cell, its height and colour its load."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.app import ComposeResult, RenderResult
from textual.widget import Widget
from textual.widgets import Label

from tui.data.timeaxis import buckets
from tui.widgets.metric_sparkline import BARS
from tui.widgets.value_text import ValueText

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


class CoreHeatCells(Widget):
    """The cells themselves (repainted only when a cell changed)."""

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._loads: tuple[float, ...] = ()
        self._text = Text()

    def show(self, loads: Sequence[float]) -> None:
        self._loads = tuple(loads)
        self._update()

    def on_resize(self) -> None:
        self._update()

    def _update(self) -> None:
        text = heat_cells(self._loads, self.size.width)
        if text.plain != self._text.plain or text.spans != self._text.spans:
            self._text = text
            self.refresh()

    def render(self) -> RenderResult:
        return self._text


class CoreHeatRow(Widget):
    """`cores ▂▅█▁▃  max 97% cpu5`: every core's load now (or at the replay's cursor)."""

    DEFAULT_CSS = """
    CoreHeatRow {
        layout: horizontal;
        height: 1;
        width: 1fr;
        display: none;
    }
    CoreHeatRow.-shown {
        display: block;
    }
    CoreHeatRow .metric-label {
        color: $text-muted;
    }
    """

    def __init__(self, cores: int) -> None:
        super().__init__(id="core-heat", classes="metric -heat")
        self.cores = cores
        self._cells = CoreHeatCells(classes="metric-spark")
        self._value = ValueText("", classes="metric-value")

    def compose(self) -> ComposeResult:
        yield Label(" cores", classes="metric-label")
        yield self._cells
        yield self._value

    def show(self, latest: Mapping[str, float] | None) -> None:
        """The load of each core in `latest`; the hottest one named beside them."""
        if latest is None:
            self._cells.show(())
            self._value.text = "-"
            return
        loads = [latest.get(f"cpu{i}_percent", 0.0) for i in range(self.cores)]
        self._cells.show(loads)
        hottest = max(range(len(loads)), key=loads.__getitem__) if loads else 0
        self._value.text = f"max {loads[hottest]:.0f}% cpu{hottest}" if loads else "-"
