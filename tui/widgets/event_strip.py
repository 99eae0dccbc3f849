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


class EventStrip(Widget):
    """Stress events on the graphs' time axis."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self._active: Sequence[tuple[str, ...]] = []
        self._kinds: Mapping[str, str] = {}

    def show(self, active: Sequence[tuple[str, ...]], kinds: Mapping[str, str]) -> None:
        """`active`: the event ids of each sample in the window; `kinds`: id -> stressor."""
        self._active = active
        self._kinds = kinds
        self.refresh()

    def render(self) -> RenderResult:
        width = self.size.width
        marks = Text(no_wrap=True, overflow="crop")
        chars: list[tuple[str, str]] = [(" ", "")] * width
        seen: set[str] = set()
        free_from = 0
        for column, bucket in enumerate(buckets(self._active, width)):
            events = sorted({eid for sample_ids in bucket for eid in sample_ids})
            if not events:
                marks.append("·" if bucket else " ", "dim")
                continue
            kinds = sorted({self._kinds.get(e, "") for e in events})
            marks.append("█" if len(kinds) == 1 else "▓", STRESSOR_STYLE.get(kinds[0], ""))
            for eid in events:
                if eid in seen:
                    continue
                seen.add(eid)
                start = max(min(column, width - len(eid)), free_from)
                label = eid[: max(0, width - start)]
                style = STRESSOR_STYLE.get(self._kinds.get(eid, ""), "")
                for offset, char in enumerate(label):
                    chars[start + offset] = (char, style)
                free_from = start + len(label) + 1
        if self.size.height <= 1:
            return marks
        ids = Text(no_wrap=True, overflow="crop")
        for char, style in chars:
            ids.append(char, style)
        return Text("\n").join([marks, ids])
