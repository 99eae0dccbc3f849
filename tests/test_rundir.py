"""The run directory's one home (core.rundir): its writer and its reader agree, names live once."""

from __future__ import annotations

import ast
import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.event_lifecycle import EventState
from core.model import load_training_run
from core.recovery import recover_run
from core.rundir import layout
from core.rundir.read import load_run, read_annotation_rows, read_manifest
from core.rundir.write import RunDirectoryWriter
from core.schedule import Event, Schedule
from core.telemetry import columns as C
from core.telemetry.logger import RunClock, expected_samples
from core.telemetry.sampler import Sample, SystemSampler
from tests.synthetic import Response, SynthEvent, write_bundle

from conftest import ROOT, check_run

BUNDLE_NAMES = {
    layout.DATASET,
    layout.ANNOTATIONS,
    layout.SCHEDULE,
    layout.MANIFEST,
    layout.PROFILE_COPY,
    layout.PREDICTION,
}


def _docstrings(tree: ast.AST) -> set[int]:
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }


def test_only_the_layout_spells_bundle_names_and_default_dirs() -> None:
    """A string that *is* a bundle file name or a default directory is written once."""
    wrong: list[str] = []
    for package in ("core", "cli", "tui"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "core" / "rundir" / "layout.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docs = _docstrings(tree)
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                    continue
                text = node.value.strip("/")
                if id(node) not in docs and (
                    text in BUNDLE_NAMES or text.startswith(("data/runs", "data/models"))
                ):
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert wrong == []


class RealSampler:
    """The real /proc sampler, read on demand (the run clock is the test's)."""

    def __init__(self) -> None:
        self.system = SystemSampler()
        self.columns = self.system.columns + C.QUALITY + C.STRESS_WORK
        self.system.prime(time.monotonic())

    def read(self, elapsed_s: float) -> dict[str, float]:
        values = self.system.read(time.monotonic())
        values["sample_interval_s"] = 1.0
        return values


def _schedule(tmp: Path) -> Schedule:
    events = (
        Event("e01", "cpu", {"load_percent": 50}, 1.0, 2.0, "half"),
        Event("e02", "memory", {"size_mb": 64}, 2.0, 4.0, "killed"),
    )
    return Schedule("writer-test", "sequential", events, 6.0, 1.0, 1.0, 7)


def test_what_the_writer_writes_the_reader_reads(tmp_path: Path) -> None:
    """A run written through RunDirectoryWriter (as ExperimentRun does) passes the bundle
    checker and loads back with the same events, times, statuses and manifest."""
    schedule = _schedule(tmp_path)
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    files = RunDirectoryWriter.create(tmp_path / "runs", schedule, started)
    sampler = RealSampler()
    files.write_plan(schedule, 'name = "writer-test"\n', sampler.columns, started)
    clock = RunClock(mono0=0.0, wall0=started)
    files.clock_started(clock)
    states = {e.id: EventState(e) for e in schedule.events}
    first, second = states["e01"], states["e02"]
    first.status, first.start_elapsed_s = "running", 1.02
    files.event_started(first)
    for k in range(1, expected_samples(schedule.total_s, schedule.interval_s) + 1):
        values = sampler.read(float(k))
        active = ("e01",) if 1.0 < k <= 3.0 else ()
        files.sample(Sample(clock.wall_at(k), float(k), values, active))
        if k == 3:
            first.status, first.end_elapsed_s = "completed", 3.01
            files.event_ended(first)
    second.status, second.start_elapsed_s, second.message = "running", 2.0, ""
    files.event_started(second)  # never ends: as if the run were killed during it
    message = files.finish("completed", 0, "")
    assert message == ""
    run_dir = files.run_dir
    assert not list(run_dir.glob(f".*{layout.TMP_MARK}*")), "spares and temp files are gone"
    assert (run_dir / layout.PROFILE_COPY).read_text() == 'name = "writer-test"\n'

    bundle = load_run(run_dir)
    assert len(bundle.dataset) == 6
    assert bundle.interval_s == 1.0
    assert bundle.manifest["status"] == "completed" and bundle.manifest["sample_count"] == 6
    assert bundle.profile == "writer-test"
    events = bundle.events.set_index("event_id")
    assert events.loc["e01", "status"] == "completed"
    assert events.loc["e01", "start_s"] == pytest.approx(1.02)
    assert events.loc["e01", "end_s"] == pytest.approx(3.01)
    assert json.loads(events.loc["e01", "params"]) == {"load_percent": 50}
    # no recorded end: the planned duration from the actual start, capped at the last sample
    assert not events.loc["e02", "end_known"]
    assert events.loc["e02", "end_s"] == pytest.approx(6.0)
    rows = read_annotation_rows(run_dir)
    assert [r["event_id"] for r in rows] == ["e01", "e02"] and rows[1]["end_elapsed_s"] == ""
    manifest = read_manifest(run_dir)
    assert manifest is not None and manifest["run_id"] == run_dir.name


def test_a_run_written_by_the_writer_passes_the_bundle_checker(tmp_path: Path) -> None:
    schedule = _schedule(tmp_path)
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    files = RunDirectoryWriter.create(tmp_path / "runs", schedule, started)
    sampler = RealSampler()
    files.write_plan(schedule, "", sampler.columns, started)
    clock = RunClock(mono0=0.0, wall0=started)
    files.clock_started(clock)
    for k in range(1, 7):
        active = tuple(e.id for e in schedule.events if e.start_s < k <= e.end_s)
        files.sample(Sample(clock.wall_at(k), float(k), sampler.read(float(k)), active))
    for event in schedule.events:
        state = EventState(event, status="running", start_elapsed_s=event.start_s)
        files.event_started(state)
        state.status, state.end_elapsed_s = "completed", event.end_s
        files.event_ended(state)
    files.finish("completed", 0, "")
    checked = check_run(files.run_dir)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_killed_events_end_is_assumed_once_for_analysis_and_the_model(tmp_path: Path) -> None:
    """The analysis reader and the model's training loader take the same end for an event a
    kill left open: its planned duration from its actual start, at most the last sample."""
    events = [
        SynthEvent("e01", "cpu", 10.0, 10.0, {"load_percent": 50}, {"cpu_percent": Response(40)}),
        SynthEvent(
            "e02",
            "cpu",
            30.0,
            20.0,
            {"load_percent": 80},
            {"cpu_percent": Response(60)},
            status="running",
        ),
    ]
    run = write_bundle(tmp_path / "killed", events, duration_s=40.0)
    bundle = load_run(run)
    ends = dict(zip(bundle.events["event_id"], bundle.events["end_s"], strict=True))
    assert ends["e01"] == pytest.approx(20.0)
    assert ends["e02"] == pytest.approx(40.0)  # planned 50 s, but the data stop at 40 s
    training = load_training_run(run)
    assert [(p.start_s, p.end_s) for p in training.pulses] == [(10.0, 20.0), (30.0, 40.0)]
    assert training.interval_s == bundle.interval_s == 1.0
    assert training.profile_name == bundle.profile == "synthetic"


def test_recovery_reads_and_repairs_through_the_rundir_readers(tmp_path: Path) -> None:
    """A run left `running` by a dead owner: recovery marks it and its open event interrupted."""
    schedule = _schedule(tmp_path)
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    files = RunDirectoryWriter.create(tmp_path / "runs", schedule, started)
    sampler = RealSampler()
    files.write_plan(schedule, "", sampler.columns, started)
    clock = RunClock(mono0=0.0, wall0=started)
    files.clock_started(clock)
    state = EventState(schedule.events[0], status="running", start_elapsed_s=1.0)
    files.event_started(state)
    files.release()  # the owner "dies": its lock goes, run.json still says running
    notes = recover_run(files.run_dir)
    assert "marked the run interrupted" in notes
    manifest = read_manifest(files.run_dir)
    assert manifest is not None and manifest["status"] == "interrupted"
    [row] = read_annotation_rows(files.run_dir)
    assert row["status"] == "interrupted"
    assert not (files.run_dir / layout.SCRATCH).exists()
    assert math.isnan(load_run(files.run_dir).events.set_index("event_id").loc["e02", "start_s"])
