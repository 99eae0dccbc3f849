"""A recorded run replayed: its graphs and events strip, a time cursor, every value at it.

Opened by `twin RUN_DIR` or `o` on a run directory, on top of the live dashboard (esc goes
back to it). The keyboard moves the cursor: ←/→ a sample, PgUp/PgDn a page, `[`/`]` the
previous/next event's start, Home/End. The graphs are the dashboard's (`GraphPanel`), one
sample a column; beside them every column's value at the cursor, and the model's where the
run has a `prediction.csv`.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from core.telemetry import metric_lists
from tui.data.recording import REPLAY_SERIAL, Cursor, Recording
from tui.data.units import human_duration, with_unit
from tui.widgets.event_strip import event_marks
from tui.widgets.fitted_footer import FittedFooter
from tui.widgets.graph_panel import GraphPanel, GraphView

PREDICTED_ROWS = ("cpu_percent", "mem_percent")
"""The graphs that print the prediction beside the measurement (the panel lists them all)."""


KEY_WIDTH = 16
"""The values panel: column names cut to this, then the value right-aligned."""


def value_text(key: str, value: float) -> str:
    """`value` of dataset column `key` in its unit (the data dictionary's)."""
    entry = metric_lists.column(key)
    return with_unit(value, entry.unit if entry is not None else "")


def value_line(key: str, value: str, width: int) -> str:
    name = key if len(key) <= KEY_WIDTH else key[: KEY_WIDTH - 1] + "…"
    return f"{name:<{KEY_WIDTH}} {value:>{max(1, width - KEY_WIDTH - 1)}}"


def _key(key: str, action: str, description: str, tooltip: str, show: bool = False) -> Binding:
    """A cursor key: before the focused graphs' own scrolling (priority)."""
    return Binding(key, action, description, show=show, priority=True, tooltip=tooltip)


class ReplayScreen(Screen[None]):
    """One recorded run under a time cursor."""

    DEFAULT_CSS = """
    #replay-status {
        height: 1;
        background: $panel;
    }
    #cursor-values {
        width: 30;
        border-left: vkey $primary 50%;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    #values-text {
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        _key("left", "move(-1)", "◀", "Cursor a sample back", show=True),
        _key("right", "move(1)", "▶", "Cursor a sample on", show=True),
        _key("pageup", "page(-1)", "Page", "Cursor a page back"),
        _key("pagedown", "page(1)", "Page", "Cursor a page on"),
        Binding("left_square_bracket", "event(-1)", "Prev ev", tooltip="Previous event start"),
        Binding("right_square_bracket", "event(1)", "Next ev", tooltip="Next event start"),
        _key("home", "edge(0)", "Start", "Cursor to the first sample"),
        _key("end", "edge(1)", "End", "Cursor to the last sample"),
        _key("up", "scroll_values(-1)", "Values", "Scroll the values up"),
        _key("down", "scroll_values(1)", "Values", "Scroll the values down"),
        Binding("escape", "close", "Live", tooltip="Back to the live dashboard"),
    ]

    def __init__(self, recording: Recording) -> None:
        super().__init__(id="replay")
        self.recording = recording
        self.cursor = Cursor(len(recording), index=len(recording) - 1)
        self._starts = recording.event_starts()
        self._kinds = recording.kinds

    def compose(self) -> ComposeResult:
        yield Static("", id="replay-status")
        with Horizontal(id="main"):
            yield GraphPanel(id="graph-col")
            with VerticalScroll(id="cursor-values", can_focus=False):
                yield Static("", id="values-text")
        yield FittedFooter()

    def on_mount(self) -> None:
        self.set_class(bool(self.recording.predicted), "-predicted")
        self.query_one(GraphPanel).set_columns(self.recording.columns)
        self.call_after_refresh(self.redraw)

    def on_resize(self) -> None:
        self.call_after_refresh(self.redraw)

    # ---- drawing ----------------------------------------------------------------------
    def redraw(self) -> None:
        """Draw the window around the cursor, and every value at it."""
        panel = self.query_one(GraphPanel)
        cursor, rec = self.cursor, self.recording
        cursor.set_width(panel.width)
        start, end, index = cursor.start, cursor.end, cursor.index
        latest = rec.values_at(index)
        predicted = rec.predicted_at(index)
        marks = event_marks(rec.active[start:end], [REPLAY_SERIAL] * (end - start), self._kinds)
        panel.show(
            GraphView(
                series_of=lambda key: rec.columns.get(key, [])[start:end],
                latest=latest,
                marks=marks,
                predicted={k: v for k, v in predicted.items() if k in PREDICTED_ROWS},
                cursor=cursor.column,
                now_text=" ".join(rec.active[index]) or "-",
            )
        )
        self._show_status()
        self._show_values(latest, predicted)

    def _show_status(self) -> None:
        rec, index = self.recording, self.cursor.index
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(" ▶ REPLAY ", "bold black on #00d7ff")
        text.append(f" {rec.name} ", "bold")
        elapsed, total = rec.elapsed_s[index], rec.elapsed_s[-1]
        text.append(f"{human_duration(elapsed)}/{human_duration(total)} ")
        text.append(f"#{index + 1}/{len(rec)} ", "dim")
        text.append(f"{rec.timestamps[index]} ", "dim")
        events = rec.active[index]
        text.append("▶ " + ", ".join(events) if events else "baseline", "bold yellow")
        self.query_one("#replay-status", Static).update(text)

    def _show_values(self, latest: dict[str, float], predicted: dict[str, float]) -> None:
        rec, index = self.recording, self.cursor.index
        box = self.query_one("#values-text", Static)
        width = max(KEY_WIDTH + 8, box.size.width)
        lines = Text(no_wrap=True, overflow="ellipsis")
        lines.append(f"at {rec.elapsed_s[index]:g} s", "bold")
        for key in rec.columns:
            shown = value_text(key, latest[key]) if key in latest else "-"
            lines.append("\n" + value_line(key, shown, width))
            if key in predicted:
                guess = value_text(key, predicted[key])
                lines.append("\n" + value_line("  predicted", guess, width), "italic #00d7ff")
        box.update(lines)

    # ---- keys ---------------------------------------------------------------------------
    def action_move(self, samples: int) -> None:
        self.cursor.move(samples)
        self.redraw()

    def action_page(self, pages: int) -> None:
        self.cursor.page(pages)
        self.redraw()

    def action_event(self, step: int) -> None:
        if step > 0:
            self.cursor.next_event(self._starts)
        else:
            self.cursor.previous_event(self._starts)
        self.redraw()

    def action_edge(self, end: int) -> None:
        self.cursor.go(len(self.recording) - 1 if end else 0)
        self.redraw()

    def action_scroll_values(self, lines: int) -> None:
        values = self.query_one("#cursor-values", VerticalScroll)
        values.scroll_relative(y=lines * 3, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
