"""`--metrics-port` and `--influx` in the TUI: the live outputs hear every session of the app.

The real app (fake sampler, fake stressors) with the live link the command line adds, a real
scrape of its /metrics, a recording streamed to a real InfluxDB (skips without influxd), and
`twin --metrics-port` on a port in use (one line, exit 2).
"""

from __future__ import annotations

import asyncio
import csv
import functools
import inspect
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from live_servers import influx_query, influxd
from prometheus_client.parser import text_string_to_metric_families
from tui_kit import FakeSampler, fake_stressors

from core.live.outputs import LiveOptions
from core.live.target import InfluxTarget
from tui.app import TwinApp, make_app
from tui.live_link import LIVE_RUN, LiveLink

PROFILE = """
name = "tui-live"

[sampling]
interval_s = 0.25

[run]
baseline_s = 0.5

[[events]]
stressor = "cpu"
duration_s = 0.75
params = { load_percent = 50 }
"""


def build(profile: Path, out: Path, link: LiveLink) -> TwinApp:
    app = make_app(
        profile,
        out,
        sampler_factory=lambda: FakeSampler(cores=1),
        start_stressor=fake_stressors(),
        live_interval_s=0.25,
        recover=False,
    )
    app.session.add_listener(link)
    return app


async def until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def scrape(link: LiveLink) -> dict[str, Any]:
    assert link.endpoint is not None
    text = requests.get(f"http://{link.endpoint.address}/metrics", timeout=5).text
    return {f.name: f for f in text_string_to_metric_families(text)}


def cpu_sample(link: LiveLink) -> Any:
    (sample,) = scrape(link)["server_twin_cpu_percent"].samples
    return sample


def recorded_runs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir()) if out.is_dir() else []


def dataset_rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "system_metrics_dataset.csv").open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    path = tmp_path / "tui-live.toml"
    path.write_text(PROFILE)
    return path


async def test_metrics_follow_the_live_session_and_the_recording(
    tmp_path: Path, profile: Path
) -> None:
    lines: list[str] = []
    link = LiveLink(LiveOptions(metrics_port=0, metrics_host="127.0.0.1"), lines.append)
    link.open()
    out = tmp_path / "runs"
    try:
        app = build(profile, out, link)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(lambda: len(app.session.history) >= 2)
            await until(lambda: "server_twin_cpu_percent" in scrape(link))
            live = cpu_sample(link)
            assert live.labels["run"] == LIVE_RUN
            newest = [s.values["cpu_percent"] for s in app.session.history.window(8)]
            assert any(abs(live.value - v) < 1e-6 for v in newest)  # the samples the app shows
            await pilot.press("r")
            await until(lambda: app.run_status.recording)
            run_dir = app.run_status.run_dir
            assert run_dir is not None
            await until(lambda: cpu_sample(link).labels["run"] == run_dir.name)
            await until(lambda: app.run_status.state == "live" and app.run_status.last_run)
            await until(lambda: cpu_sample(link).labels["run"] == LIVE_RUN)  # live again
            await pilot.press("q")
        assert any("/metrics" in line for line in lines)
    finally:
        link.close()
    with pytest.raises(requests.ConnectionError):  # stopped serving with the app
        scrape(link)


@pytest.mark.slow
async def test_influx_gets_every_row_of_a_recording(tmp_path: Path, profile: Path) -> None:
    with influxd(tmp_path / "influx") as server:
        target = InfluxTarget.parse(server.url, "tw", None, None, None, flag="--influx")
        lines: list[str] = []
        link = LiveLink(LiveOptions(influx=target), lines.append)
        link.open()
        out = tmp_path / "runs"
        try:
            app = build(profile, out, link)
            async with app.run_test(size=(80, 24)) as pilot:
                await until(lambda: len(app.session.history) >= 2)
                await pilot.press("r")
                await until(lambda: app.run_status.recording)
                await until(lambda: app.run_status.state == "live" and app.run_status.last_run)
                await pilot.press("q")
        finally:
            link.close()
        [run_dir] = recorded_runs(out)
        rows = dataset_rows(run_dir)
        query = f"SELECT count(cpu_percent) FROM server_twin WHERE \"run\" = '{run_dir.name}'"
        series = influx_query(server.url, "tw", query)
        assert series and int(series[0]["values"][0][1]) == len(rows)  # type: ignore[index]
        query = "SELECT count(cpu_percent) FROM server_twin WHERE \"run\" = 'live'"
        assert not influx_query(server.url, "tw", query)  # only recorded rows, as --batch
        assert not [line for line in lines if "not sent" in line]


def test_twin_tui_on_a_metrics_port_in_use_is_one_line_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "cli", "--metrics-port", str(port), "--out", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1 and f"--metrics-port {port}" in done.stderr
    assert "Traceback" not in done.stderr


def _sync(test: Callable[..., Any]) -> Callable[..., None]:
    """Run an async test with `asyncio.run` (no async plugin needed), as tests/test_tui.py."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


for _name, _test in list(globals().items()):
    if _name.startswith("test_") and inspect.iscoroutinefunction(_test):
        globals()[_name] = _sync(_test)
