"""Add or edit one event: stressor, timing, label and every parameter of its stressor.

The level parameter (`core.shapes.LEVEL_PARAMS`) also takes a shape: a list beside its value
chooses constant, ramp, steps, sine, square or trace, and the shape's own fields replace the
value field (`tui.data.forms.SHAPE_FIELDS`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Input, Label, Select

from core.profile import EventSpec
from core.stressors import KINDS as STRESSORS
from tui.data.forms import (
    CONSTANT,
    LABELS,
    SHAPE_FIELDS,
    SHAPE_HELP,
    Field,
    fields,
    level_param,
    parse_params,
    parse_shape_texts,
    shape_texts,
    show_value,
)
from tui.dialogs.form import FormDialog, form_buttons, form_row


class EventDialog(FormDialog[EventSpec]):
    """Returns the edited `EventSpec`, or None when cancelled."""

    PROBLEM_ID = "form-problem"

    DEFAULT_CSS = """
    EventDialog .shape-select { width: 12; }
    EventDialog .shape-fields { height: auto; margin-bottom: 1; padding-left: 2; }
    EventDialog .shape-fields Label { width: auto; padding: 0 1 0 1; }
    EventDialog .shape-fields Input { width: 8; }
    EventDialog .shape-fields Input.-wide { width: 1fr; }
    """

    def __init__(
        self, spec: EventSpec | None, title: str, mode: str, base_dir: Path | None = None
    ) -> None:
        """`base_dir`: the profile's folder, where a trace's relative path is read from."""
        super().__init__(classes="dialog-screen")
        self.base_dir = base_dir
        self._shape_texts: dict[str, str] = {}
        """The level's shape fields as typed (kept while the shape list changes)."""
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
            yield from form_buttons()

    def _row(self, name: str, value: str, help_: str) -> ComposeResult:
        yield from form_row(name, Input(value, id=f"f-{name}", tooltip=help_), help_)

    def on_mount(self) -> None:
        self._build_params(self.spec.stressor, self.spec.params)
        self.query_one("#stressor", Select).focus()

    def _build_params(self, stressor: str, values: dict[str, Any]) -> None:
        box = self.query_one("#params", Vertical)
        box.remove_children()
        rows = []
        for field in fields(stressor):
            value = values.get(field.name)
            if field.name == level_param(stressor):
                rows.extend(self._level_rows(field, value))
                continue
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

    def _level_rows(self, field: Field, value: Any) -> list[tuple[Widget, list[Widget]]]:
        """The level param: a shape list, the constant's value, then the shape's fields."""
        kind, texts = shape_texts(value)
        constant = Input(
            show_value(value) if kind == CONSTANT and value is not None else "",
            placeholder=f"default: {field.placeholder}",
            compact=True,
            id=f"param-{field.name}",
            classes="param-field form-input",
            tooltip=field.help,
        )
        shapes = Select(
            [(k, k) for k in SHAPE_FIELDS],
            value=kind,
            allow_blank=False,
            compact=True,
            id=f"shape-{field.name}",
            classes="shape-select",
            tooltip="a shaped level: how it changes over the event",
        )
        help_ = Label(field.help, classes="form-help", id="shape-help")
        row = Horizontal(classes="form-row")
        box = Horizontal(classes="shape-fields", id="shape-fields")
        self._shape_texts = texts
        self.call_after_refresh(self._show_shape, kind)
        label = Label(field.label, classes="form-label")
        return [(row, [label, shapes, constant, help_]), (box, [])]

    async def _show_shape(self, kind: str) -> None:
        """The chosen shape's fields (the constant's value field only for `constant`)."""
        name = level_param(self._stressor)
        try:
            fields_box = self.query_one("#shape-fields", Horizontal)
            self.query_one(f"#param-{name}", Input).display = kind == CONSTANT
        except NoMatches:  # the stressor changed meanwhile: its own rows show their shape
            return
        if fields_box.has_class(f"-{kind}"):  # already shown (a Changed for the first value)
            return
        fields_box.set_classes(f"shape-fields -{kind}")
        self.query_one("#shape-help", Label).update(SHAPE_HELP[kind])
        await fields_box.remove_children()
        fields_box.display = kind != CONSTANT
        widgets: list[Widget] = []
        for key in SHAPE_FIELDS[kind]:
            wide = key in ("file", "values")
            widgets.append(Label(key))
            widgets.append(
                Input(
                    self._shape_texts.get(key, ""),
                    id=f"shape-field-{key}",
                    compact=True,
                    classes="shape-field -wide" if wide else "shape-field",
                    placeholder="elapsed_s" if key == "time_column" else "",
                )
            )
        await fields_box.mount_all(widgets)

    @on(Select.Changed, ".shape-select")
    async def _shape_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is not Select.NULL:
            self._keep_shape_texts()
            await self._show_shape(str(event.value))

    def _keep_shape_texts(self) -> None:
        """The shape fields typed so far (kept when the shape changes back and forth)."""
        for widget in self.query(".shape-field").results(Input):
            self._shape_texts[(widget.id or "").removeprefix("shape-field-")] = widget.value

    def _shape_value(self) -> tuple[dict[str, Any], str]:
        """`{level param: shape}` when a shape is chosen, and its problem."""
        name = level_param(self._stressor)
        chosen = self.query(f"#shape-{name}").results(Select)
        select = next(iter(chosen), None)
        if name is None or select is None or select.value in (CONSTANT, Select.NULL):
            return {}, ""
        self._keep_shape_texts()
        shape, problem = parse_shape_texts(str(select.value), self._shape_texts, self.base_dir)
        if shape is None:
            return {}, f"{name}: {problem}"
        return {name: shape}, ""

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
        shaped, shape_problem = self._shape_value()
        if shaped or shape_problem:  # the shape stands in for the value field
            texts.pop(level_param(self._stressor) or "", None)
        if shape_problem:
            problems.append(shape_problem)
        params, param_problems = parse_params(self._stressor, texts, shaped)
        problems += param_problems
        if problems:
            return None, "\n".join(problems)
        label = self.query_one("#f-label", Input).value
        spec = EventSpec(self._stressor, numbers["duration_s"], params, numbers["start_s"], label)
        return spec, ""
