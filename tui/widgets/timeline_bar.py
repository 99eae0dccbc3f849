"""The plan as a bar: each event where it runs on the run clock, one lane per overlap; a
shaped event (core.shapes) draws its shape inside its bar as a sparkline."""

from __future__ import annotations

from rich.text import Text
from textual.app import RenderResult
from textual.reactive import reactive
from textual.widget import Widget

from core.schedule import Event, Schedule
from core.shapes import LEVEL_PARAMS, is_shape, parse_shape, sparkline
from tui.data.units import human_duration
from tui.widgets.event_strip import STRESSOR_STYLE

MAX_LANES = 4


def lanes(schedule: Schedule) -> list[list[int]]:
    """Event indexes per lane: an event goes to the first lane free at its start."""
    ends: list[float] = []
    out: list[list[int]] = []
    for index, event in enumerate(schedule.events):
        for lane, end in enumerate(ends):
            if event.start_s >= end:
                ends[lane] = event.end_s
                out[lane].append(index)
                break
        else:
            ends.append(event.end_s)
            out.append([index])
    return out


class TimelineBar(Widget):
    """The schedule drawn across the widget's width, with a cursor at the run's elapsed time."""

    schedule: reactive[Schedule | None] = reactive(None)
    """The plan to draw (None: the profile has problems)."""
    selected: reactive[int | None] = reactive(None)
    """Index of the event highlighted (the table's cursor)."""
    running: reactive[frozenset[str]] = reactive(frozenset())
    """Ids of the events running now (shown bold and underlined)."""
    elapsed_s: reactive[float | None] = reactive(None)
    """Where the recorded run is, or None when this plan is not running."""

    def render(self) -> RenderResult:
        width = max(1, self.size.width)
        schedule = self.schedule
        if schedule is None:
            return Text("(no plan: fix the problems below)", style="dim italic")
        total = max(schedule.total_s, 1e-9)

        def col(t: float) -> int:
            return min(width - 1, max(0, int(t / total * width)))

        rows: list[Text] = []
        all_lanes = lanes(schedule)
        height = max(1, self.size.height - 1)
        for lane in all_lanes[: min(MAX_LANES, height)]:
            cells: list[tuple[str, str]] = [("─", "dim")] * width
            for index in lane:
                event = schedule.events[index]
                start, end = col(event.start_s), max(col(event.start_s) + 1, col(event.end_s))
                style = STRESSOR_STYLE.get(event.stressor, "")
                if index == self.selected:
                    style += " reverse"
                if event.id in self.running:
                    style += " underline"
                label = f"{event.id}"[: end - start]
                shape = shape_cells(event, end - start)  # under the label: the shape's start
                for c in range(start, min(end, width)):
                    offset = c - start
                    if offset < len(label):
                        cells[c] = (label[offset], f"{style} reverse")
                    else:
                        cells[c] = (shape[offset] if shape else "█", style)
            rows.append(_cells(cells))
        if not all_lanes:
            rows.append(Text("─" * width, style="dim"))
        axis = [(" ", "")] * width
        end_label = human_duration(schedule.total_s)
        for offset, char in enumerate("0"):
            axis[offset] = (char, "dim")
        for offset, char in enumerate(end_label):
            at = width - len(end_label) + offset
            if 0 <= at < width:
                axis[at] = (char, "dim")
        if self.elapsed_s is not None:
            at = col(self.elapsed_s)
            axis[at] = ("▲", "bold green")
        if self.size.height > len(rows):
            rows.append(_cells(axis))
        return Text("\n").join(rows)


def shape_cells(event: Event, count: int) -> str:
    """A shaped event's level over its bar (`count` cells, from 0 to the shape's peak), or ""
    for a constant level (the bar stays solid)."""
    value = event.params.get(LEVEL_PARAMS.get(event.stressor, ""))
    if count <= 0 or not is_shape(value):
        return ""
    shape = parse_shape(value)  # the schedule's JSON form: a trace carries its rows
    return sparkline(shape.sample(event.duration_s, count), low=0.0, high=shape.peak())


def _cells(cells: list[tuple[str, str]]) -> Text:
    text = Text(no_wrap=True, overflow="crop")
    for char, style in cells:
        text.append(char, style)
    return text
