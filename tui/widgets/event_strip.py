"""The time axis under the graphs: which stress event ran when.

The marks row colours each column by the stressor that ran during its samples (red CPU,
magenta memory, yellow disk, cyan network; overlapping events stacked when the strip has
rows for them, else the latest started on top); the last row writes each event's id where
it starts in view. Columns are bucketed exactly as
the graphs' (`tui.data.timeaxis.buckets`), so they line up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from tui.data.timeaxis import buckets

STRESSOR_STYLE: dict[str, str] = {
    "cpu": "bold #ff4040",
    "memory": "bold #e040ff",
    "disk": "bold #ffd700",
    "network": "bold #00d7ff",
}
"""Red CPU, magenta memory, yellow disk, cyan network, as true colours: Textual draws the
ANSI names through its Monokai palette, where magenta is the same colour as red."""


Cells = tuple[tuple[str, str], ...]
"""One row of the strip: (character, style) per column."""


@dataclass(frozen=True, order=True)
class Mark:
    """An event as the strip shows it: `key` is unique over sessions (`serial:id`)."""

    key: str
    label: str
    stressor: str


def event_marks(
    active: Sequence[tuple[str, ...]], serials: Sequence[int], kinds: Mapping[str, str]
) -> list[tuple[Mark, ...]]:
    """The marks of each sample: its event ids, with the stressor `kinds` (`"serial:id"`) names."""
    out: list[tuple[Mark, ...]] = []
    for ids, serial in zip(active, serials, strict=True):
        out.append(tuple(Mark(f"{serial}:{e}", e, kinds.get(f"{serial}:{e}", "")) for e in ids))
    return out


def strip_rows(marks: Sequence[tuple[Mark, ...]], width: int, lanes: int = 1) -> list[Cells]:
    """`lanes` rows of marks (overlapping events stacked, one a lane; more than the lanes: the
    last row shows the latest started on top, `▓` where several overlap), then the ids row."""
    columns = buckets(marks, width)
    started: dict[Mark, int] = {}
    for index, sample in enumerate(marks):
        for mark in sample:
            started.setdefault(mark, index)
    lane_of: dict[Mark, int] = {}
    busy_until: list[int] = []  # per lane: the last sample index of its event
    ends = {m: i for i, sample in enumerate(marks) for m in sample}
    for mark in sorted(started, key=lambda m: (started[m], m)):
        lane = next((n for n, end in enumerate(busy_until) if end < started[mark]), None)
        if lane is None:
            lane = len(busy_until)
            busy_until.append(0)
        busy_until[lane] = ends[mark]
        lane_of[mark] = lane
    lanes = max(1, lanes)
    rows: list[list[tuple[str, str]]] = [[] for _ in range(lanes)]
    chars: list[tuple[str, str]] = [(" ", "")] * width
    seen: set[Mark] = set()
    free_from = 0
    for column, bucket in enumerate(columns):
        here = sorted({m for sample in bucket for m in sample}, key=lambda m: (started[m], m))
        if not here:
            idle = ("·" if bucket else " ", "dim")
            for row in rows:
                row.append(idle if row is rows[-1] else (" ", ""))
            continue
        for n, row in enumerate(rows):
            in_lane = [m for m in here if min(lane_of[m], lanes - 1) == n]
            if not in_lane:
                row.append((" ", ""))
                continue
            top = in_lane[-1]  # the latest started on top
            several = len({m.stressor for m in in_lane}) > 1 or len(in_lane) > 1
            row.append(("▓" if several else "█", STRESSOR_STYLE.get(top.stressor, "")))
        for mark in here:
            if mark in seen:
                continue
            seen.add(mark)
            start = max(min(column, width - len(mark.label)), free_from)
            label = mark.label[: max(0, width - start)]
            style = STRESSOR_STYLE.get(mark.stressor, "")
            for offset, char in enumerate(label):
                chars[start + offset] = (char, style)
            free_from = start + len(label) + 1
    return [tuple(row) for row in rows] + [tuple(chars)]


class EventStrip(Widget):
    """Stress events on the graphs' time axis (repainted only when a column changed).

    One marks row and one ids row; taller, overlapping events get a row each (stacked)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self._marks: Sequence[tuple[Mark, ...]] = []
        self._cursor: int | None = None
        self._rows: list[Cells] = []

    def show(self, marks: Sequence[tuple[Mark, ...]], cursor: int | None = None) -> None:
        """`marks`: the events of each sample in the window; `cursor`: the replay's column."""
        self._marks = marks
        self._cursor = cursor
        self._update_cells()

    def on_resize(self) -> None:
        self._update_cells()

    def _update_cells(self) -> None:
        lanes = max(1, self.size.height - 1)
        rows = strip_rows(self._marks, self.size.width, lanes)
        cursor = self._cursor
        if cursor is not None and 0 <= cursor < self.size.width:
            for n, row in enumerate(rows[:-1]):
                char, style = row[cursor]
                rows[n] = (*row[:cursor], (char, f"{style} reverse"), *row[cursor + 1 :])
        if rows != self._rows:
            self._rows = rows
            self.refresh()

    def render(self) -> RenderResult:
        height = max(1, self.size.height)
        rows = self._rows[:-1][: height - 1] + self._rows[-1:] if height > 1 else self._rows[:1]
        return Text("\n").join(_text(row) for row in rows)


def _text(cells: Cells) -> Text:
    """A row as text: a span per run of one style (a span per cell made the strip cost ~10 ms
    to render, each span's style combined on its own)."""
    text = Text(no_wrap=True, overflow="crop")
    run: list[str] = []
    run_style = ""
    for char, style in cells:
        if style != run_style and run:
            text.append("".join(run), run_style)
            run = []
        run_style = style
        run.append(char)
    if run:
        text.append("".join(run), run_style)
    return text
