"""The dashboard uses the whole screen (issue 19): graph heights, the cores' heat row, the
events strip's colours and overlaps, footers that never cut a binding.

Pilot tests run the real app with no engine (`live=False`) and fake samples fed through the
session's listener methods, as the engine's callbacks do.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets._footer import FooterKey
from tui_kit import fake_samples, fake_values

from core.runner import EventState
from core.schedule import Event
from core.telemetry.sampler import Sample
from tui.app import TwinApp, make_app
from tui.data.graph_layout import plan_heights
from tui.widgets.event_strip import STRESSOR_STYLE, EventStrip, Mark, strip_rows
from tui.widgets.graph_panel import GraphPanel

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "profiles" / "smoke.toml"
FAKE_GROUPS = ["cpu", "heat", "core", "core", "mem", "disk", "disk", "net", "net", "extra"]


def test_plan_fills_the_rows_cpu_and_memory_first() -> None:
    plan = plan_heights(FAKE_GROUPS, 20)
    heights = plan.heights
    assert sum(plan.heights) == 20  # not a row left blank
    assert not plan.cores_folded and heights[1] == 0  # no heat row: the cores fit
    assert heights[2] == heights[3] == 1  # a core stays one row
    assert heights[0] >= 4 and heights[4] >= 4  # CPU total and memory grew first
    assert heights[0] >= max(heights[5:]) and heights[4] >= max(heights[5:])
    assert min(h for h in plan.heights if h) >= 1


def test_plan_folds_many_cores_into_one_heat_row() -> None:
    groups = ["cpu", "heat", *["core"] * 64, "mem", "disk", "disk", "net", "net"]
    plan = plan_heights(groups, 20)
    assert plan.cores_folded
    assert plan.heights[1] == 1 and set(plan.heights[2:66]) == {0}
    assert sum(plan.heights) == 20


def test_plan_with_more_graphs_than_rows_keeps_one_row_each() -> None:
    plan = plan_heights(["cpu", "mem", "disk", "disk", "net", "net", "extra"], 4)
    assert plan.heights == (1,) * 7  # the area scrolls


def test_strip_colours_each_event_by_stressor_latest_on_top() -> None:
    cpu, mem = Mark("1:e01", "e01", "cpu"), Mark("1:e02", "e02", "memory")
    disk = Mark("1:e03", "e03", "disk")
    marks = [(), (disk,), (disk,), (), (cpu,), (cpu,), *[(cpu, mem)] * 6]
    marks_row, ids_row = strip_rows(marks, len(marks))
    assert [style for _, style in marks_row[1:3]] == [STRESSOR_STYLE["disk"]] * 2
    assert [style for _, style in marks_row[4:6]] == [STRESSOR_STYLE["cpu"]] * 2
    assert marks_row[6] == ("▓", STRESSOR_STYLE["memory"])  # overlap: e02 started last
    assert "".join(c for c, _ in ids_row).split() == ["e03", "e01", "e02"]
    lanes = strip_rows(marks, len(marks), lanes=2)  # room for two rows: stacked
    assert lanes[0][6] == ("█", STRESSOR_STYLE["cpu"])
    assert lanes[1][6] == ("█", STRESSOR_STYLE["memory"])
    assert len(set(STRESSOR_STYLE.values())) == 4  # four distinct colours


async def feed(app: TwinApp, cores: int = 2) -> None:
    """Three events (disk, then CPU and memory overlapping) and 70 samples, as the engine."""
    for eid, kind, start in (("e00", "disk", 10.0), ("e01", "cpu", 40.0), ("e02", "memory", 55.0)):
        app.session.on_event(EventState(Event(eid, kind, {}, start, 60.0), status="running"))
    events = {k: ("e00",) for k in range(10, 20)} | {k: ("e01", "e02") for k in range(55, 71)}
    for sample in fake_samples(70, events):
        if cores != 2:
            values = fake_values(int(sample.elapsed_s), cores)
            sample = Sample(sample.timestamp, sample.elapsed_s, values, sample.active_events)
        app.session.on_sample(sample)


def app_for_test(tmp_path: Path) -> TwinApp:
    return make_app(SMOKE, tmp_path / "runs", live=False, recover=False)


async def settle(pilot: Any) -> None:
    for _ in range(4):
        await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 50)])
async def test_graphs_fill_the_area_down_to_the_events_strip(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    app = app_for_test(tmp_path)
    async with app.run_test(size=size) as pilot:
        await feed(app)
        await settle(pilot)
        panel = app.screen.query_one(GraphPanel)
        regions = {r.spec.key: panel.canvas.region_of(r) for r in panel.rows() if r.rows}
        strip_row = app.screen.query_one("#strip-row")
        last = max(regions.values(), key=lambda region: region.bottom)
        assert last.bottom == strip_row.region.y  # nothing blank in between
        heights = {key: region.height for key, region in regions.items()}
        assert heights["cpu_percent"] == max(heights.values())
        assert heights["mem_percent"] >= heights["disk_read_bytes_per_s"]
        assert heights["cpu_percent"] > 1
        [cpu] = [r for r in panel.rows() if r.spec.key == "cpu_percent"]
        lines = panel.canvas.text_of(cpu)
        assert lines[0].startswith("CPU") and "%" in lines[0]
        assert "top 100.0%" in lines[1]  # a taller graph shows its scale
        strip = app.screen.query_one(EventStrip)
        styles = {style for row in strip._rows for _, style in row}
        assert {STRESSOR_STYLE["cpu"], STRESSOR_STYLE["memory"], STRESSOR_STYLE["disk"]} <= styles


async def test_many_cores_fold_into_one_heat_row(tmp_path: Path) -> None:
    app = app_for_test(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await feed(app, cores=48)
        await settle(pilot)
        panel = app.screen.query_one(GraphPanel)
        heat = panel.heat_row()
        assert heat is not None and panel.canvas.region_of(heat).height == 1
        cores = [r for r in panel.rows() if r.spec.group == "core"]
        assert len(cores) == 48 and not any(r.rows for r in cores)
        loads = [fake_values(70, 48)[f"cpu{i}_percent"] for i in range(48)]
        hottest = max(range(48), key=loads.__getitem__)
        [line] = panel.canvas.text_of(heat)
        assert line.startswith(" cores") and f"cpu{hottest}" in line
        last = max(
            (panel.canvas.region_of(r) for r in panel.rows() if r.rows), key=lambda g: g.bottom
        )
        assert last.bottom == app.screen.query_one("#strip-row").region.y


@pytest.mark.parametrize("keys", [[], ["e"]], ids=["dashboard", "editor"])
async def test_footer_never_cuts_a_binding_at_80_columns(tmp_path: Path, keys: list[str]) -> None:
    app = app_for_test(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        for key in keys:
            await pilot.press(key)
        await settle(pilot)
        footer_keys = list(app.screen.query(FooterKey))
        assert footer_keys
        assert all(k.region.right <= 80 and k.region.width > 0 for k in footer_keys)
        assert "question_mark" in {k.key for k in footer_keys}  # the rest is behind ?


def _sync(test: Callable[..., Any]) -> Callable[..., None]:
    """Run an async test with `asyncio.run` (no async plugin needed), as tests/test_tui.py."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


for _name, _test in list(globals().items()):
    if _name.startswith("test_") and inspect.iscoroutinefunction(_test):
        globals()[_name] = _sync(_test)
