"""Open a profile (from `profiles/` or any path), or type a run directory to replay it."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from core.rundir.layout import is_run_dir
from tui.data.draft import PROFILES_DIR, profile_files


class OpenProfileDialog(ModalScreen[Path | None]):
    """Returns the chosen path, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, folder: Path = PROFILES_DIR) -> None:
        super().__init__(classes="dialog-screen")
        self.folder = folder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog open-dialog"):
            yield Label(
                f"Open a profile ({self.folder}/ or a path) or a run directory to replay",
                classes="dialog-question",
            )
            options = [Option(str(p), id=str(p)) for p in profile_files(self.folder)]
            yield OptionList(*options, id="profiles")
            yield Input(
                placeholder="or type a path (profile or run) and press enter",
                id="path",
                compact=True,
            )
            yield Label("", id="open-problem")

    def on_mount(self) -> None:
        target = self.query_one("#profiles", OptionList)
        if target.option_count:
            target.focus()
        else:
            self.query_one("#path", Input).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.dismiss(Path(event.option.id))

    @on(Input.Submitted, "#path")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        path = Path(event.value.strip()).expanduser()
        if not path.is_file() and not is_run_dir(path):
            problem = self.query_one("#open-problem", Label)
            problem.update(f"{path}: no such file or run directory")
            problem.add_class("-error")
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SaveAsDialog(ModalScreen[Path | None]):
    """Ask where to save; returns the path, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, suggestion: Path) -> None:
        super().__init__(classes="dialog-screen")
        self.suggestion = suggestion

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Save the profile as (enter saves, esc cancels)", classes="dialog-question")
            yield Input(str(self.suggestion), id="path", compact=True)
            yield Label("", id="open-problem")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    @on(Input.Submitted, "#path")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        raw = event.value.strip()
        if not raw:
            return
        path = Path(raw).expanduser()
        if path.suffix != ".toml":
            path = path.with_suffix(".toml")
        if path.is_dir():
            problem = self.query_one("#open-problem", Label)
            problem.update(f"{path} is a directory")
            problem.add_class("-error")
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
