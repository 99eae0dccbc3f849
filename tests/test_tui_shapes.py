"""The TUI side of shapes (issue 15): the event form chooses a shape for the level param (by
keyboard), the engine checks it inline, the timeline bar draws it, and it is saved and run."""

from __future__ import annotations

import inspect
import json
import tomllib
from pathlib import Path
from typing import Any

from textual.widgets import Input, Label, Select, Static

from core.profile import load_profile
from tests.test_tui import (
    FAST_PROFILE,
    SIZE,
    _sync,
    build,
    events_table,
    open_editor,
    run_dirs,
    runs,
    until,
)
from tui.dialogs.event_form import EventDialog
from tui.screens.editor import EditorScreen
from tui.widgets.timeline_bar import TimelineBar

__all__ = ["runs"]  # the fixture, used by name

SHAPED = FAST_PROFILE.replace("duration_s = 0.4", "duration_s = 2").replace(
    "params = { load_percent = 50 }",
    "params = { load_percent = { sine = { mean = 50, amplitude = 30, period_s = 2 } } }",
)


def profile_at(tmp_path: Path, text: str = FAST_PROFILE) -> Path:
    path = tmp_path / "shaped.toml"
    path.write_text(text)
    return path


async def choose_shape(pilot: Any, dialog: EventDialog, kind: str) -> None:
    """Pick `kind` in the level's shape list by keyboard: focus it, open it, walk, enter."""
    select = dialog.query_one("#shape-load_percent", Select)
    select.focus()
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    order = ["constant", "ramp", "steps", "sine", "square", "trace"]
    for _ in range(order.index(kind) - order.index(str(select.value))):
        await pilot.press("down")
    await pilot.press("enter")
    await pilot.pause()
    assert select.value == kind


def shape_field(dialog: EventDialog, key: str) -> Input:
    return dialog.query_one(f"#shape-field-{key}", Input)


def problem(dialog: EventDialog) -> str:
    return str(dialog.query_one("#form-problem", Label).content)


async def test_a_ramp_chosen_by_keyboard_is_checked_drawn_and_saved(
    runs: Path, tmp_path: Path
) -> None:
    path = profile_at(tmp_path)
    app = build(path, runs)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, EventDialog)
        dialog.query_one("#f-duration_s", Input).value = "2"
        await choose_shape(pilot, dialog, "ramp")
        assert not dialog.query_one("#param-load_percent", Input).display  # the shape instead
        shape_field(dialog, "from").value = "10"
        shape_field(dialog, "to").value = "190"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, EventDialog)  # out of range: the engine's reason
        assert "ramp[1] = 190 must be between 1 and 100" in problem(dialog)
        shape_field(dialog, "to").value = "90"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, EditorScreen)
        assert app.draft.events[0].params == {"load_percent": {"ramp": [10.0, 90.0]}}
        row = events_table(editor).get_row_at(0)
        assert "load_percent=ramp(10..90)" in str(row[5])
        bar = str(editor.query_one(TimelineBar).render())
        ramp = bar.split("e01", 1)[1].split("─", 1)[0]  # the event's cells after its id
        assert len(ramp) >= 5 and list(ramp) == sorted(ramp) and ramp[0] != ramp[-1]
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = tomllib.loads(path.read_text())
    assert saved["events"][0]["params"] == {"load_percent": {"ramp": [10, 90]}}
    assert load_profile(path).events[0].params["load_percent"] == {"ramp": [10.0, 90.0]}


async def test_a_trace_by_file_path_relative_to_the_profile(runs: Path, tmp_path: Path) -> None:
    path = profile_at(tmp_path)
    (tmp_path / "load.csv").write_text("elapsed_s,cpu_percent\n0,20\n1,80\n2,40\n")
    app = build(path, runs)
    async with app.run_test(size=SIZE) as pilot:
        await open_editor(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, EventDialog)
        await choose_shape(pilot, dialog, "trace")
        shape_field(dialog, "file").value = "missing.csv"
        shape_field(dialog, "column").value = "cpu_percent"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "cannot read trace" in problem(dialog) and "missing.csv" in problem(dialog)
        shape_field(dialog, "file").value = "load.csv"
        shape_field(dialog, "column").value = "cpu"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "no column 'cpu'" in problem(dialog)
        shape_field(dialog, "column").value = "cpu_percent"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, EditorScreen)
        level = app.draft.events[0].params["load_percent"]
        assert level["trace"] == "load.csv" and level["points"][1] == [1.0, 80.0]
        assert "valid" in str(app.screen.query_one("#problems", Static).content)
        await pilot.press("ctrl+s")
        await pilot.pause()
    written = tomllib.loads(path.read_text())["events"][0]["params"]["load_percent"]
    assert written == {"trace": "load.csv", "column": "cpu_percent", "time_column": "elapsed_s"}


async def test_a_loaded_shape_shows_its_fields_and_records_with_the_run(
    runs: Path, tmp_path: Path
) -> None:
    app = build(profile_at(tmp_path, SHAPED), runs)
    async with app.run_test(size=SIZE) as pilot:
        await open_editor(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, EventDialog)
        assert dialog.query_one("#shape-load_percent", Select).value == "sine"
        assert shape_field(dialog, "amplitude").value == "30"
        await choose_shape(pilot, dialog, "square")  # another shape and back: texts kept
        await pilot.press("up", "enter")
        await pilot.pause()
        select = dialog.query_one("#shape-load_percent", Select)
        select.focus()
        await pilot.press("enter", "up", "enter")
        await pilot.pause()
        assert select.value == "sine" and shape_field(dialog, "period_s").value == "2"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, EditorScreen)
        sine = {"sine": {"mean": 50.0, "amplitude": 30.0, "period_s": 2.0}}
        assert app.draft.events[0].params == {"load_percent": sine}
        await pilot.press("r")
        await until(lambda: app.run_status.state == "recording")
        await until(lambda: app.run_status.state == "live", timeout=30)
    [run_dir] = run_dirs(runs)
    schedule = json.loads((run_dir / "schedule.json").read_text())
    assert schedule["events"][0]["params"]["load_percent"] == sine


for _name, _test in list(globals().items()):
    if _name.startswith("test_") and inspect.iscoroutinefunction(_test):
        globals()[_name] = _sync(_test)
