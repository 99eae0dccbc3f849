"""Pilot test of the Analysis screen on a synthetic run bundle (asyncio.run: no plugin)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import App
from textual.widgets import DataTable, Static

from tests.synthetic import Response, SynthEvent, write_bundle
from tui.screens.analysis import AnalysisScreen, latest_run

EVENTS = [
    SynthEvent("e1", "cpu", 10.0, 20.0, {"load_percent": 50}, {"cpu_percent": Response(50.0)}),
]


class ScreenApp(App[None]):
    def __init__(self, screen: AnalysisScreen) -> None:
        super().__init__()
        self.analysis = screen

    def on_mount(self) -> None:
        self.push_screen(self.analysis)


def test_analysis_screen_shows_responses(tmp_path: Path) -> None:
    asyncio.run(_shows_responses(tmp_path))


async def _shows_responses(tmp_path: Path) -> None:
    run = write_bundle(tmp_path / "runs" / "r1", EVENTS, duration_s=60.0, noise=0.2)
    screen = AnalysisScreen(runs_root=tmp_path / "runs")
    app = ScreenApp(screen)
    async with app.run_test(size=(100, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.run_dir == run == latest_run(tmp_path / "runs")
        assert screen.result is not None
        table = screen.query_one("#analysis-responses", DataTable)
        assert table.row_count >= 1
        quality = str(screen.query_one("#analysis-quality", Static).render())
        assert "samples" in quality
        await pilot.press("m")
        assert screen.metric == "mem_percent"
        await pilot.press("escape")
        assert app.screen is not screen
    assert not (run / "analysis").exists()  # the screen writes nothing


def test_analysis_screen_bad_dir(tmp_path: Path) -> None:
    asyncio.run(_bad_dir(tmp_path))


async def _bad_dir(tmp_path: Path) -> None:
    screen = AnalysisScreen(tmp_path / "missing")
    app = ScreenApp(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.result is None
        assert "no such run directory" in screen.error
