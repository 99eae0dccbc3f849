"""The time axis under the graphs: which stress event ran when.

Row 1 colours each column by the stressor that ran during its samples; row 2
writes each event's id where it starts in view. Columns are bucketed exactly as
the graphs' (`tui.data.timeaxis.buckets`), so they line up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from tui.data.timeaxis import buckets

STRESSOR_STYLE: dict[str, str] = {
    "cpu": "bold red",
    "memory": "bold magenta",
    "disk": "bold yellow",
    "network": "bold cyan",
}


Cells = tuple[tuple[str, str], ...]
"""One row of the strip: (character, style) per column."""


def strip_cells(
    active: Sequence[tuple[str, ...]], kinds: Mapping[str, str], width: int
) -> tuple[Cells, Cells]:
    """The marks row and the ids row for `width` columns."""
    marks: list[tuple[str, str]] = []
    chars: list[tuple[str, str]] = [(" ", "")] * width
    seen: set[str] = set()
    free_from = 0
    for column, bucket in enumerate(buckets(active, width)):
        events = sorted({eid for sample_ids in bucket for eid in sample_ids})
        if not events:
            marks.append(("·" if bucket else " ", "dim"))
            continue
        kinds_here = sorted({kinds.get(e, "") for e in events})
        mark = "█" if len(kinds_here) == 1 else "▓"
        marks.append((mark, STRESSOR_STYLE.get(kinds_here[0], "")))
        for eid in events:
            if eid in seen:
                continue
            seen.add(eid)
            start = max(min(column, width - len(eid)), free_from)
            label = eid[: max(0, width - start)]
            style = STRESSOR_STYLE.get(kinds.get(eid, ""), "")
            for offset, char in enumerate(label):
                chars[start + offset] = (char, style)
            free_from = start + len(label) + 1
    return tuple(marks), tuple(chars)


class EventStrip(Widget):
    """Stress events on the graphs' time axis (repainted only when a column changed)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self._active: Sequence[tuple[str, ...]] = []
        self._kinds: Mapping[str, str] = {}
        self._cells: tuple[Cells, Cells] = ((), ())

    def show(self, active: Sequence[tuple[str, ...]], kinds: Mapping[str, str]) -> None:
        """`active`: the event ids of each sample in the window; `kinds`: id -> stressor."""
        self._active = active
        self._kinds = kinds
        self._update_cells()

    def on_resize(self) -> None:
        self._update_cells()

    def _update_cells(self) -> None:
        cells = strip_cells(self._active, self._kinds, self.size.width)
        if cells != self._cells:
            self._cells = cells
            self.refresh()

    def render(self) -> RenderResult:
        marks_row, ids_row = self._cells
        marks = _text(marks_row)
        if self.size.height <= 1:
            return marks
        return Text("\n").join([marks, _text(ids_row)])


def _text(cells: Cells) -> Text:
    text = Text(no_wrap=True, overflow="crop")
    for char, style in cells:
        text.append(char, style)
    return text
