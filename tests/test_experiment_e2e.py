"""A real experiment end to end: a 2 s CPU event between baselines, as a user runs it."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

from conftest import check_run, run_twin

PROFILE = """
name = "e2e-cpu"
[sampling]
interval_s = 0.25
[run]
baseline_s = 2
[[events]]
stressor = "cpu"
duration_s = 2
label = "both cores at 80%"
params = { load_percent = 80 }
"""


def test_cpu_event_shows_in_the_dataset_and_agrees_with_annotations_and_plan(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    profile = write_profile(PROFILE)
    plan_file = tmp_path / "plan.json"
    planned = run_twin("plan", str(profile), "-o", str(plan_file))
    assert planned.returncode == 0, planned.stderr

    res = run_twin("--batch", str(profile), "--out", str(tmp_path / "runs"))
    assert res.returncode == 0, res.stderr
    run_dir = Path(res.stdout.strip().splitlines()[-1])
    assert check_run(run_dir).returncode == 0, check_run(run_dir).stdout
    assert (run_dir / "schedule.json").read_text() == plan_file.read_text()

    (ann,) = list(csv.DictReader((run_dir / "annotations.csv").open()))
    assert ann["event_id"] == "e01" and ann["status"] == "completed"
    assert json.loads(ann["params"]) == {"load_percent": 80}
    start, end = float(ann["start_elapsed_s"]), float(ann["end_elapsed_s"])
    assert abs(start - 2.0) < 0.1  # events start within 100 ms of plan
    assert abs((end - start) - 2.0) < 0.3

    rows = list(csv.DictReader((run_dir / "system_metrics_dataset.csv").open()))
    named = [float(r["elapsed_s"]) for r in rows if "e01" in r["active_events"].split(";")]
    inside = [float(r["elapsed_s"]) for r in rows if start <= float(r["elapsed_s"]) <= end]
    assert named == inside and len(named) >= 6  # exactly the samples the event brackets

    def mean_cpu(lo: float, hi: float) -> float:
        vals = [float(r["cpu_percent"]) for r in rows if lo < float(r["elapsed_s"]) <= hi]
        return sum(vals) / len(vals)

    during = mean_cpu(start + 0.5, end)  # the interval ending at a sample must lie inside
    before = mean_cpu(0.0, start)
    assert during > before + 30, (before, during)
    work = [float(r["stress_cpu_loops_per_s"]) for r in rows if r["active_events"] == "e01"]
    assert max(work) > 0
