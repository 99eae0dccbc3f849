"""Add or edit one event: stressor, timing, label and every parameter of its stressor."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select

from core.profile import EventSpec
from core.stressors import KINDS as STRESSORS
from tui.data.forms import LABELS, fields, parse_params, show_value
from tui.dialogs.form import FormDialog


class EventDialog(FormDialog[EventSpec]):
    """Returns the edited `EventSpec`, or None when cancelled."""

    PROBLEM_ID = "form-problem"

    def __init__(self, spec: EventSpec | None, title: str, mode: str) -> None:
        super().__init__(classes="dialog-screen")
        self.spec = spec or EventSpec("cpu", 10.0, {"load_percent": 50})
        self.title_text = title
        self.mode = mode
        self._stressor = self.spec.stressor

    def compose(self) -> ComposeResult:
        start_help = (
            "seconds after the baseline"
            if self.mode == "parallel"
            else "0: after the previous event and the gap; >0: pinned, after the baseline"
        )
        with Vertical(classes="dialog event-dialog"):
            yield Label(self.title_text, classes="dialog-question")
            with VerticalScroll(classes="form"):
                with Horizontal(classes="form-row"):
                    yield Label("stressor", classes="form-label")
                    yield Select(
                        [(LABELS[k], k) for k in STRESSORS],
                        value=self.spec.stressor,
                        allow_blank=False,
                        compact=True,
                        id="stressor",
                    )
                yield from self._row("duration_s", show_value(self.spec.duration_s), "seconds, > 0")
                yield from self._row("start_s", show_value(self.spec.start_s), start_help)
                yield from self._row("label", self.spec.label, "free text")
                yield Vertical(id="params")
            yield Label("", id="form-problem")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK (ctrl+s)", id="ok", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def _row(self, name: str, value: str, help_: str) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Label(name, classes="form-label")
            yield Input(value, id=f"f-{name}", compact=True, tooltip=help_, classes="form-input")
            yield Label(help_, classes="form-help")

    def on_mount(self) -> None:
        self._build_params(self.spec.stressor, self.spec.params)
        self.query_one("#stressor", Select).focus()

    def _build_params(self, stressor: str, values: dict[str, Any]) -> None:
        box = self.query_one("#params", Vertical)
        box.remove_children()
        rows = []
        for field in fields(stressor):
            value = values.get(field.name)
            row = Horizontal(classes="form-row")
            label = Label(field.label, classes="form-label")
            widget: Select[str] | Input
            if field.choices or field.kind is bool:
                choices = field.choices or ("true", "false")
                current = show_value(value) if value is not None else ""
                widget = Select(
                    [(c, c) for c in choices],
                    value=current if current in choices else Select.NULL,
                    prompt=f"default: {field.placeholder}",
                    compact=True,
                    id=f"param-{field.name}",
                    classes="param-field",
                    tooltip=field.help,
                )
            else:
                widget = Input(
                    show_value(value) if value is not None else "",
                    placeholder=f"default: {field.placeholder}",
                    compact=True,
                    id=f"param-{field.name}",
                    classes="param-field form-input",
                    tooltip=field.help,
                )
            help_ = Label(field.help, classes="form-help")
            rows.append((row, [label, widget, help_]))
        for row, children in rows:
            box.mount(row)
            row.mount_all(children)

    @on(Select.Changed, "#stressor")
    def _stressor_changed(self, event: Select.Changed) -> None:
        value = str(event.value)
        if value != self._stressor:
            self._stressor = value
            keep = self.spec.params if value == self.spec.stressor else {}
            self._build_params(value, keep)

    def collect(self) -> tuple[EventSpec | None, str]:
        problems: list[str] = []
        numbers: dict[str, float] = {}
        for name in ("duration_s", "start_s"):
            raw = self.query_one(f"#f-{name}", Input).value.strip() or "0"
            try:
                numbers[name] = float(raw)
            except ValueError:
                problems.append(f"{name}: must be a number, not {raw!r}")
        if numbers.get("duration_s", 1.0) <= 0:
            problems.append("duration_s: must be > 0")
        if numbers.get("start_s", 0.0) < 0:
            problems.append("start_s: must be >= 0")
        texts: dict[str, str] = {}
        for widget in self.query(".param-field"):
            name = (widget.id or "").removeprefix("param-")
            if isinstance(widget, Select):
                texts[name] = "" if widget.value is Select.NULL else str(widget.value)
            elif isinstance(widget, Input):
                texts[name] = widget.value
        params, param_problems = parse_params(self._stressor, texts)
        problems += param_problems
        if problems:
            return None, "\n".join(problems)
        label = self.query_one("#f-label", Input).value
        spec = EventSpec(self._stressor, numbers["duration_s"], params, numbers["start_s"], label)
        return spec, ""
