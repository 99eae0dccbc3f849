"""The steady-state hypothesis: tolerances checked at every sample, the verdict in run.json,
exit 3 when it deviated (1 wins over 3), `abort = true` stopping the run in order."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from probe_servers import cpu_service

from core.errors import BadInput
from core.probes import ABORT_REASON, ProbeSpec, RunProbes, SteadyStateSpec, Tolerance
from core.probes.steady_state import SteadyStateMonitor

from conftest import check_run, run_twin


def only_run(parent: Path) -> Path:
    runs = [p for p in parent.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def test_a_deviation_is_one_excursion_with_its_first_value_and_its_worst() -> None:
    monitor = SteadyStateMonitor(SteadyStateSpec(tolerances=(Tolerance("lat", max=10.0),)))
    series = [5.0, 12.0, 30.0, math.nan, 11.0, 4.0, 15.0]
    begun = [monitor.observe(float(t), {"lat": v}, ("e01",)) for t, v in enumerate(series)]
    assert [len(b) for b in begun] == [0, 1, 0, 0, 0, 0, 1]  # NaN neither ends nor begins one
    first, second = monitor.deviations
    assert (first.value, first.worst, first.samples, first.elapsed_s) == (12.0, 30.0, 3, 1.0)
    assert (second.value, second.elapsed_s) == (15.0, 6.0)
    assert first.to_json()["limit"] == {"max": 10.0}
    assert first.to_json()["active_events"] == ["e01"]
    assert first.line() == "twin: steady state deviated at 1.0 s: lat = 12 > max 10 during e01"
    assert monitor.verdict == "deviated"


def test_a_min_bound_and_the_verdicts() -> None:
    held = SteadyStateMonitor(SteadyStateSpec(tolerances=(Tolerance("mem", min=100.0),)))
    held.observe(1.0, {"mem": 150.0}, ())
    assert held.verdict == "held" and held.to_json()["deviations"] == []
    held.observe(2.0, {"mem": 50.0}, ())
    assert held.verdict == "deviated" and held.deviations[0].bound == "min"
    assert SteadyStateMonitor(None).verdict == "not-checked"
    assert SteadyStateMonitor(SteadyStateSpec()).verdict == "not-checked"


def test_exit_code_3_only_when_completed_or_stopped_by_the_hypothesis_and_1_wins() -> None:
    class Failed:
        status = "failed"

    probes = RunProbes((), SteadyStateSpec(tolerances=(Tolerance("x", max=1.0),)))
    assert probes.exit_code("completed", "", []) == 0
    probes.monitor.observe(1.0, {"x": 2.0}, ())
    assert probes.exit_code("completed", "", []) == 3
    assert probes.exit_code("stopped", ABORT_REASON, []) == 3
    assert probes.exit_code("stopped", "SIGTERM", []) == 1  # the operator's stop wins
    assert probes.exit_code("failed", "", [Failed()]) == 1  # type: ignore[list-item]
    assert probes.exit_code("degraded", "degraded", []) == 1


def test_the_engine_refuses_a_command_probe_unless_allowed() -> None:
    probe = ProbeSpec("ready", "command", argv=("true",))
    with pytest.raises(BadInput, match="--allow-commands"):
        RunProbes((probe,))
    assert RunProbes((probe,), allow_commands=True).columns[0].name == "probe_ready_count"


@pytest.mark.slow
def test_a_tolerance_that_breaks_exits_3_and_one_that_holds_exits_0(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    def profile(name: str, tolerances: str, url: str) -> Path:
        return write_profile(
            f"""name = "{name}"
[sampling]
interval_s = 0.5
[run]
baseline_s = 2
[[probes]]
name = "api"
kind = "http"
url = "{url}"
every_s = 0.1
[steady_state.tolerances]
{tolerances}
""",
            f"{name}.toml",
        )

    with cpu_service() as url:
        holds = profile(
            "holds", "probe_api_errors = { max = 0 }\nmem_available_bytes = { min = 1 }", url
        )
        breaks = profile(
            "breaks", "probe_api_errors = { max = 0 }\nprobe_api_count = { max = 1 }", url
        )
        held = run_twin("--batch", str(holds), "--out", str(tmp_path / "held"))
        deviated = run_twin("--batch", str(breaks), "--out", str(tmp_path / "deviated"))

    assert held.returncode == 0, held.stderr
    held_run = json.loads((only_run(tmp_path / "held") / "run.json").read_text())
    assert held_run["steady_state"]["verdict"] == "held"
    assert held_run["steady_state"]["deviations"] == []
    assert "steady state deviated" not in held.stderr

    assert deviated.returncode == 3, deviated.stderr
    run_dir = only_run(tmp_path / "deviated")
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "completed" and manifest["exit_code"] == 3
    state = manifest["steady_state"]
    assert state["verdict"] == "deviated"
    first = state["deviations"][0]
    assert first["column"] == "probe_api_count" and first["limit"] == {"max": 1.0}
    assert first["value"] > 1 and first["active_events"] == []
    assert set(first) >= {"column", "limit", "value", "elapsed_s", "active_events"}
    lines = [line for line in deviated.stderr.splitlines() if "steady state deviated at" in line]
    assert len(lines) == len(state["deviations"]) >= 1  # one stderr line per deviation
    assert check_run(run_dir).returncode == 0


@pytest.mark.slow
def test_abort_true_stops_the_run_in_order_at_the_first_deviation(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    profile = write_profile(
        """name = "aborts"
[sampling]
interval_s = 0.5
[run]
baseline_s = 2
[[events]]
stressor = "cpu"
duration_s = 20
params = { load_percent = 30, workers = 1 }
[[probes]]
name = "wake"
kind = "sched"
every_s = 0.05
[steady_state]
abort = true
[steady_state.tolerances]
probe_wake_count = { max = 1 }
"""
    )
    result = run_twin("--batch", str(profile), "--out", str(tmp_path / "runs"))
    assert result.returncode == 3, result.stderr
    run_dir = only_run(tmp_path / "runs")
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "stopped"
    assert "steady state deviated" in manifest["stop_reason"]
    assert manifest["sample_count"] < 44  # stopped long before the planned 22 s
    assert manifest["steady_state"]["verdict"] == "deviated"
    with open(run_dir / "annotations.csv", newline="") as f:
        statuses = [row["status"] for row in csv.DictReader(f)]
    assert statuses in ([], ["aborted"])  # never started, or stopped with the run: none running
    assert check_run(run_dir).returncode == 0


def test_the_report_says_what_each_event_did_to_each_probe_and_lists_deviations() -> None:
    import pandas as pd

    from core.analysis.probes import probe_section

    responses = pd.DataFrame(
        [
            {"event_id": "e02", "stressor": "cpu", "metric": "probe_api_p99_ms",
             "baseline": 2.1, "level": 38.0, "detectable": True},
            {"event_id": "e02", "stressor": "cpu", "metric": "cpu_percent",
             "baseline": 3.0, "level": 99.0, "detectable": True},
        ]
    )  # fmt: skip
    manifest = {
        "steady_state": {
            "verdict": "deviated",
            "deviations": [
                {"column": "probe_api_p99_ms", "limit": {"max": 50.0}, "value": 61.2,
                 "elapsed_s": 12.34, "active_events": ["e02"], "worst": 80.0, "samples": 3}
            ],
        }
    }  # fmt: skip
    text = "\n".join(probe_section(responses, manifest))
    assert "- api p99 2.1 → 38 ms during e02 (cpu) (a detectable change)" in text
    assert "cpu_percent" not in text
    assert "**deviated**" in text
    assert (
        "12.3 s: `probe_api_p99_ms` = 61.2 (limit max 50; worst 80 over 3 samples) during e02"
        in text
    )
    assert probe_section(responses.iloc[1:], {}) == []  # no probes, no hypothesis: no section
