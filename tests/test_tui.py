"""Pilot tests of the TUI: the real app (`make_app`) over a fake sampler and fake stressors."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Label
from tui_kit import FakeSampler, fake_stressors

import core.model
import core.runner
import tui.data.prediction
from core.model import TwinModel, fit_runs, predict_into_run
from core.profile import load_profile, resolve_schedule
from tests.synthetic import SynthEvent, write_bundle
from tui.app import TwinApp, make_app
from tui.data.draft import Draft
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.event_form import EventDialog
from tui.dialogs.generate import GenerateDialog
from tui.dialogs.open_profile import OpenProfileDialog, SaveAsDialog
from tui.dialogs.prediction import PredictionDialog
from tui.screens.dashboard import DashboardScreen
from tui.screens.editor import EditorScreen
from tui.screens.help import BindingsView, HelpScreen
from tui.widgets.graph_panel import GraphPanel
from tui.widgets.status_bar import StatusBar
from tui.widgets.stressor_panel import StressorPanel

ROOT = Path(__file__).resolve().parents[1]
SHARED_CHECKER = ROOT.parent / "shared" / "tools" / "check_run.py"
CHECKER = SHARED_CHECKER if SHARED_CHECKER.is_file() else ROOT / "tests" / "tools" / "check_run.py"
SIZE = (80, 24)

FAST_PROFILE = """
name = "fast"

[sampling]
interval_s = 0.25

[run]
mode = "sequential"
baseline_s = 0.5
gap_s = 0.2

[[events]]
stressor = "cpu"
duration_s = 0.4
label = "short"
params = { load_percent = 50 }
"""

LONG_PROFILE = FAST_PROFILE.replace("duration_s = 0.4", "duration_s = 60")


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[Path]:
    """Where runs go: on tmpfs when there is one. The engine fsyncs every file it writes;
    on a busy disk that alone took 10-30 s per run, and these tests are about the UI."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path / "runs"
        return
    base = Path(tempfile.mkdtemp(prefix="twin-tui-test-", dir=shm))
    try:
        yield base / "runs"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def machine_sampler() -> FakeSampler:
    """A fake sampler with this machine's core count (the run checker expects it)."""
    return FakeSampler(cores=os.cpu_count() or 1)


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "fast.toml"
    path.write_text(FAST_PROFILE)
    return path


@pytest.fixture
def long_profile(tmp_path: Path) -> Path:
    path = tmp_path / "long.toml"
    path.write_text(LONG_PROFILE)
    return path


def build(
    profile: Path | None,
    out: Path,
    started: list[tuple[str, dict[str, Any]]] | None = None,
) -> TwinApp:
    return make_app(
        profile,
        out,
        sampler_factory=machine_sampler,
        start_stressor=fake_stressors(started),
        live_interval_s=1.0,
    )


async def until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait (letting the app run) until `check()` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def run_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir()) if out.is_dir() else []


def manifest(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "run.json").read_text())
    return data


def check_run(run_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(CHECKER), str(run_dir)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


# ---- dashboard -----------------------------------------------------------------------


async def test_dashboard_shows_live_graphs_with_values(runs: Path, tmp_path: Path) -> None:
    app = build(None, runs)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: len(app.session.history) >= 3)
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        rows = {row.spec.key: row for row in app.screen.query_one(GraphPanel).rows()}
        for key in (
            "cpu_percent",
            "cpu0_percent",
            "mem_percent",
            "disk_read_bytes_per_s",
            "disk_write_bytes_per_s",
            "net_sent_bytes_per_s",
            "net_recv_bytes_per_s",
            "load_1m",
            "psi_cpu_some_percent",
            "temp_cpu_c",
        ):
            assert key in rows, key
        assert "%" in rows["cpu_percent"].value_text
        assert "/s" in rows["net_recv_bytes_per_s"].value_text
        assert app.run_status.state == "live"
        assert not app.run_status.recording
    assert run_dirs(runs) == []  # a live session writes nothing


async def test_stressor_buttons_launch_and_stop(runs: Path, tmp_path: Path) -> None:
    started: list[tuple[str, dict[str, Any]]] = []
    app = build(None, runs, started)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.run_status.state == "live")
        panel = app.screen.query_one(StressorPanel)
        panel.query_one("#p-cpu-load_percent", Input).value = "40"
        await pilot.press("c")
        await until(lambda: len(app.session.active_events()) == 1)
        assert started == [("cpu", {"load_percent": 40.0})]
        await pilot.click("#launch-memory")
        await until(lambda: len(app.session.active_events()) == 2)
        assert started[1] == ("memory", {"size_mb": 256})
        await until(lambda: panel.query_one("#running", DataTable).row_count == 2)
        await pilot.press("x")  # stops the highlighted (first) one
        await until(lambda: len(app.session.active_events()) == 1)
        assert app.session.active_events()[0].event.stressor == "memory"


async def test_stressor_panel_shows_the_stressor_validation(runs: Path, tmp_path: Path) -> None:
    started: list[tuple[str, dict[str, Any]]] = []
    app = build(None, runs, started)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.run_status.state == "live")
        panel = app.screen.query_one(StressorPanel)
        panel.query_one("#p-cpu-load_percent", Input).value = "150"
        await pilot.press("c")
        await pilot.pause()
        problem = str(panel.query_one("#stress-problem", Label).content)
        assert "load_percent" in problem and "between 1 and 100" in problem
        assert started == []


async def test_keys_d_m_n_launch_their_stressors(runs: Path, tmp_path: Path) -> None:
    started: list[tuple[str, dict[str, Any]]] = []
    app = build(None, runs, started)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.run_status.state == "live")
        await pilot.press("d", "n", "m")
        await until(lambda: len(started) == 3)
        assert sorted(kind for kind, _ in started) == ["disk", "memory", "network"]


# ---- run control ---------------------------------------------------------------------------


async def test_r_records_the_profile_and_goes_back_to_live(
    runs: Path, tmp_path: Path, profile: Path
) -> None:
    out = runs
    app = build(profile, out)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.run_status.state == "live")
        await pilot.press("r")
        await until(lambda: app.run_status.state == "recording")
        assert app.run_status.name == "fast"
        assert app.screen.query_one("#progress").display
        await until(lambda: app.run_status.state == "live" and app.run_status.last_run is not None)
    [run_dir] = run_dirs(out)
    assert app.run_status.last_run == run_dir
    assert manifest(run_dir)["status"] == "completed"
    assert (run_dir / "profile.toml").read_text() == FAST_PROFILE
    check_run(run_dir)


async def test_r_during_a_run_asks_and_stops_it(
    runs: Path, tmp_path: Path, long_profile: Path
) -> None:
    out = runs
    app = build(long_profile, out)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.run_status.state == "live")
        await pilot.press("r")
        await until(lambda: app.run_status.state == "recording")
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await pilot.pause()
        assert app.run_status.recording
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("y")
        await until(lambda: app.run_status.state == "live")
    [run_dir] = run_dirs(out)
    assert manifest(run_dir)["status"] == "stopped"
    check_run(run_dir)


def running_rows(app: TwinApp) -> int:
    """Rows of the stressor panel's "Running" table: what the operator sees running."""
    return app.screen.query_one("#running", DataTable).row_count


async def test_r_while_an_adhoc_stressor_runs_asks_before_stopping_it(
    runs: Path, profile: Path
) -> None:
    """Issue 12: `r` used to stop a stressor launched with `c` without a word."""
    app = build(profile, runs)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.run_status.state == "live")
        await pilot.press("c")
        await until(lambda: running_rows(app) == 1)
        await pilot.press("r")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog), "r stopped the stressor without asking"
        assert "a01 cpu" in dialog.question and "not recorded" in dialog.question.lower()
        await pilot.press("n")  # keep the stressor: nothing records, it goes on
        await pilot.pause()
        assert app.run_status.state == "live" and run_dirs(runs) == []
        await asyncio.sleep(0.3)
        assert running_rows(app) == 1
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("y")
        await until(lambda: app.run_status.state == "recording")
        assert any("stopping a01 cpu" in m for m in messages(app))
        await until(lambda: app.run_status.state == "live" and app.run_status.last_run is not None)
    [run_dir] = run_dirs(runs)
    assert manifest(run_dir)["status"] == "completed"
    assert "ad hoc" not in (run_dir / "annotations.csv").read_text()


async def test_adhoc_stress_while_recording_is_annotated(
    runs: Path, tmp_path: Path, long_profile: Path
) -> None:
    out = runs
    app = build(long_profile, out)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.run_status.state == "live")
        await pilot.press("r")
        await until(lambda: app.run_status.state == "recording")
        await pilot.press("n")
        await until(lambda: any(s.adhoc for s in app.session.active_events()))
        app.shutdown("test over")
        await until(lambda: not app.is_running, timeout=10)
    [run_dir] = run_dirs(out)
    annotations = (run_dir / "annotations.csv").read_text()
    assert "network" in annotations and "ad hoc" in annotations


async def test_q_during_a_run_asks_then_stops_in_order(
    runs: Path, tmp_path: Path, long_profile: Path
) -> None:
    out = runs
    app = build(long_profile, out)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.run_status.state == "live")
        await pilot.press("r")
        await until(lambda: app.run_status.state == "recording")
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running and app.run_status.recording
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("y")
        await until(lambda: not app.is_running, timeout=10)
    assert app.exit_code_ == 1
    [run_dir] = run_dirs(out)
    assert manifest(run_dir)["status"] == "stopped"
    check_run(run_dir)


async def test_q_when_idle_quits_at_once(runs: Path, tmp_path: Path) -> None:
    app = build(None, runs)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.run_status.state == "live")
        await pilot.press("q")
        await until(lambda: not app.is_running)
    assert app.exit_code_ == 0
    assert not app.session.running


async def test_sigterm_stops_the_run_with_complete_files(
    runs: Path, tmp_path: Path, long_profile: Path
) -> None:
    out = runs
    app = build(long_profile, out)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.run_status.state == "live")
        await pilot.press("r")
        await until(lambda: app.run_status.state == "recording")
        await asyncio.sleep(0.3)
        app.on_signal("SIGHUP")
        await until(lambda: not app.is_running, timeout=10)
    [run_dir] = run_dirs(out)
    data = manifest(run_dir)
    assert data["status"] == "stopped" and "SIGHUP" in data["stop_reason"]
    check_run(run_dir)


async def test_r_without_a_profile_warns_and_records_nothing(runs: Path, tmp_path: Path) -> None:
    out = runs
    app = build(None, out)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.run_status.state == "live")
        await pilot.press("r")
        await pilot.pause()
        assert app.run_status.state == "live"
    assert run_dirs(out) == []


async def test_r_with_a_bad_profile_opens_the_editor(
    runs: Path, tmp_path: Path, profile: Path
) -> None:
    app = build(profile, runs)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.run_status.state == "live")
        app.draft.baseline_s = -1
        app.draft.touch()
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, EditorScreen)
        assert "run.baseline_s" in str(app.screen.query_one("#problems").content)


async def test_out_dir_that_cannot_be_used_is_reported(tmp_path: Path, profile: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    app = build(profile, blocker / "runs")
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.run_status.state == "live")
        await pilot.press("r")
        await until(lambda: app.run_status.state == "live" and app.session.info is not None)
        await asyncio.sleep(0.3)
        assert not app.run_status.recording


# ---- help, screens, sizes -------------------------------------------------------------------


async def test_question_mark_lists_every_binding(runs: Path, tmp_path: Path) -> None:
    app = build(None, runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.styles.background.a == 1  # opaque: the dashboard is not blended under it
        lines = app.screen.query_one(BindingsView).lines  # as drawn: where, keys, does
        actions = {line.split("  ")[-1].strip() for line in lines}
        for needed in (
            "Record the profile, or stop the recording",
            "Quit",
            "Keys",
            "CPU",
            "Add",
            "Save",
            "Generate",
        ):
            assert needed in actions
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_screens_switch_by_key(runs: Path, tmp_path: Path, profile: Path) -> None:
    app = build(profile, runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, EditorScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("2")
        await pilot.pause()
        assert isinstance(app.screen, EditorScreen)
        await pilot.press("1")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_resizing_keeps_the_status_visible(runs: Path) -> None:
    """One app, resized through every size (each used to start its own app)."""
    app = build(None, runs)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: len(app.session.history) >= 2)
        for size in [(60, 20), (40, 10), (20, 6), (200, 60)]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await asyncio.sleep(0.05)
            status = app.screen.query_one(StatusBar)
            assert status.region.height == 1 and status.region.y == 0, size
            assert status.region.width == size[0], size
        await pilot.press("e")
        await pilot.pause()
        assert app.screen.query_one(StatusBar).region.height == 1
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        assert app.screen.query_one(StatusBar).region.width == 60


# ---- editor ------------------------------------------------------------------------------


async def open_editor(app: TwinApp, pilot: Any) -> EditorScreen:
    await pilot.press("e")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, EditorScreen)
    return screen


def events_table(screen: EditorScreen) -> DataTable[Any]:
    return screen.query_one("#events", DataTable)


async def test_editor_shows_the_events_and_the_timeline(runs: Path, tmp_path: Path) -> None:
    app = build(ROOT / "profiles" / "mixed-parallel.toml", runs)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot)
        assert events_table(editor).row_count == 4
        bar = editor.query_one("#timeline")
        assert bar.schedule is not None and len(bar.schedule.events) == 4  # type: ignore[attr-defined]
        assert "valid" in str(editor.query_one("#problems").content)


async def test_editor_duplicate_delete_reorder(runs: Path, tmp_path: Path, profile: Path) -> None:
    app = build(profile, runs)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot)
        await pilot.press("c")
        await pilot.pause()
        assert len(app.draft.events) == 2 and events_table(editor).row_count == 2
        app.draft.events[1] = app.draft.events[1].__class__("memory", 1.0, {"size_mb": 32})
        editor.show_events(1)
        await pilot.press("K")
        await pilot.pause()
        assert [e.stressor for e in app.draft.events] == ["memory", "cpu"]
        await pilot.press("J")
        await pilot.pause()
        assert [e.stressor for e in app.draft.events] == ["cpu", "memory"]
        await pilot.press("x")
        await pilot.pause()
        assert [e.stressor for e in app.draft.events] == ["cpu"]
        assert app.draft.dirty


async def test_editor_add_and_edit_events_through_the_form(
    runs: Path, tmp_path: Path, profile: Path
) -> None:
    app = build(profile, runs)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, EventDialog)
        dialog.query_one("#f-duration_s", Input).value = "2.5"
        dialog.query_one("#param-load_percent", Input).value = "150"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, EventDialog)  # the stressor's own message, inline
        assert "between 1 and 100" in str(dialog.query_one("#form-problem", Label).content)
        dialog.query_one("#param-load_percent", Input).value = "75"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, EditorScreen)
        assert len(app.draft.events) == 2
        assert app.draft.events[1].duration_s == 2.5
        assert app.draft.events[1].params == {"load_percent": 75.0}
        await pilot.press("enter")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, EventDialog)
        dialog.query_one("#f-label", Input).value = "edited"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.draft.events[1].label == "edited"
        assert events_table(editor).row_count == 2


async def test_editor_settings_show_engine_validation_inline(
    runs: Path, tmp_path: Path, profile: Path
) -> None:
    app = build(profile, runs)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot)
        editor.query_one("#set-baseline_s", Input).value = "-2"
        await pilot.pause()
        problems = str(editor.query_one("#problems").content)
        assert "run.baseline_s: must be >= 0, not -2" in problems
        editor.query_one("#set-baseline_s", Input).value = "1"
        await pilot.pause()
        assert "valid" in str(editor.query_one("#problems").content)
        await pilot.press("m")
        await pilot.pause()
        assert app.draft.mode == "parallel"


async def test_editor_event_problems_point_at_their_row(
    runs: Path, tmp_path: Path, profile: Path
) -> None:
    app = build(profile, runs)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot)
        spec = app.draft.events[0]
        app.draft.events[0] = spec.__class__("cpu", 1.0, {"load_percent": 500})
        editor.show_events()
        await pilot.pause()
        assert "events[0].params.load_percent" in str(editor.query_one("#problems").content)
        first = events_table(editor).get_row_at(0)[0]
        assert "!" in str(first)


async def test_editor_save_writes_toml_batch_runs_unchanged(
    runs: Path, tmp_path: Path, profile: Path
) -> None:
    app = build(profile, runs)
    async with app.run_test(size=SIZE) as pilot:
        await open_editor(app, pilot)
        await pilot.press("c")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not app.draft.dirty
        await pilot.press("S")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SaveAsDialog)
        target = tmp_path / "copy.toml"
        dialog.query_one(Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
    saved = load_profile(profile)
    assert len(saved.events) == 2
    copy = load_profile(target)
    assert resolve_schedule(copy) == resolve_schedule(saved)
    assert tomllib.loads(target.read_text())["name"] == "fast"
    assert app.draft.source == target


async def test_editor_generate_previews_and_expands(
    runs: Path, tmp_path: Path, profile: Path
) -> None:
    app = build(profile, runs)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot)
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, GenerateDialog)
        app.screen.query_one("#g-seed", Input).value = "7"
        app.screen.query_one("#g-count", Input).value = "4"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)  # replaces the written events
        await pilot.press("y")
        await pilot.pause()
        assert app.draft.generate is not None and app.draft.generate["seed"] == 7
        assert events_table(editor).row_count == 4
        first = [str(c) for c in events_table(editor).get_row_at(0)]
        await pilot.press("c")  # generated events are not edited one by one
        await pilot.pause()
        assert events_table(editor).row_count == 4
        await pilot.press("X")
        await pilot.pause()
        assert app.draft.generate is None and len(app.draft.events) == 4
        assert [str(c) for c in events_table(editor).get_row_at(0)] == first


async def test_open_dialog_loads_a_profile(runs: Path, tmp_path: Path) -> None:
    app = build(None, runs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, OpenProfileDialog)
        dialog.query_one("#path", Input).value = str(ROOT / "profiles" / "cpu-sweep.toml")
        dialog.query_one("#path", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.draft.name == "cpu-sweep"
        assert app.run_status.name == "cpu-sweep"
        editor = await open_editor(app, pilot)
        assert events_table(editor).row_count == 4
        assert editor.query_one("#gen-info").display


def test_draft_round_trips_every_example_profile() -> None:
    for path in sorted((ROOT / "profiles").glob("*.toml")):
        draft = Draft.load(path)
        assert draft.messages() == [], path
        assert resolve_schedule(draft.validated()) == resolve_schedule(load_profile(path))


def test_tui_modules_import_each_other_without_cycles() -> None:
    """Screens never import the app (TYPE_CHECKING and lazy imports count): no cycle in tui/."""
    from test_import_hygiene import imported_names

    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / "tui").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        graph[name] = {m for _, m in imported_names(path) if m.split(".")[0] == "tui"}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    assert "tui.screens.dashboard" in graph["tui.app"]
    assert [m for m in graph if reaches(m, m, set())] == []


# ---- the predictive model ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def twin_model(tmp_path_factory: pytest.TempPathFactory) -> TwinModel:
    """A model fitted from a synthetic bundle (another host than this one)."""
    parent = tmp_path_factory.mktemp("bundle")
    events = [
        SynthEvent("c1", "cpu", 5, 10, {"load_percent": 50}),
        SynthEvent("m1", "memory", 20, 8, {"size_mb": 512}),
    ]
    return fit_runs([write_bundle(parent / "r1", events, duration_s=35)])[0]


@pytest.fixture
def models_dir(tmp_path: Path, twin_model: TwinModel, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The TUI's model directory, in tmp, holding the fitted model."""
    where = tmp_path / "models"
    twin_model.save(where / "model-synthetic.json")
    monkeypatch.setattr(tui.data.prediction, "MODELS_DIR", where)
    return where


def messages(app: TwinApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_editor_p_predicts_the_plan(runs: Path, profile: Path, models_dir: Path) -> None:
    app = build(profile, runs)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot)
        await pilot.press("p")
        await until(lambda: isinstance(app.screen, PredictionDialog))
        dialog = app.screen
        assert isinstance(dialog, PredictionDialog)
        labels = [m.label for m in dialog.forecast.metrics]
        for label in ("CPU", "Mem used", "Mem available", "Load 1m", "Disk write", "Net RX"):
            assert label in labels
        assert any("another host" in w for w in dialog.forecast.warnings)
        body = dialog.query_one("#prediction-body")
        assert body.region.height > 0 and body.region.right <= SIZE[0]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is editor


async def test_editor_p_without_a_model_says_how_to_fit_one(
    runs: Path, profile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tui.data.prediction, "MODELS_DIR", tmp_path / "no-models")
    app = build(profile, runs)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot)
        await pilot.press("p")
        await until(lambda: any("no model for this host" in m for m in messages(app)))
        assert any("twin model fit RUN_DIR" in m for m in messages(app))
        assert app.screen is editor


async def test_dashboard_shows_the_prediction_beside_the_measure(
    runs: Path, long_profile: Path, twin_model: TwinModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def predict(run_dir: Path, schedule: Any) -> Path | None:
        return predict_into_run(run_dir, schedule, model=twin_model)

    monkeypatch.setattr(core.model, "predict_into_run", predict)
    models = runs.parent / "models"  # the runner predicts only where a model file exists
    models.mkdir(exist_ok=True)
    (models / "model-synthetic.json").write_text("{}")  # `predict` above brings the model
    monkeypatch.setattr(core.runner, "DEFAULT_MODELS_DIR", models)
    app = build(long_profile, runs)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.run_status.state == "live" and len(app.session.history) >= 1)
        await pilot.pause()
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        rows = {row.spec.key: row for row in dashboard.query_one(GraphPanel).rows()}
        assert "(pred " not in rows["cpu_percent"].value_text
        await pilot.press("r")
        await until(lambda: "(pred " in rows["cpu_percent"].value_text)
        assert "(pred " in rows["mem_percent"].value_text
        assert "(pred " not in rows["disk_read_bytes_per_s"].value_text
        assert dashboard.has_class("-predicted")
        app.session.stop_recording("test")
        await until(lambda: app.run_status.state == "live")
        await until(lambda: not dashboard.has_class("-predicted"))
        await until(lambda: "(pred " not in rows["cpu_percent"].value_text)
    [run_dir] = run_dirs(runs)
    assert (run_dir / "prediction.csv").is_file()


def test_prediction_track_reads_through_the_engine_reader(tmp_path: Path) -> None:
    from tui.data.prediction import PredictionTrack

    assert PredictionTrack.load(tmp_path, ["cpu_percent"]) is None  # no prediction.csv
    (tmp_path / "prediction.csv").write_text("elapsed_s,cpu_percent\n0,10\n10,30\n")
    track = PredictionTrack.load(tmp_path, ["cpu_percent", "mem_percent"])
    assert track is not None and track.keys == {"cpu_percent"}
    assert track.at("cpu_percent", 5.0) == 20.0
    (tmp_path / "prediction.csv").write_text('elapsed_s,cpu_percent\n0,"10\n')  # torn
    assert PredictionTrack.load(tmp_path, ["cpu_percent"]) is None
    (tmp_path / "prediction.csv").write_text("cpu_percent\n10\n")  # no clock
    assert PredictionTrack.load(tmp_path, ["cpu_percent"]) is None


def _sync(test: Callable[..., Any]) -> Callable[..., None]:
    """Run an async test with `asyncio.run` (no async plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


for _name, _test in list(globals().items()):
    if _name.startswith("test_") and inspect.iscoroutinefunction(_test):
        globals()[_name] = _sync(_test)
