"""The TUI side of probes (issue 13): recording runs the profile's probes and steady-state
check, a `command` probe is asked about first, a deviation stays on the status bar, and the
editor edits probes and tolerances (checked by the engine, saved with the profile)."""

from __future__ import annotations

import csv
import inspect
import sys
from pathlib import Path

from probe_servers import cpu_service

from tests.test_tui import (
    SIZE,
    _sync,
    build,
    check_run,
    manifest,
    run_dirs,
    runs,
    until,
)
from tui.dialogs.confirm import ConfirmDialog
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


for _name, _test in list(globals().items()):
    if _name.startswith("test_") and inspect.iscoroutinefunction(_test):
        globals()[_name] = _sync(_test)
