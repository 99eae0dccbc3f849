"""`twin plan`: the timeline, the peaks of planned load, `-o` and the exit codes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli.commands import plan
from core.profile import load_profile, resolve_schedule
from core.schedule import Event

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "profiles" / "smoke.toml"
MIXED = ROOT / "profiles" / "mixed-parallel.toml"


def twin(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("twin")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "cli"]
    return subprocess.run([*cmd, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_plan_o_writes_exactly_schedule_dumps(tmp_path: Path) -> None:
    out = tmp_path / "schedule.json"
    assert plan.main([str(MIXED), "-o", str(out)]) == 0
    assert out.read_bytes() == resolve_schedule(load_profile(MIXED)).dumps().encode()


def test_plan_o_dash_prints_only_the_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan.main([str(SMOKE), "-o", "-"]) == 0
    assert capsys.readouterr().out == resolve_schedule(load_profile(SMOKE)).dumps()


def test_twin_plan_prints_the_timeline() -> None:
    done = twin("plan", "profiles/smoke.toml")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "total     16 s (0:16), 2 events" in out
    assert re.search(r"e01\s+cpu\s+4\s+7\s+3\s+load_percent=50\s+half the CPU", out)
    assert re.search(r"e02\s+memory\s+10\s+12\s+2\s+size_mb=64", out)
    assert re.search(r"e01 cpu\s+\|\s*#+\s*\|", out)
    assert re.search(r"memory\s+64 MiB\s+at 10 s: e02", out)
    assert done.stderr == ""


def test_twin_plan_bad_profile_exits_2_with_file_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "bad"\n[run]\nmode = "paralel"\n[[events]]\nstressor = "cpu"\nduration_s = 0\n'
    )
    done = twin("plan", str(bad), "-o", str(tmp_path / "schedule.json"))
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines == [
        f'{bad}:3: run.mode: unknown mode "paralel" (did you mean "parallel"?)',
        f"{bad}:6: events[0].duration_s: must be > 0, not 0",
        f"twin plan: 2 problems in {bad}",
    ]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "schedule.json").exists()


def test_twin_plan_missing_file_exits_2(tmp_path: Path) -> None:
    done = twin("plan", str(tmp_path / "nope.toml"))
    assert done.returncode == 2
    assert f"{tmp_path / 'nope.toml'}: cannot read" in done.stderr
    assert "Traceback" not in done.stderr


def test_peaks_of_planned_load() -> None:
    profile = load_profile(MIXED)
    text = plan.render_plan(profile, resolve_schedule(profile), cpus=2)
    assert re.search(r"cpu\s+50% of 2 logical CPUs\s+at 10 s: e01", text)
    assert re.search(r"memory\s+256 MiB\s+at 20 s: e01, e02, e03", text)
    assert re.search(r"disk\s+128 MiB working set, 1 stream\s+at 25 s: e01, e02, e03, e04", text)
    assert re.search(r"network\s+1 loopback stream, 200 Mbit/s", text)
    assert "4 at once" in text


def test_planned_load_sums_what_runs_together() -> None:
    def ev(kind: str, **params: object) -> Event:
        return Event("e", kind, dict(params), 0, 1)

    load = plan.planned_load(
        [
            ev("cpu", load_percent=50),
            ev("cpu", load_percent=100, workers=1),
            ev("cpu", load_percent=30, target="system"),
            ev("memory", size_mb=100),
            ev("memory"),
            ev("disk", file_mb=10),
            ev("network", rate_mbit_s=5),
            ev("network"),
        ],
        cpus=4,
    )
    assert load.cpu_percent == 50 + 25 + 30
    assert load.memory_mb == 100 + 256  # the memory stressor's default size
    assert (load.disk_mb, load.disk_streams) == (10, 1)
    assert (load.network_streams, load.network_mbit_s) == (2, None)
    assert load.events == 8


def test_plan_of_a_baseline_only_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan.main([str(ROOT / "profiles" / "baseline.toml")]) == 0
    assert "No events: the baseline is recorded once" in capsys.readouterr().out
