"""`[generate]`: a seeded random design (seed, count) or a sweep's values, previewed at once."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label

from tui.dialogs.form import FormDialog, form_buttons, form_row

DEFAULT_RANDOM: dict[str, Any] = {
    "design": "random",
    "seed": 42,
    "count": 5,
    "duration_s": [5, 15],
    "gap_s": [2, 6],
}


class GenerateDialog(FormDialog[dict[str, Any]]):
    """Returns the new `[generate]` table, or None when cancelled."""

    PROBLEM_ID = "gen-problem"

    def __init__(self, current: dict[str, Any] | None) -> None:
        super().__init__(classes="dialog-screen")
        self.current = dict(current) if current is not None else dict(DEFAULT_RANDOM)
        self.sweep = self.current.get("design") == "sweep"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            kind = "sweep" if self.sweep else "random"
            yield Label(f"Generate the schedule ({kind} design)", classes="dialog-question")
            if self.sweep:
                values = ", ".join(str(v) for v in self.current.get("values", []))
                yield from self._row("values", values, f"values of {self.current.get('param')}")
            else:
                yield from self._row("seed", str(self.current.get("seed", 42)), "integer >= 0")
                yield from self._row("count", str(self.current.get("count", 5)), "events")
            yield Label("", id="gen-problem")
            yield from form_buttons()

    def _row(self, name: str, value: str, help_: str) -> ComposeResult:
        yield from form_row(name, Input(value, id=f"g-{name}"), help_)

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    def collect(self) -> tuple[dict[str, Any] | None, str]:
        table = dict(self.current)
        if self.sweep:
            raw = self.query_one("#g-values", Input).value
            values: list[Any] = []
            for part in (p.strip() for p in raw.split(",")):
                if not part:
                    continue
                try:
                    number = float(part)
                    values.append(int(number) if number.is_integer() else number)
                except ValueError:
                    values.append(part)
            if not values:
                return None, "values: give at least one value"
            table["values"] = values
            return table, ""
        for name in ("seed", "count"):
            raw = self.query_one(f"#g-{name}", Input).value.strip()
            try:
                table[name] = int(raw)
            except ValueError:
                return None, f"{name}: must be an integer, not {raw!r}"
        return table, ""
