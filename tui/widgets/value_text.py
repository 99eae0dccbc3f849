"""A one-line text that repaints without asking for a new layout (updated every sample)."""

from __future__ import annotations

from textual.app import RenderResult
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget


class ValueText(Widget):
    """Like a `Label`, but `text` changes only repaint this widget (no layout pass)."""

    DEFAULT_CSS = """
    ValueText {
        height: 1;
        width: auto;
    }
    """

    text = reactive("", layout=False)
    """The text shown."""

    def __init__(
        self,
        text: str = "",
        *,
        classes: str | None = None,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(classes=classes, id=id)
        self.set_reactive(ValueText.text, text)

    def render(self) -> RenderResult:
        return Content(self.text)  # plain text: a `str` would be parsed as markup
