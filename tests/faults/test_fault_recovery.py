"""Promise 2: nothing recorded is lost but the last interval. After kill -9 the files are
readable and complete up to the last sample; the next twin on the same runs directory repairs
them and says so; JSON is never torn; stale temporary files are swept; and the checks used
here catch a corrupted file when one is planted on purpose."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from faultkit import (
    CPU_30S,
    DATASET,
    annotations,
    assert_rows_contiguous,
    dataset_rows,
    manifest,
    only_run,
    profile_text,
    run_dirs,
    running_stressor,
    start_twin,
    tag_guard,
    wait_for,
    wait_gone,
)

from core.recovery import recover_run, recover_runs, sweep_temporary

from conftest import ROOT, check_run, run_twin

pytestmark = pytest.mark.slow
QUIET = profile_text(name="quiet", interval=0.1, baseline=1.2)


def test_kill_9_mid_event_loses_only_the_last_interval_and_the_next_start_repairs(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    out = tmp_path / "runs"
    profile = write_profile(profile_text(CPU_30S, interval=0.2))
    with tag_guard() as tag:
        twin = start_twin(tag, "--batch", str(profile), "--out", str(out))
        running_stressor(tag, "e01")
        run_dir = only_run(out)
        wait_for(lambda: len(dataset_rows(run_dir)) >= 8, 10)
        seen = len(dataset_rows(run_dir))
        twin.kill()
        twin.wait(5)
        killed_at = time.monotonic()
        assert wait_gone(tag) == []
    # readable and complete up to the last sample, right after the kill, before any repair
    rows = dataset_rows(run_dir)
    assert len(rows) >= seen
    assert_rows_contiguous(rows, 0.2)
    assert annotations(run_dir)["e01"]["status"] == "running"
    assert "e01" in rows[-1]["active_events"]
    assert manifest(run_dir)["status"] == "running"
    for name in ("run.json", "schedule.json"):
        json.loads((run_dir / name).read_text())
    # what a kill in the middle of a write can also leave: a torn row and a temporary file
    with (run_dir / DATASET).open("a") as f:
        f.write(rows[-1]["timestamp"] + ",99.0,12.5,")
    (run_dir / ".annotations.csv.tmp-k1ll3d").write_text("event_id,stre")
    assert check_run(run_dir).returncode == 1  # the torn row is caught before the repair

    res = run_twin("--batch", str(write_profile(QUIET, "quiet.toml")), "--out", str(out))
    assert res.returncode == 0, res.stderr
    said = [ln for ln in res.stderr.splitlines() if ln.startswith(f"twin: recovered {run_dir}")]
    assert len(said) == 1, res.stderr
    for note in ("torn last line", "1 open event(s) interrupted", "temporary file", "interrupted"):
        assert note in said[0], said[0]
    info = manifest(run_dir)
    assert info["status"] == "interrupted" and info["sample_count"] == len(rows)
    assert annotations(run_dir)["e01"]["status"] == "interrupted"
    assert dataset_rows(run_dir) == rows  # every complete row kept, only the torn one cut
    assert not list(run_dir.glob(".*")) and not (run_dir / "scratch").exists()
    assert check_run(run_dir).returncode == 0
    assert time.monotonic() - killed_at < 30
    assert len(run_dirs(out)) == 2


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real, completed bundle (12 rows at 0.1 s) to cut copies of."""
    base = tmp_path_factory.mktemp("finished")
    (base / "quiet.toml").write_text(QUIET)
    res = run_twin("--batch", str(base / "quiet.toml"), "--out", str(base / "runs"))
    assert res.returncode == 0, res.stderr
    return Path(res.stdout.strip().splitlines()[-1])


def _as_killed(src: Path, dst: Path) -> Path:
    """A copy of a finished run as kill -9 leaves one: run.json still says running."""
    shutil.copytree(src, dst)
    info = manifest(dst)
    info.update(status="running", exit_code=None, ended_at=None, pid=2**22 + 1)
    (dst / "run.json").write_text(json.dumps(info))
    return dst


def test_a_cut_anywhere_in_the_dataset_keeps_exactly_the_complete_rows(
    finished_run: Path, tmp_path: Path
) -> None:
    """Like Prometheus' WAL tests: cut the file mid-record at many points, count what survives."""
    data = (finished_run / DATASET).read_bytes()
    ends = [i + 1 for i, b in enumerate(data) if b == ord("\n")]  # after header, row 1, ...
    rng = random.Random(8)
    cuts = sorted({*ends[1:], *(rng.randrange(ends[0], len(data)) for _ in range(25))})
    for n, cut in enumerate(cuts):
        run_dir = _as_killed(finished_run, tmp_path / f"cut{n}")
        with (run_dir / DATASET).open("rb+") as f:
            f.truncate(cut)
        complete = sum(1 for e in ends[1:] if e <= cut)
        notes = recover_run(run_dir)
        assert ("cut a torn last line from the dataset" in notes) == (cut not in ends), cut
        assert len(dataset_rows(run_dir)) == complete == manifest(run_dir)["sample_count"]
        assert (run_dir / DATASET).read_bytes() == data[: ends[complete]]
        assert check_run(run_dir).returncode == 0, (cut, check_run(run_dir).stdout)


def test_a_corrupted_line_in_the_middle_is_caught_negative_control(
    finished_run: Path, tmp_path: Path
) -> None:
    """The checks must be able to fail: plant damage recovery must not hide."""
    lines = (finished_run / DATASET).read_text().splitlines(keepends=True)
    damage = {
        "a field lost": lambda ln: ln.replace(",", "", 1),
        "a number garbled": lambda ln: ",".join(
            f"x{v}" if i == 2 else v for i, v in enumerate(ln.split(","))
        ),
        "torn in the middle": lambda ln: ln[: len(ln) // 2] + "\n",
    }
    for n, (what, spoil) in enumerate(damage.items()):
        run_dir = tmp_path / f"bad{n}"
        shutil.copytree(finished_run, run_dir)
        bad = list(lines)
        bad[6] = spoil(bad[6])  # dataset line 7: a row in the middle
        (run_dir / DATASET).write_text("".join(bad))
        res = check_run(run_dir)
        assert res.returncode == 1 and "dataset line 7" in res.stdout, (what, res.stdout)
        # recovery only cuts a torn *last* line: it never silently drops a middle row
        _as_killed(run_dir, tmp_path / f"bad{n}-killed")
        recover_run(tmp_path / f"bad{n}-killed")
        assert check_run(tmp_path / f"bad{n}-killed").returncode == 1, what
    garbled = tmp_path / "garbled-json"
    shutil.copytree(finished_run, garbled)
    (garbled / "run.json").write_text('{"status": "run')  # a torn JSON is caught too
    assert check_run(garbled).returncode == 1


# A writer killed at random moments while it rewrites run.json and annotations.csv the way a
# run does (bigger and bigger, atomically).
WRITER = r"""
import sys
from pathlib import Path
from core.rundir.atomic import write_json_atomic
from core.rundir.write import AnnotationLog
d = Path(sys.argv[1])
log = AnnotationLog(d / "annotations.csv")
n = 0
while True:
    n += 1
    data = {"n": n, "pad": "x" * (n % 5000), "list": list(range(n % 300))}
    write_json_atomic(d / "run.json", data)
    log.started({"event_id": f"e{n % 400:03d}", "label": "y" * (n % 700), "params": "{}"})
    if n == 1:  # a first whole file exists: from here on a kill can only tear a rewrite
        print("ready", flush=True)
"""


def test_json_and_annotations_are_never_torn_by_kill_9(tmp_path: Path) -> None:
    rng = random.Random(2)
    for i in range(8):
        d = tmp_path / f"w{i}"
        d.mkdir()
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(d)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.05, 0.4))
        writer.kill()
        writer.wait()
        assert json.loads((d / "run.json").read_text())["n"] >= 1  # whole, never torn
        rows = list(annotations(d).values())
        assert all(r["params"] == "{}" for r in rows)  # every row whole
        leftovers = list(d.glob(".*.tmp-*"))
        assert sweep_temporary(d) == len(leftovers) and not list(d.glob(".*"))


def test_a_live_run_is_never_repaired_by_a_concurrent_start(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    """Recovery tells a live run by its owner lock, not by its pid or command line: `twin recover`
    leaves a running one alone (it then completes normally). No path in the command line says
    "twin" here, which fooled the old pid + command-line guess."""
    out = tmp_path / "runs"
    profile = write_profile(profile_text(name="live", interval=0.2, baseline=3.0))
    with tag_guard() as tag:
        twin = start_twin(tag, "--batch", str(profile), "--out", str(out))
        run_dir = wait_for(lambda: run_dirs(out) and (run_dirs(out)[0] / "run.json").is_file(), 10)
        assert run_dir
        res = run_twin("recover", str(out))
        assert res.stdout.strip().endswith("nothing to repair"), res.stdout
        assert recover_runs(out) == {}
        _, err = twin.communicate(timeout=20)
    assert twin.returncode == 0, err
    info = manifest(only_run(out))
    assert info["status"] == "completed" and "recovered_at" not in info
    assert os.path.isdir(out)
