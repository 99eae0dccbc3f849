"""A modal form: Enter, ctrl+s or OK submits what `collect()` returns; problems show inline."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

T = TypeVar("T")


def form_row(
    name: str, widget: Input | Select[str], help_: str, help_id: str | None = None
) -> ComposeResult:
    """One line of a form: the field's name, its widget, and a help text beside it."""
    widget.compact = True
    if isinstance(widget, Input) and "-wide" not in widget.classes:
        widget.add_class("form-input")
    with Horizontal(classes="form-row"):
        yield Label(name, classes="form-label")
        yield widget
        yield Label(help_, classes="form-help", id=help_id, markup=False)


def form_buttons() -> ComposeResult:
    """OK and Cancel, the keys they answer to in their labels."""
    with Horizontal(classes="dialog-buttons"):
        yield Button("OK (ctrl+s)", id="ok", variant="primary", compact=True)
        yield Button("Cancel (esc)", id="cancel", compact=True)


class FormDialog(ModalScreen[T | None]):
    """Dismisses with the collected value, or None when cancelled.

    Subclasses compose a `Label` with id `PROBLEM_ID` and implement `collect()`.
    """

    DEFAULT_CSS = """
    .form {
        height: 1fr;
    }
    .form-row {
        height: 1;
        margin-bottom: 1;
    }
    .form-label {
        width: 18;
    }
    .form-input {
        width: 14;
    }
    .form-row Select {
        width: 20;
    }
    .form-help {
        width: 1fr;
        padding-left: 1;
        color: $text-muted;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "OK"),
    ]
    PROBLEM_ID: ClassVar[str]

    def collect(self) -> tuple[T | None, str]:
        """The form's value, or None and the problems as text (one per line)."""
        raise NotImplementedError

    def action_submit(self) -> None:
        value, problem = self.collect()
        if value is None:
            label = self.query_one(f"#{self.PROBLEM_ID}", Label)
            label.update(problem)
            label.add_class("-error")
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self.action_submit()
        else:
            self.action_cancel()
