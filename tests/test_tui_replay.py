"""Replay any recorded run in the TUI (issue 17 part 5): by pilot at 80x24, and in tmux.

The run is a real bundle on disk (tests/synthetic.py writes it the way the runner does) with a
`prediction.csv`; the app reads it only through `load_run`.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from textual.widgets import Input, Static

from tests.synthetic import Response, SynthEvent, write_bundle
from tui.app import TwinApp, make_app
from tui.data.recording import Recording
from tui.screens.dashboard import DashboardScreen
from tui.screens.replay import ReplayScreen
from tui.widgets.graph_panel import GraphPanel

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / ".venv" / "bin" / "twin"
SIZE = (80, 24)
EVENTS = [
    SynthEvent("e01", "cpu", 20.0, 30.0, {"load_percent": 80}, {"cpu_percent": Response(60.0)}),
    SynthEvent("e02", "memory", 35.0, 30.0, {"size_mib": 64}, {"mem_percent": Response(10.0)}),
    SynthEvent("e03", "disk", 90.0, 20.0, {}, {"disk_write_bytes_per_s": Response(5e7)}),
]


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A 130 s run of three events, with the model's prediction beside it."""
    run = write_bundle(tmp_path / "run", EVENTS, duration_s=130.0, noise=1.0, n_cpus=2)
    data = pd.read_csv(run / "system_metrics_dataset.csv")
    prediction = pd.DataFrame(
        {"elapsed_s": data["elapsed_s"], "cpu_percent": data["cpu_percent"] * 0.5 + 7.0}
    )
    prediction.to_csv(run / "prediction.csv", index=False)
    return run


def replay_app(tmp_path: Path, recording: Recording | None = None) -> TwinApp:
    return make_app(None, tmp_path / "runs", recording, live=False, recover=False)


def status_text(screen: ReplayScreen) -> str:
    return str(screen.query_one("#replay-status", Static).render())


def values_text(screen: ReplayScreen) -> str:
    return str(screen.query_one("#values-text", Static).render())


async def test_replay_cursor_by_keyboard_at_80x24(tmp_path: Path, run_dir: Path) -> None:
    recording = Recording.load(run_dir)
    data = pd.read_csv(run_dir / "system_metrics_dataset.csv")
    app = replay_app(tmp_path, recording)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        assert screen.cursor.index == len(data) - 1  # opens at the end
        await pilot.press("home")
        assert screen.cursor.index == 0
        await pilot.press("right", "right")
        assert screen.cursor.index == 2
        await pilot.press("left")
        assert screen.cursor.index == 1
        await pilot.press("right_square_bracket")  # next event: e01, from 20 s
        await pilot.pause()
        index = screen.cursor.index
        first_e01 = int(data.index[data["active_events"].fillna("").str.contains("e01")][0])
        assert index == first_e01 and data["elapsed_s"][index] >= 20.0
        assert "e01" in status_text(screen)
        cpu = data["cpu_percent"][index]
        assert f"{cpu:.1f}%" in values_text(screen)  # every value at the cursor
        assert "predicted" in values_text(screen)
        rows = {r.spec.key: r for r in screen.query_one(GraphPanel).rows()}
        assert "(pred " in rows["cpu_percent"].value_text  # prediction beside the measure
        assert f"{cpu * 0.5 + 7.0:.1f}%" in rows["cpu_percent"].value_text
        await pilot.press("right_square_bracket", "right_square_bracket")  # e02, then e03
        assert data["elapsed_s"][screen.cursor.index] >= 90.0
        await pilot.press("left_square_bracket")
        assert 35.0 <= data["elapsed_s"][screen.cursor.index] < 90.0
        width = screen.cursor.width
        before = screen.cursor.index
        await pilot.press("pagedown")
        assert screen.cursor.index == min(len(data) - 1, before + width)
        await pilot.press("pageup")
        assert screen.cursor.index == before
        await pilot.press("end")
        assert screen.cursor.index == len(data) - 1
        await pilot.press("escape")  # back to the live dashboard
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_q_quits_the_replay_at_once(tmp_path: Path, run_dir: Path) -> None:
    app = replay_app(tmp_path, Recording.load(run_dir))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ReplayScreen)
        await pilot.press("q")
        for _ in range(100):
            if not app.is_running:
                break
            await asyncio.sleep(0.05)
        assert not app.is_running  # no question asked: nothing records
    assert app.exit_code_ == 0


async def test_o_on_a_run_directory_replays_it(tmp_path: Path, run_dir: Path) -> None:
    app = replay_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await pilot.pause()
        field = app.screen.query_one("#path", Input)
        field.focus()
        field.value = str(run_dir)
        await pilot.press("enter")
        for _ in range(200):
            if isinstance(app.screen, ReplayScreen):
                break
            await asyncio.sleep(0.05)
        assert isinstance(app.screen, ReplayScreen)
        assert app.screen.recording.path == run_dir


async def test_o_on_a_directory_that_is_not_a_run_says_so(tmp_path: Path) -> None:
    app = replay_app(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await pilot.pause()
        field = app.screen.query_one("#path", Input)
        field.focus()
        field.value = str(empty)
        await pilot.press("enter")
        await pilot.pause()
        problem = str(app.screen.query_one("#open-problem").render())
        assert "no such file or run directory" in problem
        assert not isinstance(app.screen, ReplayScreen)


def _sync(test: Callable[..., Any]) -> Callable[..., None]:
    """Run an async test with `asyncio.run` (no async plugin needed), as tests/test_tui.py."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


for _name, _test in list(globals().items()):
    if _name.startswith("test_") and inspect.iscoroutinefunction(_test):
        globals()[_name] = _sync(_test)


# ---- the real program in tmux ----------------------------------------------------------------


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10).stdout


def wait_for(session: str, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = tmux("capture-pane", "-p", "-t", session)
        if text in shown:
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; the screen shows:\n{shown}")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (CI has it)")
@pytest.mark.skipif(not TWIN.exists(), reason=f"{TWIN} is missing: pip install -e .")
def test_twin_run_dir_replays_in_tmux_at_80x24(tmp_path: Path, run_dir: Path) -> None:
    session = f"twin-replay-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "runs"
    command = f"cd {ROOT} && {TWIN} {run_dir} --out {out}; echo EXITED $?; sleep 30"
    tmux("new", "-d", "-s", session, "-x", "80", "-y", "24", command)
    try:
        shown = wait_for(session, "REPLAY", 30)
        assert "2:10/2:10" in shown  # at the end of the 130 s run
        tmux("send-keys", "-t", session, "Home")
        wait_for(session, "0:01/2:10", 10)
        tmux("send-keys", "-t", session, "]")
        shown = wait_for(session, "▶ e01", 10)
        assert "predicted" in shown and "cpu_percent" in shown
        footer = shown.rstrip("\n").splitlines()[-1]
        assert "? Keys" in footer and len(footer) <= 80
        tmux("send-keys", "-t", session, "q")
        wait_for(session, "EXITED 0", 15)
    finally:
        tmux("kill-session", "-t", session)
