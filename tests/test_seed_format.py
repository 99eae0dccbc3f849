"""The seed project's formats: `twin import seed` and `twin export --format seed`, for real.

The seed files are written the way the seed's logger and runners write them (tests/seed_files.py):
both annotation forms in one file, an unpaired start, Windows paths, a lagged logger row.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from seed_files import (
    CPUS,
    SEED_HEADER,
    Busy,
    end_row,
    interval_row,
    start_row,
    write_annotations,
    write_dataset,
    write_schedule,
)

from core.profile import load_profile

from conftest import check_run, run_twin

MIB = 2**20
CPU_CMD = r"python C:\Users\ana\seed\stressors\cpu_stress.py --procs 2 --duration 10"
DISK_CMD = r"python C:\Users\ana\seed\stressors\disk_stress.py --size_mb 64 --block_mb 4"
MEM_CMD = r"python C:\Users\ana\seed\stressors\mem_stress.py --step_mb 32 --steps 2 --sleep 1"


@pytest.fixture
def seed_dir(tmp_path: Path) -> Path:
    d = tmp_path / "seed"
    d.mkdir()
    busy = [Busy(10, 20, cpu=95.0), Busy(25, 32, write_mb=80.0)]
    write_dataset(d / "system_metrics_dataset.csv", 40, busy, skip=(35,))
    write_annotations(
        d / "annotations.csv",
        [
            start_row(10, "cpu_spike", 4242, CPU_CMD),
            end_row(20, "cpu_spike", 4242),
            interval_row(10, 20, "cpu_spike", CPU_CMD),  # the runner's line for the same event
            interval_row(25, 32, "disk_io", DISK_CMD),
            start_row(36, "memory_load", 4300, MEM_CMD),  # never ended
        ],
    )
    write_schedule(
        d / "schedule.json",
        [
            ("cpu_spike", 10, 10, CPU_CMD),
            ("disk_io", 25, 7, DISK_CMD),
            ("memory_load", 36, 30, MEM_CMD),
        ],
    )
    return d


def import_seed(seed: Path, out: Path, *extra: str) -> Path:
    done = run_twin(
        "import", "seed", str(seed / "system_metrics_dataset.csv"),
        "--annotations", str(seed / "annotations.csv"), "--schedule", str(seed / "schedule.json"),
        "-o", str(out), *extra,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    assert run_dir.is_dir() and run_dir.parent == out
    return run_dir


def read_run(run_dir: Path) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    data = pd.read_csv(run_dir / "system_metrics_dataset.csv", keep_default_na=True)
    with (run_dir / "annotations.csv").open(newline="") as f:
        return data, list(csv.DictReader(f))


def test_seed_files_become_a_run_bundle_the_checker_accepts(seed_dir: Path, tmp_path: Path) -> None:
    run_dir = import_seed(seed_dir, tmp_path / "runs", "--timezone", "UTC")
    checked = check_run(run_dir)
    assert checked.returncode == 0, checked.stdout
    data, ann = read_run(run_dir)

    assert len(data) == 39  # 40 seconds, one row the logger lost
    assert data["timestamp"].iloc[0] == "2025-03-14T09:00:01.000Z"
    # what the seed cannot know stays absent: per-core CPU, disk operations, load
    for col in [f"cpu{i}_percent" for i in range(CPUS)] + ["disk_read_ops_per_s", "load_1m"]:
        assert data[col].isna().all(), col
    assert "cpu_freq_mhz" not in data.columns and "psi_cpu_some_percent" not in data.columns
    # MiB moved since the previous row -> bytes per second over the real spacing
    t = data.set_index("elapsed_s")
    assert t.loc[30.0, "disk_write_bytes_per_s"] == pytest.approx(80 * MIB, rel=1e-6)
    assert t.loc[36.0, "sample_interval_s"] == 2.0  # the row after the lost one
    assert t.loc[36.0, "disk_write_bytes_per_s"] == pytest.approx(0.5 * MIB, rel=1e-6)
    assert math.isnan(data["disk_write_bytes_per_s"].iloc[0])  # no previous row, no rate
    assert t.loc[15.0, "cpu_percent"] == 95.0
    assert t.loc[15.0, "mem_used_bytes"] == pytest.approx((15.5 - 9.3) * 2**30, abs=1)

    # both annotation forms, the same event written twice counted once, the unpaired start kept
    assert [(a["event_id"], a["stressor"], a["status"]) for a in ann] == [
        ("e01", "cpu", "completed"),
        ("e02", "disk", "completed"),
        ("e03", "memory", "interrupted"),
    ]
    assert json.loads(ann[0]["params"]) == {"workers": 2}
    assert json.loads(ann[1]["params"]) == {"file_mb": 64, "block_kb": 4096}
    assert json.loads(ann[2]["params"]) == {"size_mb": 64, "ramp_s": 1.0}
    assert ann[0]["label"] == CPU_CMD  # backslashes kept verbatim
    assert (ann[0]["start_elapsed_s"], ann[0]["end_elapsed_s"]) == ("10.000", "20.000")
    assert ann[2]["end_elapsed_s"] == "" and "never recorded an end" in ann[2]["message"]
    assert t.loc[15.0, "active_events"] == "e01"
    assert t.loc[40.0, "active_events"] == "e03"  # never ended: running to the end
    assert pd.isna(t.loc[5.0, "active_events"])

    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["source"]["format"] == "seed"
    assert manifest["source"]["dataset"] == str(seed_dir / "system_metrics_dataset.csv")
    assert manifest["host"]["logical_cpus"] == CPUS and manifest["status"] == "completed"

    # the schedule as a profile with its exact events
    profile = load_profile(run_dir / "profile.toml", scratch_dir=tmp_path)
    assert profile.mode == "parallel"
    assert [(e.stressor, e.start_s, e.duration_s) for e in profile.events] == [
        ("cpu", 0, 10),
        ("disk", 15, 7),
        ("memory", 26, 30),
    ]
    assert profile.events[0].params == {"workers": 2} and profile.events[0].label == CPU_CMD


def test_twin_analyze_works_on_an_imported_run(seed_dir: Path, tmp_path: Path) -> None:
    run_dir = import_seed(seed_dir, tmp_path / "runs")
    done = run_twin("analyze", str(run_dir), "--no-plots", "-q")
    assert done.returncode == 0, done.stderr
    responses = pd.read_csv(run_dir / "analysis" / "responses.csv")
    cpu = responses[(responses.event_id == "e01") & (responses.metric == "cpu_percent")].iloc[0]
    assert cpu["change"] == pytest.approx(92.0)
    assert bool(cpu["detectable"])


def test_unreadable_lines_are_reported_or_skipped_with_a_count(
    seed_dir: Path, tmp_path: Path
) -> None:
    dataset = seed_dir / "system_metrics_dataset.csv"
    lines = dataset.read_text().splitlines()
    lines[5] = lines[5].replace(",3.0,", ",three,", 1)
    lines[9] = lines[9][:30]  # a line cut short
    dataset.write_text("\n".join(lines) + "\n")
    with (seed_dir / "annotations.csv").open("a") as f:
        f.write("2025-03-14 09:00:50,end,cpu_spike | PID=999\n")
    out = tmp_path / "runs"
    done = run_twin(
        "import", "seed", str(dataset), "--annotations", str(seed_dir / "annotations.csv"),
        "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"{dataset}:6: cpu_percent: 'three' is not a number",
        f"{dataset}:10: 5 fields, the header has 17",
        f"{seed_dir / 'annotations.csv'}:7: end for PID 999 without a start",
    ]
    assert not out.exists() or not any(out.iterdir())  # nothing half-written

    run_dir = import_seed(seed_dir, out, "--skip-bad")
    assert check_run(run_dir).returncode == 0
    source = json.loads((run_dir / "run.json").read_text())["source"]
    assert source["skipped_lines"] == {str(dataset): 2, str(seed_dir / "annotations.csv"): 1}
    data, _ = read_run(run_dir)
    assert len(data) == 37
    t = data.set_index("elapsed_s")
    assert math.isnan(t.loc[6.0, "disk_write_bytes_per_s"])  # after a skipped row: no rate
    assert t.loc[7.0, "disk_write_bytes_per_s"] == pytest.approx(0.5 * MIB, rel=1e-6)


def test_a_twin_dataset_is_not_taken_for_a_seed_one(tmp_path: Path) -> None:
    path = tmp_path / "system_metrics_dataset.csv"
    path.write_text("timestamp,elapsed_s,cpu_percent,active_events\n")
    done = run_twin("import", "seed", str(path), "-o", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert (
        done.stderr.strip() == f"{path}:1: this is a twin run dataset already (open its directory)"
    )


ROUND_TRIP = """
name = "seed-round-trip"
[sampling]
interval_s = 1.0
[run]
mode = "sequential"
baseline_s = 3
gap_s = 1
[[events]]
stressor = "cpu"
duration_s = 2
params = { load_percent = 60, workers = 2 }
[[events]]
stressor = "memory"
duration_s = 2
params = { size_mb = 64 }
"""


@pytest.mark.skipif(
    not Path("/usr/share/zoneinfo/Asia/Kolkata").is_file(),
    reason="no system time zone data (apt-get install tzdata): local times cannot be tested",
)
def test_export_to_the_seed_format_and_import_it_back(
    tmp_path: Path, write_profile: object
) -> None:
    profile = tmp_path / "round.toml"
    profile.write_text(ROUND_TRIP)
    ran = run_twin("--batch", str(profile), "--out", str(tmp_path / "runs"), timeout=120)
    assert ran.returncode == 0, ran.stderr
    original = Path(ran.stdout.strip().splitlines()[-1])
    zone = {**os.environ, "TZ": "Asia/Kolkata"}  # +05:30: local times really are local
    out = tmp_path / "seed-export"
    exported = run_twin("export", str(original), "--format", "seed", "-o", str(out), env=zone)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.split() == [
        str(out / "system_metrics_dataset.csv"),
        str(out / "annotations.csv"),
    ]

    text = (out / "system_metrics_dataset.csv").read_text().splitlines()
    assert text[0] == SEED_HEADER
    twin = pd.read_csv(original / "system_metrics_dataset.csv")
    assert len(text) == 1 + len(twin)
    first = text[1].split(",")
    utc = pd.Timestamp(twin["timestamp"].iloc[0])
    assert first[0] == (utc + pd.Timedelta(hours=5, minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
    assert re.fullmatch(r"\d+\.\d{1,2}", first[4]) and first[14:16] == ["", ""]
    assert first[2] == str(CPUS)
    ann = (out / "annotations.csv").read_text().splitlines()
    assert (
        len(ann) == 2
        and ann[0].split(",")[2] == "cpu_spike"
        and ann[1].split(",")[2] == "memory_load"
    )
    assert ann[0].split(",")[3] == "cpu_stress.py --procs 2 --duration 2 --load_percent 60"

    back = import_seed_pair(out, tmp_path / "back", "Asia/Kolkata")
    assert check_run(back).returncode == 0
    data, events = read_run(back)
    assert len(data) == len(twin)
    # the same seconds (the seed keeps whole seconds), the same CPU to its one decimal
    stamps = pd.to_datetime(data["timestamp"])
    assert (stamps == pd.to_datetime(twin["timestamp"]).dt.floor("s")).all()
    assert (data["cpu_percent"] - twin["cpu_percent"]).abs().max() <= 0.05 + 1e-9
    assert [(e["stressor"], json.loads(e["params"])) for e in events] == [
        ("cpu", {"workers": 2, "load_percent": 60.0}),
        ("memory", {"size_mb": 64}),
    ]
    orig_ann = pd.read_csv(original / "annotations.csv")
    for ev, start in zip(events, orig_ann["start_time"], strict=True):
        assert abs(pd.Timestamp(ev["start_time"]) - pd.Timestamp(start)) < pd.Timedelta(seconds=1)


def import_seed_pair(seed: Path, out: Path, zone: str) -> Path:
    done = run_twin(
        "import", "seed", str(seed / "system_metrics_dataset.csv"),
        "--annotations", str(seed / "annotations.csv"), "--timezone", zone, "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip().splitlines()[-1])


def test_twin_analyze_reads_a_seed_annotations_file_inside_a_run(
    seed_dir: Path, tmp_path: Path
) -> None:
    run_dir = import_seed(seed_dir, tmp_path / "runs")
    theirs = run_dir / "annotations.csv"
    theirs.write_text((seed_dir / "annotations.csv").read_text())  # the seed's file, copied in
    done = run_twin("analyze", str(run_dir), "--no-plots", "-q")
    assert done.returncode == 0, done.stderr
    responses = pd.read_csv(run_dir / "analysis" / "responses.csv")
    assert sorted(set(responses["event_id"])) == ["e01", "e02", "e03"]  # not silently none
    with theirs.open("a") as f:
        f.write("2025-03-14 09:00:50,oops\n")
    done = run_twin("analyze", str(run_dir), "--no-plots", "-q")
    assert done.returncode == 2
    assert done.stderr.strip() == f"{theirs}:7: not an annotation row (2 fields)"
