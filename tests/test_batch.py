"""`twin --batch` for real: the run bundle, exit codes, signals, kill -9 and recovery."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import ROOT, TWIN, check_run, run_twin

QUIET = """
name = "quiet"
[sampling]
interval_s = 0.5
[run]
baseline_s = 3
"""


def run_dirs(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if p.is_dir()) if parent.exists() else []


def test_batch_writes_a_complete_bundle(tmp_path: Path, write_profile: Callable[..., Path]) -> None:
    out = tmp_path / "runs"
    res = run_twin("--batch", str(write_profile(QUIET)), "--out", str(out))
    assert res.returncode == 0, res.stderr
    run_dir = Path(res.stdout.strip().splitlines()[-1])
    assert run_dir.parent == out and run_dir.name.endswith("-quiet")
    assert check_run(run_dir).returncode == 0, check_run(run_dir).stdout
    rows = list(csv.DictReader((run_dir / "system_metrics_dataset.csv").open()))
    assert len(rows) == 6  # 3 s at 0.5 s: one row per interval, the first one interval in
    assert [float(r["elapsed_s"]) for r in rows] == pytest.approx(
        [0.5, 1.0, 1.5, 2.0, 2.5, 3.0], abs=0.05
    )
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "completed" and manifest["exit_code"] == 0
    assert manifest["sample_count"] == 6 and manifest["interval_s"] == 0.5
    assert manifest["host"]["logical_cpus"] >= 1 and manifest["profile_name"] == "quiet"
    assert (run_dir / "profile.toml").read_text() == QUIET
    schedule = json.loads((run_dir / "schedule.json").read_text())
    assert schedule["events"] == [] and schedule["seed"] is None
    assert not (run_dir / "scratch").exists()
    assert not list(run_dir.glob(".*"))  # no temporary files left


def test_bad_profile_exits_2_with_one_line_and_no_run(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    out = tmp_path / "runs"
    res = run_twin("--batch", str(write_profile('description = "no name"\n')), "--out", str(out))
    assert res.returncode == 2
    assert "name" in res.stderr and "Traceback" not in res.stderr
    assert run_dirs(out) == []


def test_missing_profile_exits_2(tmp_path: Path) -> None:
    res = run_twin("--batch", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "runs"))
    assert res.returncode == 2 and "nope.toml" in res.stderr and "Traceback" not in res.stderr


def test_unusable_output_dir_is_refused_before_anything_runs(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    res = run_twin("--batch", str(write_profile(QUIET)), "--out", str(blocker / "runs"))
    assert res.returncode == 2
    assert "output directory" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signal_stops_the_run_in_order(
    tmp_path: Path, write_profile: Callable[..., Path], sig: signal.Signals
) -> None:
    out = tmp_path / "runs"
    profile = write_profile(QUIET.replace("baseline_s = 3", "baseline_s = 30"))
    proc = subprocess.Popen(
        [*TWIN, "--batch", str(profile), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.0)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 1, stderr
    run_dir = Path(stdout.strip().splitlines()[-1])
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "stopped" and sig.name in manifest["stop_reason"]
    assert check_run(run_dir).returncode == 0
    assert 2 <= manifest["sample_count"] <= 5


def test_kill_9_leaves_readable_files_and_next_start_repairs_them(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    out = tmp_path / "runs"
    profile = write_profile(QUIET.replace("baseline_s = 3", "baseline_s = 30"))
    proc = subprocess.Popen(
        [*TWIN, "--batch", str(profile), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    rows_before: list[dict[str, str]] = []
    while len(rows_before) < 3 and time.monotonic() < deadline:  # kill once rows are written
        time.sleep(0.1)
        found = run_dirs(out) if out.exists() else []
        dataset = found[0] / "system_metrics_dataset.csv" if found else None
        if dataset is not None and dataset.exists():
            rows_before = list(csv.DictReader(dataset.open()))
    proc.kill()
    proc.wait(5)
    (run_dir,) = run_dirs(out)
    dataset = run_dir / "system_metrics_dataset.csv"
    rows_before = list(csv.DictReader(dataset.open()))
    assert len(rows_before) >= 3
    with dataset.open("a") as f:  # the torn line a kill mid-write can leave
        f.write("2026-11-23T00:00:00.000Z,99.0,1")
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"
    res = run_twin("recover", str(out))
    assert res.returncode == 0 and "interrupted" in res.stdout and "torn" in res.stdout
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["sample_count"] == len(rows_before)
    assert check_run(run_dir).returncode == 0
    assert run_twin("recover", str(out)).stdout.strip().endswith("nothing to repair")
