"""The timeline editor's files: save (ctrl+s) and save as (S), warning when the saved
profile has problems (`twin --batch` would refuse it)."""

from __future__ import annotations

from pathlib import Path

from textual.screen import Screen

from tui.data.draft import Draft
from tui.dialogs.open_profile import SaveAsDialog
from tui.session import Session


class EditorFiles(Screen[None]):
    """The editor's save actions (`EditorScreen` derives from this)."""

    draft: Draft
    session: Session

    def _changed(self, select: int | None = None) -> None:
        raise NotImplementedError

    def action_save(self) -> None:
        if self.draft.source is None:
            self.action_save_as()
            return
        self._save(self.draft.source)

    def action_save_as(self) -> None:
        suggestion = self.draft.source or Path("profiles") / f"{self.draft.name or 'untitled'}.toml"
        self.app.push_screen(SaveAsDialog(suggestion), self._save_to)

    def _save_to(self, path: Path | None) -> None:
        if path is not None:
            self._save(path)

    def _save(self, path: Path) -> None:
        problems = self.draft.messages(self.session.out_parent)
        try:
            self.draft.save(path)
        except (OSError, ValueError) as exc:
            self.notify(f"cannot save {path}: {exc}", severity="error")
            return
        if problems:
            self.notify(
                f"saved {path}, but it has {len(problems)} problem(s): twin --batch will refuse it",
                severity="warning",
            )
        else:
            self.notify(f"saved {path}")
        self._changed()
