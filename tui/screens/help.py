"""`?`: every key binding of the app, by screen."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label


def _bindings(items: Iterable[BindingType]) -> list[Binding]:
    out: list[Binding] = []
    for item in items:
        binding = item if isinstance(item, Binding) else Binding(*item)
        out.append(binding)
    return out


def key_label(keys: str) -> str:
    names = {"question_mark": "?", "escape": "esc", "delete": "del", "enter": "enter"}
    return ", ".join(names.get(k.strip(), k.strip()) for k in keys.split(","))


class HelpScreen(ModalScreen[None]):
    """A table of every binding: where it works, its keys and what it does."""

    DEFAULT_CSS = """
    #help-table {
        height: 1fr;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss_help", "Close")
    ]

    def __init__(self, sections: list[tuple[str, Iterable[BindingType]]]) -> None:
        super().__init__(classes="dialog-screen")
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Label("Key bindings (esc closes)", classes="dialog-question")
            table: DataTable[str] = DataTable(
                id="help-table", cursor_type="row", zebra_stripes=True
            )
            yield table

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("where", "keys", "does")
        for where, items in self.sections:
            for binding in _bindings(items):
                text = binding.tooltip or binding.description or binding.action
                table.add_row(where, key_label(binding.key), text)
        table.focus()

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
