"""A footer that shows only the bindings that fit whole: never a key cut mid-word.

Textual's `Footer` lays every shown binding out in a row and lets the terminal's edge cut the
last one (`r Record/` at 80 columns). This one drops, from the end, the bindings that do not
fit, and always keeps `?` (the help screen lists them all).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

HELP_KEY = "question_mark"


def key_width(key_display: str, description: str) -> int:
    """The cells a `FooterKey` takes (non-compact: ` k ` then `description `)."""
    return len(key_display) + 2 + (len(description) + 1 if description else 0)


class FittedFooter(Footer):
    """`Footer`, without the bindings that would overflow its width."""

    def __init__(self) -> None:
        super().__init__(show_command_palette=False)
        self._fitted_width = -1

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        shown: list[tuple[str, str, str, str, bool, str]] = []
        seen: set[str] = set()
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            display = self.app.get_key_display(binding)
            shown.append(
                (binding.key, display, binding.description, binding.action, enabled, tooltip)
            )
        width = self.size.width or self.app.size.width
        helps = [s for s in shown if s[0] == HELP_KEY]
        left = width - sum(key_width(s[1], s[2]) for s in helps)
        fitted = []
        for item in shown:
            if item[0] == HELP_KEY:
                fitted.append(item)
                continue
            cost = key_width(item[1], item[2])
            if cost <= left:
                fitted.append(item)
                left -= cost
            else:
                left = -1  # keep the order: nothing after a dropped binding
        self._fitted_width = width
        for key, display, description, action, enabled, tooltip in fitted:
            yield FooterKey(
                key, display, description, action, disabled=not enabled, tooltip=tooltip
            ).data_bind(compact=Footer.compact)

    def on_resize(self) -> None:
        if self.size.width != self._fitted_width and self._bindings_ready:
            self.call_after_refresh(self.recompose)
