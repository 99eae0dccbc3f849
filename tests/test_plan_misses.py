"""A run that cannot hold its plan says so: per event, in run.json and on stderr.

A late start is made for real with a stressor that is slow to start (a fake that sleeps, through
the real runner); a target that cannot be reached with a real disk stressor asked for a rate no
disk has. Each must reach the three places a user looks.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.plan_misses import LATE_START_S, TargetWatch, late_start, summary, target_of
from core.runner import ExperimentRun
from core.schedule import Event, Schedule
from tests.conftest import check_run, run_twin


@dataclass(frozen=True)
class Exit:
    ok: bool
    reason: str = ""


class SlowHandle:
    def __init__(self) -> None:
        self.stopped = threading.Event()

    def poll(self) -> Exit | None:
        return None

    def stop(self, grace_s: float = 2.0) -> Exit:
        self.stopped.set()
        return Exit(True)

    def work(self) -> dict[str, float]:
        return {"stress_cpu_loops_per_s": 1.0}


def slow_to_start(slow: set[str], delay_s: float) -> Callable[..., SlowHandle]:
    def start(
        kind: str, params: Mapping[str, Any], duration: float, scratch: Path, eid: str
    ) -> SlowHandle:
        if eid in slow:
            time.sleep(delay_s)
        return SlowHandle()

    return start


def annotations(run_dir: Path) -> dict[str, dict[str, str]]:
    return {r["event_id"]: r for r in csv.DictReader((run_dir / "annotations.csv").open())}


def test_a_late_start_is_in_the_message_and_counted(tmp_path: Path) -> None:
    events = (
        Event("on-time", "cpu", {"load_percent": 10}, 0.3, 0.6),
        Event("late", "cpu", {"load_percent": 10}, 0.5, 0.6),
    )
    sched = Schedule("late", "parallel", events, 2.0, interval_s=0.1, baseline_s=0.3)
    run = ExperimentRun(sched, tmp_path, start_stressor=slow_to_start({"late"}, 0.4))
    run.prepare()
    run.start()
    result = run.wait(timeout=30)
    assert result is not None and result.status == "completed" and result.run_dir is not None
    ann = annotations(result.run_dir)
    assert ann["on-time"]["message"] == ""
    assert "ms late" in ann["late"]["message"] and ann["late"]["status"] == "completed"
    assert float(ann["late"]["start_elapsed_s"]) - 0.5 > LATE_START_S
    manifest = json.loads((result.run_dir / "run.json").read_text())
    assert manifest["plan_misses"] == {"late_starts": 1, "targets_missed": 0}
    assert check_run(result.run_dir).returncode == 0


def test_an_unreachable_disk_rate_is_reported_in_all_three_places(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    profile = write_profile(
        """
name = "too-fast"
[sampling]
interval_s = 0.5
[run]
baseline_s = 1
[[events]]
stressor = "disk"
duration_s = 2.5
params = { mode = "write", file_mb = 16, rate_mb_s = 900000, fsync = false }
"""
    )
    res = run_twin("--batch", str(profile), "--out", str(tmp_path / "runs"), timeout=120)
    assert res.returncode == 0, res.stderr
    run_dir = Path(res.stdout.strip().splitlines()[-1])
    (row,) = annotations(run_dir).values()
    assert row["status"] == "completed"
    assert row["message"].startswith("disk target missed: best "), row
    assert json.loads((run_dir / "run.json").read_text())["plan_misses"]["targets_missed"] == 1
    ended = [ln for ln in res.stderr.splitlines() if "disk completed" in ln]
    assert len(ended) == 1 and "target missed" in ended[0], res.stderr
    assert "did not hold its plan" in res.stderr and "1 missed" in res.stderr, res.stderr
    assert check_run(run_dir).returncode == 0


def test_a_run_that_held_its_plan_says_nothing(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    profile = write_profile(
        """
name = "held"
[sampling]
interval_s = 0.5
[run]
baseline_s = 1
[[events]]
stressor = "memory"
duration_s = 2
params = { size_mb = 64 }
"""
    )
    res = run_twin("--batch", str(profile), "--out", str(tmp_path / "runs"), timeout=120)
    assert res.returncode == 0, res.stderr
    run_dir = Path(res.stdout.strip().splitlines()[-1])
    (row,) = annotations(run_dir).values()
    assert row["status"] == "completed" and row["message"] == "", row
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["plan_misses"] == {"late_starts": 0, "targets_missed": 0}
    assert "did not hold its plan" not in res.stderr


def test_targets_and_notes() -> None:
    memory = Event("m", "memory", {"size_mb": 100}, 1.0, 4.0)
    assert target_of(memory) == ("memory", 100 * 2**20)
    ramped = Event("m", "memory", {"size_mb": 100, "ramp_s": 8.0}, 1.0, 4.0)
    assert target_of(ramped) == ("memory", 50 * 2**20)  # half the ramp fits in the event
    assert target_of(Event("d", "disk", {"mode": "write"}, 0.0, 2.0)) is None  # no cap
    assert target_of(Event("c", "cpu", {"load_percent": 50}, 0.0, 2.0)) is None
    assert late_start(memory, 1.0 + LATE_START_S) == ""
    assert late_start(memory, 3.3) == "started 2300 ms late (the promise is +100 ms)"
    watch = TargetWatch(("memory", 100 * 2**20))
    assert watch.missed() == ""  # never reported: not judged
    watch.observe({"stress_mem_resident_bytes": 40 * 2**20}, {"limited": "MemAvailable low"})
    assert watch.missed() == "memory target missed: reached 40 of 100 MiB (MemAvailable low)"
    watch.observe({"stress_mem_resident_bytes": 99 * 2**20}, {})
    assert watch.missed() == ""
    assert summary({"late_starts": 0, "targets_missed": 0}) == ""
    assert "2 event(s) started more than 100 ms late" in summary({"late_starts": 2})


def test_every_started_thread_is_gone_after_a_real_run(tmp_path: Path) -> None:
    """Launch threads wait for their stressor's reaping, then end: none outlives the run."""
    code = f"""
import threading
from pathlib import Path
from core.runner import ExperimentRun
from core.schedule import Event, Schedule
events = (Event("c", "cpu", {{"load_percent": 20, "workers": 1}}, 0.5, 1.0),)
run = ExperimentRun(Schedule("t", "parallel", events, 2.0, interval_s=0.5), Path({str(tmp_path)!r}))
run.prepare(); run.start(); result = run.wait(timeout=60)
import time; time.sleep(0.2)
names = [t.name for t in threading.enumerate() if t.name.startswith("twin-launch")]
print(result.status, names)
"""
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert res.stdout.strip() == "completed []", res.stderr
