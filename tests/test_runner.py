"""The runner over fake stressors: timing on the run clock, annotations, failures, ad-hoc events."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.runner import ExperimentRun, RunResult
from core.schedule import Event, Schedule

from conftest import check_run


@dataclass(frozen=True)
class Exit:
    ok: bool
    reason: str = ""


class FakeHandle:
    def __init__(self, die_after: float | None = None) -> None:
        self.stopped = threading.Event()
        self.timer = threading.Timer(die_after, self.stopped.set) if die_after else None
        self.died = die_after is not None
        if self.timer:
            self.timer.start()

    def poll(self) -> Exit | None:
        if self.died and self.stopped.is_set():
            return Exit(False, "killed by SIGKILL")
        return None

    def stop(self, grace_s: float = 2.0) -> Exit:
        self.stopped.set()
        return Exit(True)

    def work(self) -> dict[str, float]:
        return {"stress_cpu_loops_per_s": 1000.0}


class FakeStressors:
    def __init__(self, die: set[str] | None = None) -> None:
        self.started: list[str] = []
        self.die = die or set()

    def __call__(
        self, kind: str, params: Mapping[str, Any], duration: float, scratch: Path, eid: str
    ) -> FakeHandle:
        assert scratch.is_dir()
        self.started.append(eid)
        return FakeHandle(die_after=0.3 if eid in self.die else None)


def schedule(*events: Event, total: float) -> Schedule:
    return Schedule("fake", "parallel", events, total, interval_s=0.1, baseline_s=0.5)


def run(sched: Schedule, out: Path, stressors: FakeStressors) -> RunResult:
    r = ExperimentRun(sched, out, start_stressor=stressors)
    r.prepare()
    r.start()
    result = r.wait(timeout=30)
    assert result is not None
    return result


def annotations(run_dir: Path) -> dict[str, dict[str, str]]:
    return {r["event_id"]: r for r in csv.DictReader((run_dir / "annotations.csv").open())}


def test_events_start_on_plan_and_are_annotated(tmp_path: Path) -> None:
    fake = FakeStressors()
    sched = schedule(
        Event("e01", "cpu", {"load_percent": 50}, 0.5, 1.0, "half"),
        Event("e02", "memory", {"size_mb": 64}, 1.0, 1.0),
        total=2.5,
    )
    result = run(sched, tmp_path, fake)
    assert result.status == "completed" and result.exit_code == 0
    assert result.run_dir is not None and check_run(result.run_dir).returncode == 0
    ann = annotations(result.run_dir)
    for eid, planned in (("e01", 0.5), ("e02", 1.0)):
        row = ann[eid]
        assert row["status"] == "completed"
        assert abs(float(row["start_elapsed_s"]) - planned) < 0.1  # within 100 ms of plan
        assert abs(float(row["end_elapsed_s"]) - float(row["start_elapsed_s"]) - 1.0) < 0.15
    assert json.loads(ann["e01"]["params"]) == {"load_percent": 50}
    rows = list(csv.DictReader((result.run_dir / "system_metrics_dataset.csv").open()))
    both = [r for r in rows if r["active_events"] == "e01;e02"]
    assert both and all(float(r["stress_cpu_loops_per_s"]) == 2000.0 for r in both)
    assert (result.run_dir / "schedule.json").read_text() == sched.dumps()


def test_a_dying_stressor_fails_its_event_and_the_run_goes_on(tmp_path: Path) -> None:
    fake = FakeStressors(die={"e01"})
    sched = schedule(
        Event("e01", "cpu", {}, 0.2, 2.0),
        Event("e02", "cpu", {}, 1.5, 0.5),
        total=2.5,
    )
    result = run(sched, tmp_path, fake)
    assert result.status == "failed" and result.exit_code == 1
    assert result.run_dir is not None
    ann = annotations(result.run_dir)
    assert ann["e01"]["status"] == "failed" and "SIGKILL" in ann["e01"]["message"]
    # noticed within a second of dying (0.3 s after start)
    assert float(ann["e01"]["end_elapsed_s"]) - float(ann["e01"]["start_elapsed_s"]) < 1.3
    assert ann["e02"]["status"] == "completed"
    manifest = json.loads((result.run_dir / "run.json").read_text())
    assert manifest["status"] == "failed" and "e01" in manifest["stop_reason"]


def test_adhoc_launch_and_stop_are_annotated(tmp_path: Path) -> None:
    fake = FakeStressors()
    r = ExperimentRun(schedule(total=3.0), tmp_path, start_stressor=fake)
    r.prepare()
    r.start()
    threading.Event().wait(0.5)
    eid = r.launch("cpu", {"load_percent": 30}, 10.0)
    threading.Event().wait(0.8)
    assert [s.event.id for s in r.active_events] == [eid]
    r.stop_event(eid)
    result = r.wait(timeout=10)
    assert result is not None and result.status == "completed"
    assert result.run_dir is not None
    row = annotations(result.run_dir)[eid]
    assert row["status"] == "aborted" and "operator" in row["message"]
    assert check_run(result.run_dir).returncode == 0


def test_stop_aborts_running_events(tmp_path: Path) -> None:
    fake = FakeStressors()
    r = ExperimentRun(
        schedule(Event("e01", "cpu", {}, 0.2, 20.0), total=30.0), tmp_path, start_stressor=fake
    )
    r.prepare()
    r.start()
    threading.Event().wait(0.8)
    r.stop("SIGTERM")
    result = r.wait(timeout=10)
    assert result is not None and result.status == "stopped" and result.exit_code == 1
    assert result.run_dir is not None
    assert annotations(result.run_dir)["e01"]["status"] == "aborted"
    assert check_run(result.run_dir).returncode == 0
