"""`?`: every key binding of the app, by screen.

Light on purpose (issue 13: keys answered fast with every core busy): the screen is built once
(the app installs it), its lines are strips made once per width and theme, and its backdrop is
opaque. A `DataTable` re-rendered every row and the translucent backdrop re-blended the whole
dashboard each time `?` was pressed: ~30 ms of CPU per press, stretched several times over
when the cores are saturated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Label

HelpRow = tuple[str, str, str]
"""Where a binding works, its keys, what it does."""
HEADER: HelpRow = ("where", "keys", "does")


def _bindings(items: Iterable[BindingType]) -> list[Binding]:
    out: list[Binding] = []
    for item in items:
        binding = item if isinstance(item, Binding) else Binding(*item)
        out.append(binding)
    return out


def key_label(keys: str) -> str:
    names = {
        "question_mark": "?",
        "escape": "esc",
        "delete": "del",
        "enter": "enter",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
    }
    return ", ".join(names.get(k.strip(), k.strip()) for k in keys.split(","))


def help_rows(sections: Iterable[tuple[str, Iterable[BindingType]]]) -> list[HelpRow]:
    """A row per binding of each section, in order."""
    rows: list[HelpRow] = []
    for where, items in sections:
        for binding in _bindings(items):
            text = binding.tooltip or binding.description or binding.action
            rows.append((where, key_label(binding.key), text))
    return rows


def help_lines(rows: Iterable[HelpRow]) -> list[str]:
    """The header and every row as aligned text columns (what the user reads)."""
    table = [HEADER, *rows]
    widths = [max(len(row[n]) for row in table) for n in range(2)]
    return [f" {w:<{widths[0]}}  {k:<{widths[1]}}  {d}" for w, k, d in table]


class BindingsView(ScrollView, can_focus=True):
    """The bindings, a line each, scrolled with the arrow and page keys."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"bindings--header", "bindings--stripe"}

    DEFAULT_CSS = """
    BindingsView { height: 1fr; }
    BindingsView > .bindings--header { text-style: bold; color: $accent; }
    BindingsView > .bindings--stripe { background: $boost; }
    """

    def __init__(self, rows: list[HelpRow], *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.lines = help_lines(rows)
        self.virtual_size = Size(max(len(line) for line in self.lines), len(self.lines))
        self._strips: tuple[object, list[Strip]] = (None, [])

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips = (None, [])

    def strips(self) -> list[Strip]:
        """Every line as a strip the width of the view (made again only when that changes)."""
        width = max(self.size.width, self.virtual_size.width)
        key = (width, self.app.theme)
        if key != self._strips[0]:
            base = self.visual_style.rich_style
            header = base + self.get_visual_style("bindings--header").rich_style
            stripe = base + Style(
                bgcolor=self.get_visual_style("bindings--stripe").rich_style.bgcolor
            )
            strips = []
            for y, line in enumerate(self.lines):
                style = header if y == 0 else (stripe if y % 2 == 0 else base)
                strips.append(Strip([Segment(line, style)]).adjust_cell_length(width, style))
            self._strips = (key, strips)
        return self._strips[1]

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        strips = self.strips()
        index = y + scroll_y
        if 0 <= index < len(strips):
            return strips[index].crop(scroll_x, scroll_x + self.size.width)
        return Strip.blank(self.size.width, self.visual_style.rich_style)


class HelpScreen(ModalScreen[None]):
    """Every binding: where it works, its keys and what it does."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss_help", "Close")
    ]

    def __init__(self, sections: list[tuple[str, Iterable[BindingType]]]) -> None:
        super().__init__(classes="dialog-screen help-screen")
        self.rows = help_rows(sections)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Label("Key bindings (esc closes)", classes="dialog-question")
            yield BindingsView(self.rows, id="help-table")

    def on_mount(self) -> None:
        self.query_one(BindingsView).focus()

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
