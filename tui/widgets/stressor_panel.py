"""The stressor panel: a button per stressor with its main parameters, and what runs now."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, Select

from core.runner import EventState
from core.stressors import KINDS as STRESSORS
from tui.data.forms import DEFAULT_DURATION_S, LABELS, fields, parse_params, show_value
from tui.data.units import human_duration

SHORT_LABEL: dict[str, str] = {"cpu": "CPU", "memory": "Mem", "disk": "Disk", "network": "Net"}
SHORT_UNIT: dict[str, str] = {"%": "%", "MiB": "MiB", "Mbit/s": "Mb/s", "MiB/s": "MiB/s"}


class StressorPanel(Vertical):
    """Launch a stressor now (annotated like any event when recording) or stop one."""

    DEFAULT_CSS = """
    StressorPanel {
        height: 1fr;
        padding: 0 1;
        border-left: vkey $primary 50%;
        overflow-y: auto;
    }
    .panel-title {
        text-style: bold;
        color: $accent;
        margin-top: 0;
    }
    .stressor-row {
        height: 1;
        margin-bottom: 0;
    }
    .stressor-row Button {
        width: 7;
        min-width: 7;
        margin-right: 1;
    }
    .stressor-row Input {
        width: 6;
    }
    .stressor-row Select {
        width: 10;
        margin-right: 1;
    }
    .stressor-row .unit {
        width: auto;
        padding: 0 1 0 1;
        color: $text-muted;
    }
    #stress-problem {
        height: auto;
        display: none;
    }
    #stress-problem.-error {
        display: block;
        color: $error;
    }
    #running {
        height: auto;
        max-height: 8;
    }
    """

    class LaunchRequested(Message):
        """The operator asked for a stressor now."""

        def __init__(self, stressor: str, params: dict[str, Any], duration_s: float) -> None:
            super().__init__()
            self.stressor = stressor
            self.params = params
            self.duration_s = duration_s

    class StopRequested(Message):
        """The operator asked to stop a running event."""

        def __init__(self, event_id: str) -> None:
            super().__init__()
            self.event_id = event_id

    def compose(self) -> ComposeResult:
        yield Label("Stress now", classes="panel-title")
        for kind in STRESSORS:
            with Horizontal(classes="stressor-row", id=f"row-{kind}"):
                yield Button(
                    SHORT_LABEL[kind],
                    id=f"launch-{kind}",
                    compact=True,
                    classes="launch",
                    tooltip=f"start a {LABELS[kind]} stressor now",
                )
                for field in fields(kind, main_only=True):
                    wid = f"p-{kind}-{field.name}"
                    if field.choices:
                        yield Select(
                            [(c, c) for c in field.choices],
                            value=field.default,
                            allow_blank=False,
                            compact=True,
                            id=wid,
                            classes="param choice",
                            tooltip=f"{field.name}: {field.help}",
                        )
                    else:
                        yield Input(
                            show_value(field.default),
                            placeholder=field.placeholder,
                            compact=True,
                            id=wid,
                            classes="param",
                            tooltip=f"{field.name}: {field.help}",
                        )
                        if field.unit:
                            yield Label(SHORT_UNIT.get(field.unit, field.unit), classes="unit")
        with Horizontal(classes="stressor-row"):
            yield Label("for", classes="unit")
            yield Input(
                show_value(DEFAULT_DURATION_S),
                compact=True,
                id="duration",
                classes="param",
                type="number",
                tooltip="duration of the next launch, seconds",
            )
            yield Label("s", classes="unit")
        yield Label("", id="stress-problem")
        yield Label("Running", classes="panel-title")
        table: DataTable[str] = DataTable(id="running", cursor_type="row", show_header=False)
        yield table

    def on_mount(self) -> None:
        table = self.query_one("#running", DataTable)
        table.add_column("id", key="id", width=4)
        table.add_column("what", key="what")
        table.add_column("left", key="left", width=5)

    # ---- launching --------------------------------------------------------------
    def params_for(self, stressor: str) -> tuple[dict[str, Any], float, list[str]]:
        """The panel's params and duration for `stressor`, and any problems with them."""
        texts: dict[str, str] = {}
        for field in fields(stressor, main_only=True):
            widget = self.query_one(f"#p-{stressor}-{field.name}")
            if isinstance(widget, Select):
                texts[field.name] = "" if widget.value is Select.NULL else str(widget.value)
            elif isinstance(widget, Input):
                texts[field.name] = widget.value
        params, problems = parse_params(stressor, texts)
        raw = self.query_one("#duration", Input).value.strip()
        try:
            duration = float(raw)
            if not duration > 0:
                problems.append("duration: must be > 0")
        except ValueError:
            duration = 0.0
            problems.append("duration: must be a number of seconds")
        return params, duration, problems

    def request_launch(self, stressor: str) -> bool:
        params, duration, problems = self.params_for(stressor)
        problem = self.query_one("#stress-problem", Label)
        if problems:
            problem.update(f"{LABELS[stressor]}: {'; '.join(problems)}")
            problem.add_class("-error")
            return False
        problem.update("")
        problem.remove_class("-error")
        self.post_message(self.LaunchRequested(stressor, params, duration))
        return True

    @on(Button.Pressed, ".launch")
    def _launch_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        assert event.button.id is not None
        self.request_launch(event.button.id.removeprefix("launch-"))

    @on(Input.Submitted, ".param")
    def _param_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        wid = event.input.id or ""
        if wid.startswith("p-"):
            self.request_launch(wid.split("-")[1])

    # ---- running -------------------------------------------------------------------
    def show_running(self, states: Sequence[EventState], elapsed_s: float) -> None:
        table = self.query_one("#running", DataTable)
        wanted = {s.event.id: s for s in states}
        for key in list(table.rows):
            if key.value not in wanted:
                table.remove_row(key)
        for eid, state in wanted.items():
            left = human_duration(state.time_left_s(elapsed_s))
            what = f"{state.event.stressor} {_main_value(state.event.stressor, state.event.params)}"
            if eid in table.rows:
                if table.get_cell(eid, "left") != left:
                    table.update_cell(eid, "left", left)
                if table.get_cell(eid, "what") != what:
                    table.update_cell(eid, "what", what)
            else:
                table.add_row(eid, what, left, key=eid)

    def selected_event(self) -> str | None:
        table = self.query_one("#running", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return key.value

    @on(DataTable.RowSelected, "#running")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.StopRequested(event.row_key.value))


def _main_value(stressor: str, params: Mapping[str, Any]) -> str:
    for field in fields(stressor, main_only=True):
        if field.name in params:
            unit = SHORT_UNIT.get(field.unit, field.unit)
            return f"{show_value(params[field.name])}{unit}"
    return ""
