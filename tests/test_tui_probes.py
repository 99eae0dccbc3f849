"""The TUI side of probes (issue 13): recording runs the profile's probes and steady-state
check, a `command` probe is asked about first, a deviation stays on the status bar, and the
editor edits probes and tolerances (checked by the engine, saved with the profile)."""

from __future__ import annotations

import csv
import inspect
import math
import sys
import tomllib
from pathlib import Path

from probe_servers import cpu_service
from textual.widgets import DataTable, Input, Label, Select, Static
from tui_kit import fake_samples

from core.probes import ProbeSpec, Tolerance
from core.profile import load_profile
from core.schedule import Schedule
from core.telemetry.sampler import Sample
from tests.test_tui import (
    SIZE,
    _sync,
    build,
    check_run,
    manifest,
    open_editor,
    run_dirs,
    runs,
    until,
)
from tui.app import make_app
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.probes import ProbeDialog, ProbesDialog, ToleranceDialog
from tui.messages import SessionInfo
from tui.screens.editor import EditorScreen
from tui.widgets.graph_panel import GraphPanel
from tui.widgets.metric_row import MetricRow
from tui.widgets.status_bar import StatusBar

__all__ = ["runs"]  # the fixture, used by name

PROFILE = """
name = "probed"

[sampling]
interval_s = 0.25

[run]
mode = "sequential"
baseline_s = 0.5
gap_s = 0.2

[[events]]
stressor = "cpu"
duration_s = 2
params = {{ load_percent = 50 }}
{probes}
"""

HTTP_PROBE = """
[[probes]]
name = "api"
kind = "http"
url = "{url}"
every_s = 0.05
timeout_s = 1.0

[steady_state]
abort = false
[steady_state.tolerances]
probe_api_count = {{ max = 0 }}   # breaks at the first interval with an answered probe
"""

COMMAND_PROBE = f"""
[[probes]]
name = "cmd"
kind = "command"
argv = ["{sys.executable}", "-c", "pass"]
every_s = 0.5
"""


def write(tmp_path: Path, probes: str) -> Path:
    path = tmp_path / "probed.toml"
    path.write_text(PROFILE.format(probes=probes))
    return path


def dataset(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "system_metrics_dataset.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def status_text(app: object) -> str:
    return str(app.screen.query_one(StatusBar).render())  # type: ignore[attr-defined]


async def test_recording_runs_http_probes_and_shows_a_deviation_until_the_end(
    runs: Path, tmp_path: Path
) -> None:
    with cpu_service() as url:
        app = build(write(tmp_path, HTTP_PROBE.format(url=url)), runs)
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: app.run_status.state == "live")
            await pilot.press("r")
            await until(lambda: app.run_status.deviations > 0, timeout=30)
            assert app.run_status.recording
            assert "probe_api_count > 0" in status_text(app)
            await until(lambda: app.run_status.elapsed_s > 2.0, timeout=30)
            assert "probe_api_count > 0" in status_text(app)  # still shown later in the run
            await until(lambda: app.run_status.state == "live", timeout=30)
            assert "probe_api_count" not in status_text(app)  # the run ended: gone
    [run_dir] = run_dirs(runs)
    record = manifest(run_dir)
    assert record["steady_state"]["verdict"] == "deviated"
    assert record["steady_state"]["deviations"][0]["column"] == "probe_api_count"
    rows = dataset(run_dir)
    answered = sum(float(r["probe_api_count"]) for r in rows)
    assert answered > 10 and all(float(r["probe_api_errors"]) == 0 for r in rows)
    check_run(run_dir)


async def test_a_command_probe_is_asked_about_no_records_nothing(
    runs: Path, tmp_path: Path
) -> None:
    app = build(write(tmp_path, COMMAND_PROBE), runs)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.run_status.state == "live")
        await pilot.press("r")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert f"{sys.executable} -c pass" in dialog.question  # names the argv
        await pilot.press("n")
        await pilot.pause()
        assert app.run_status.state == "live" and run_dirs(runs) == []
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("y")
        await until(lambda: app.run_status.state == "recording")
        await until(lambda: app.run_status.state == "live", timeout=30)
    [run_dir] = run_dirs(runs)
    rows = dataset(run_dir)
    assert sum(float(r["probe_cmd_count"]) for r in rows) >= 2
    assert all(float(r["probe_cmd_errors"]) == 0 for r in rows)
    assert manifest(run_dir)["steady_state"]["verdict"] == "not-checked"


async def fill(pilot: object, screen: object, values: dict[str, str]) -> None:
    for selector, value in values.items():
        screen.query_one(selector, Input).value = value  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


async def test_editor_adds_edits_and_deletes_probes_and_tolerances_saved_with_the_profile(
    runs: Path, tmp_path: Path
) -> None:
    path = write(tmp_path, "")
    app = build(path, runs)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        probes = app.screen
        assert isinstance(probes, ProbesDialog)
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ProbeDialog)
        await fill(pilot, form, {"#p-name": "api", "#p-target": "ftp://nowhere"})
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ProbeDialog)  # the engine's reason, inline
        assert "http://" in str(form.query_one("#probe-problem", Label).content)
        await fill(pilot, form, {"#p-target": "http://127.0.0.1:9/health", "#p-every_s": "0.5"})
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is probes
        assert [(p.name, p.kind, p.url, p.every_s) for p in app.draft.probes] == [
            ("api", "http", "http://127.0.0.1:9/health", 0.5)
        ]
        # a second probe: tcp, chosen by keyboard in the kind list
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ProbeDialog)
        form.query_one("#p-kind", Select).value = "tcp"
        await fill(pilot, form, {"#p-name": "db", "#p-target": "127.0.0.1:5432"})
        assert str(form.query_one("#p-target-label", Label).content) == "address"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert [p.kind for p in app.draft.probes] == ["http", "tcp"]
        # a tolerance on a probe column, then one on a column nobody writes (refused inline)
        await pilot.press("tab")
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ToleranceDialog)
        await fill(pilot, form, {"#t-column": "probe_nope_p99_ms", "#t-max": "50"})
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "no probe in this profile" in str(
            form.query_one("#tolerance-problem", Label).content
        )
        await fill(pilot, form, {"#t-column": "probe_api_p99_ms"})
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is probes
        await pilot.press("b")  # abort = true
        await pilot.pause()
        assert app.draft.steady_state is not None and app.draft.steady_state.abort
        # delete the tcp probe (the probe list is focused again)
        probes.query_one("#probe-list", DataTable).focus()
        await pilot.press("down", "x")
        await pilot.pause()
        assert [p.name for p in app.draft.probes] == ["api"]
        # deleting the api probe leaves its tolerance on a column nobody writes: shown
        await pilot.press("up", "x")
        await pilot.pause()
        issues = str(probes.query_one("#probe-issues", Static).content)
        assert "probe_api_p99_ms" in issues and "no probe in this profile" in issues
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, EditorScreen)
        assert "probe_api_p99_ms" in str(editor.query_one("#problems", Static).content)
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        await fill(pilot, app.screen, {"#p-name": "api", "#p-target": "http://127.0.0.1:9/h"})
        await pilot.press("ctrl+s", "escape")
        await pilot.pause()
        assert "valid" in str(editor.query_one("#problems", Static).content)
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = tomllib.loads(path.read_text())
    assert saved["probes"] == [
        {"name": "api", "kind": "http", "url": "http://127.0.0.1:9/h", "every_s": 1, "timeout_s": 1}
    ]
    assert saved["steady_state"] == {
        "abort": True,
        "tolerances": {"probe_api_p99_ms": {"max": 50}},
    }
    profile = load_profile(path)  # what twin --batch reads
    assert profile.steady_state is not None and profile.steady_state.tolerances[0].max == 50


async def test_a_loaded_profile_keeps_its_command_probe_and_saves_it(
    runs: Path, tmp_path: Path
) -> None:
    path = write(tmp_path, COMMAND_PROBE)
    app = build(path, runs)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot)
        assert "valid" in str(editor.query_one("#problems", Static).content)
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ProbeDialog)
        assert form.query_one("#p-target", Input).value == f"{sys.executable} -c pass"
        await fill(pilot, form, {"#p-target": f"{sys.executable} -c 'print(1)'"})
        await pilot.press("ctrl+s", "escape")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = tomllib.loads(path.read_text())
    assert saved["probes"][0]["argv"] == [sys.executable, "-c", "print(1)"]


def probe_values(k: int) -> dict[str, float]:
    """Sample `k`'s probe columns: 10-30 ms, no answer at k = 5, past the 50 ms limit from 25."""
    p99 = math.nan if k == 5 else (80.0 if k >= 25 else 10.0 + k % 20)
    return {
        "probe_api_count": 0.0 if k == 5 else 10.0,
        "probe_api_errors": 2.0 if k == 5 else 0.0,
        "probe_api_p50_ms": p99 / 2,
        "probe_api_p99_ms": p99,
        "probe_api_max_ms": p99,
    }


async def test_dashboard_draws_a_row_per_probe_with_its_tolerance(tmp_path: Path) -> None:
    app = make_app(None, tmp_path / "runs", live=False, recover=False)
    probe = ProbeSpec("api", "http", url="http://127.0.0.1:9/")
    limit = Tolerance("probe_api_p99_ms", max=50.0)
    schedule = Schedule(name="probed", mode="parallel", events=(), total_s=60, interval_s=1.0)
    info = SessionInfo(1, True, "probed", tmp_path, 60.0, 1.0, schedule, (probe,), (limit,))
    samples = fake_samples(30)
    async with app.run_test(size=(100, 30)) as pilot:  # a graph 20 samples wide or more

        async def feed(first: int, last: int) -> dict[str, MetricRow]:
            for sample in samples[first - 1 : last]:
                values = {**sample.values, **probe_values(int(sample.elapsed_s))}
                app.session.on_sample(Sample(sample.timestamp, sample.elapsed_s, values, ()))
            for _ in range(4):
                await pilot.pause()
            return {r.spec.key: r for r in app.screen.query_one(GraphPanel).rows()}

        canvas = app.screen.query_one(GraphPanel).canvas

        def value_of(row: MetricRow) -> str:
            return row.value_text

        app.session._info = info  # as `start_recording` sets it, with no engine running
        row = (await feed(1, 20))["probe_api_p99_ms"]
        text = value_of(row)
        assert row.rows >= 1 and canvas.region_of(row).height >= 1
        assert canvas.text_of(row)[0].startswith("api")
        assert "10.0ms" in canvas.text_of(row)[0]  # as drawn
        assert "10.0ms" in text and "0err" in text and "≤50.0ms" in text  # sample 20: 10 ms
        assert not row.beyond
        assert row.top == 50.0  # the scale reaches the tolerance
        width = canvas.bar_width
        assert width >= 20
        levels = row.levels
        assert levels[width - 20 + 4] == -1  # sample 5 had no answer: a gap, not a zero
        assert min(levels[width - 20 + 5 :]) > 0
        strip_y = app.screen.query_one("#strip-row").region.y
        shown = [canvas.region_of(r) for r in canvas.rows if r.rows]
        assert max(g.bottom for g in shown) == strip_y  # the probe row fits the graph area

        row = (await feed(21, 30))["probe_api_p99_ms"]  # past the limit from sample 25
        assert "80.0ms" in value_of(row) and "≤50.0ms" in value_of(row)
        assert row.beyond
        value_style = canvas.render_line(canvas.offset_of(row)).crop(canvas.size.width - 8)
        assert all(
            seg.style is not None and seg.style.bold for seg in value_style if seg.text.strip()
        )
        assert row.top == 80.0

        app.session._info = SessionInfo(2, False, "live", None, 0.0, 1.0, schedule)
        rows = await feed(30, 30)
        assert "probe_api_p99_ms" not in rows and "cpu_percent" in rows  # live: no probe rows


for _name, _test in list(globals().items()):
    if _name.startswith("test_") and inspect.iscoroutinefunction(_test):
        globals()[_name] = _sync(_test)
