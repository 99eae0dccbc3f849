"""InfluxDB: `twin --batch --influx` streams a real run, `twin export --to influx` writes it,
both counted back with InfluxQL against a real InfluxDB 1.x started on loopback."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from live_servers import free_port, influx_query, influxd

from core.errors import BadInput
from core.live.influx import event_lines, iso_to_ns
from core.live.target import InfluxTarget

from conftest import run_twin

PROFILE = """\
name = "influx-live"
[sampling]
interval_s = 0.5
[run]
baseline_s = 1
[[events]]
stressor = "cpu"
duration_s = 2
label = "one worker, half load"
params = { load_percent = 50, workers = 1 }
"""


def dataset_rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "system_metrics_dataset.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def count(url: str, db: str, field: str, measurement: str, run: str, where: str = "") -> int:
    query = f"SELECT count({field}) FROM {measurement} WHERE \"run\" = '{run}' {where}"
    series = influx_query(url, db, query)
    return int(series[0]["values"][0][1]) if series else 0  # type: ignore[index]


def batch(profile: Path, out: Path, *flags: str) -> Path:
    result = run_twin("--batch", str(profile), "--out", str(out), *flags)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_live_stream_and_exports_leave_every_row_once(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    with influxd(tmp_path / "influx") as server:
        run_dir = batch(
            write_profile(PROFILE), tmp_path / "runs", "--influx", server.url, "--influx-db", "tw"
        )
        rows = dataset_rows(run_dir)
        name = run_dir.name
        in_event = sum(1 for r in rows if r["active_events"])
        assert rows and in_event > 0
        # the live stream: every row, tagged while the event ran, and the event's two points
        assert count(server.url, "tw", "cpu_percent", "server_twin", name) == len(rows)
        tagged = count(server.url, "tw", "cpu_percent", "server_twin", name, "AND event = 'e01'")
        assert tagged == in_event
        assert count(server.url, "tw", "status", "server_twin_events", name) == 2
        # the export of the same run rewrites the same points (twice): nothing is added
        for _ in range(2):
            result = run_twin("export", str(run_dir), "--to", "influx", server.url, "--db", "tw")
            assert result.returncode == 0, result.stderr
            assert f"{len(rows)} rows, 2 event points" in result.stdout
            assert count(server.url, "tw", "cpu_percent", "server_twin", name) == len(rows)
            assert count(server.url, "tw", "status", "server_twin_events", name) == 2
        # into a database that does not exist yet: created, and holds the dataset's values
        result = run_twin("export", str(run_dir), "--to", "influx", server.url, "--db", "fresh")
        assert result.returncode == 0, result.stderr
        series = influx_query(
            server.url, "fresh", f"SELECT cpu_percent FROM server_twin WHERE \"run\" = '{name}'"
        )
        stored = [round(float(v[1]), 2) for v in series[0]["values"]]  # type: ignore[index]
        assert stored == [round(float(r["cpu_percent"]), 2) for r in rows]
        events = influx_query(
            server.url, "fresh", "SELECT phase, status, param_load_percent FROM server_twin_events"
        )
        values = events[0]["values"]  # type: ignore[index]
        assert [v[1:] for v in values] == [["start", "running", 50], ["end", "completed", 50]]


@pytest.mark.slow
def test_unreachable_server_the_run_goes_on_and_names_the_export(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = run_twin(
        "--batch", str(write_profile(PROFILE)), "--out", str(tmp_path / "runs"),
        "--influx", dead, "--influx-db", "later",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    told = [line for line in result.stderr.splitlines() if "the run goes on" in line]
    assert len(told) == 1 and dead in told[0] and "Connection refused" in told[0]
    hint = [line for line in result.stderr.splitlines() if "send the run with:" in line]
    assert len(hint) == 1
    command = hint[0].split("send the run with: ", 1)[1].split()
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    assert command[:4] == ["twin", "export", str(run_dir), "--to"]
    with influxd(tmp_path / "influx") as server:
        # the server comes up elsewhere: the printed command, pointed at it, sends everything
        command[5] = server.url
        sent = run_twin(*command[1:])
        assert sent.returncode == 0, sent.stderr
        rows = len(dataset_rows(run_dir))
        assert count(server.url, "later", "cpu_percent", "server_twin", run_dir.name) == rows


@pytest.mark.slow
def test_server_error_is_one_line_with_the_reason(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    run_dir = batch(write_profile(PROFILE), tmp_path / "runs")
    with influxd(tmp_path / "influx") as server:
        # InfluxDB 1.6 has no 2.x API: it answers 404, and twin says so in one line
        result = run_twin(
            "export", str(run_dir), "--to", "influx", server.url, "--org", "o", "--bucket", "b"
        )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{server.url}/api/v2/write: HTTP 404" in result.stderr


def test_dead_server_and_malformed_url(tmp_path: Path) -> None:
    from tests.synthetic import SynthEvent, write_bundle

    run_dir = write_bundle(tmp_path / "run", [SynthEvent("e01", "cpu", 2.0, 3.0)], duration_s=8)
    dead = f"http://127.0.0.1:{free_port()}"
    result = run_twin("export", str(run_dir), "--to", "influx", dead, "--db", "x")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"twin: {dead}/query: Connection refused\n"
    bad = run_twin("export", str(run_dir), "--to", "influx", "http://[::1", "--db", "x")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "not an http(s) URL" in bad.stderr


@pytest.mark.parametrize(
    ("url", "names", "problem"),
    [
        ("localhost:8086", {"db": "x"}, "not an http(s) URL"),
        ("http://h:0", {"db": "x"}, "not an http(s) URL"),
        ("http://h:8086", {}, "name the database"),
        ("http://h:8086", {"org": "o"}, "needs both --org and --bucket"),
    ],
)
def test_bad_targets_are_bad_input(url: str, names: dict[str, str], problem: str) -> None:
    with pytest.raises(BadInput, match=re.escape(problem)):
        InfluxTarget.parse(url, **names)


def test_event_points_and_exact_times() -> None:
    assert iso_to_ns("2025-01-02T03:04:05.678Z") == 1735787045678000000
    row = {
        "event_id": "e01",
        "stressor": "cpu",
        "label": 'say "hi", ok',
        "params": '{"load_percent": 50, "target": "self"}',
        "start_time": "2025-01-02T03:04:05.678Z",
        "end_time": "2025-01-02T03:04:07.001Z",
        "status": "failed",
        "message": "it died\nbadly",
    }
    start, end = event_lines([row], "my host", "run-1")
    assert start.startswith("server_twin_events,host=my\\ host,run=run-1,event=e01,")
    assert ',phase=start status="running",' in start and 'label="say \\"hi\\", ok"' in start
    assert "param_load_percent=50.0" in start and 'param_target="self"' in start
    assert start.endswith(" 1735787045678000000")
    assert 'status="failed"' in end and 'message="it died badly"' in end
    assert end.endswith(" 1735787047001000000")
    still_running = {**row, "status": "running", "end_time": ""}
    assert len(event_lines([still_running], "h", "r")) == 1
