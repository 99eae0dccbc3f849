"""`twin replay` (issue 15): a recorded load as a profile of trace-shaped events, on its clock."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from core.profile import load_profile
from tests.conftest import check_run, run_twin

MIB = 1 << 20


def _dataset(path: Path) -> Path:
    """A dataset CSV at 0.5 s: CPU stepping 20 -> 60, memory 100 MiB over an idle of 1 GiB."""
    t = [0.5 * k for k in range(1, 21)]
    data = pd.DataFrame(
        {
            "elapsed_s": t,
            "cpu_percent": [20.0 if x <= 5 else 60.0 for x in t],
            "mem_used_bytes": [(1024 + (100 if 3 < x <= 8 else 0)) * MIB for x in t],
            "net_sent_bytes_per_s": [0.0] * len(t),
        }
    )
    data.to_csv(path, index=False)
    return path


def test_a_dataset_becomes_shaped_events_on_the_sources_clock(tmp_path: Path) -> None:
    source = _dataset(tmp_path / "source.csv")
    out = tmp_path / "replay.toml"
    result = run_twin("replay", str(source), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == str(out)
    profile = load_profile(out)
    assert profile.interval_s == 0.5 and profile.mode == "parallel"
    kinds = {e.stressor: e for e in profile.events}
    assert set(kinds) == {"cpu", "memory"}  # no traffic in the source: no network event
    assert kinds["cpu"].params["target"] == "system"
    plan = json.loads(run_twin("plan", str(out), "-o", "-").stdout)
    assert plan["total_s"] == 10.0  # the replay's rows are the source's rows
    cpu = next(e for e in plan["events"] if e["stressor"] == "cpu")
    start = cpu["start_s"]
    points = dict((round(t + start, 3), v) for t, v in cpu["params"]["load_percent"]["points"])
    # the level over the interval ending at the source's t is the source's value at t
    assert points[5.0 - 0.25] == 20.0 and points[5.5 - 0.25] == 60.0
    memory = next(e for e in plan["events"] if e["stressor"] == "memory")
    levels = [v for _, v in memory["params"]["size_mb"]["points"]]
    assert max(levels) == 100.0 and min(levels) == 1.0  # above the source's idle, in range


def test_kinds_choose_the_events_and_bad_input_is_one_line(tmp_path: Path) -> None:
    source = _dataset(tmp_path / "source.csv")
    out = tmp_path / "cpu.toml"
    assert run_twin("replay", str(source), "-o", str(out), "--kinds", "cpu").returncode == 0
    assert [e.stressor for e in load_profile(out).events] == ["cpu"]
    (tmp_path / "no_time.csv").write_text("cpu_percent\n5\n6\n")
    cases = [
        (str(tmp_path / "missing"), "no such run directory or dataset file"),
        (str(tmp_path / "no_time.csv"), "no elapsed_s column"),
    ]
    for src, reason in cases:
        bad_out = tmp_path / "bad.toml"
        result = run_twin("replay", src, "-o", str(bad_out))
        assert result.returncode == 2 and reason in result.stderr, result.stderr
        assert len(result.stderr.splitlines()) == 1 and not bad_out.exists()
    result = run_twin("replay", str(source), "-o", str(tmp_path / "x.toml"), "--kinds", "gpu")
    assert result.returncode == 2 and "--kinds: unknown kind 'gpu'" in result.stderr
    assert not list(tmp_path.glob("x*"))


def test_a_recorded_run_replayed_lines_up_sample_by_sample(tmp_path: Path) -> None:
    """Record a network load stepping 80 -> 300 -> 150 Mbit/s, replay it, compare every row."""
    source_profile = tmp_path / "source.toml"
    source_profile.write_text(
        'name = "src"\n[sampling]\ninterval_s = 0.5\n[run]\nbaseline_s = 1\n'
        '[[events]]\nstressor = "network"\nduration_s = 6\n'
        "params = { rate_mbit_s = { steps = [80, 300, 150] } }\n"
    )
    recorded = run_twin("--batch", str(source_profile), "--out", str(tmp_path / "runs"))
    assert recorded.returncode == 0, recorded.stderr
    source_dir = Path(recorded.stdout.strip().splitlines()[-1])
    out = tmp_path / "replay.toml"
    made = run_twin("replay", str(source_dir), "-o", str(out), "--kinds", "network")
    assert made.returncode == 0, made.stderr
    replayed = run_twin("--batch", str(out), "--out", str(tmp_path / "replays"))
    assert replayed.returncode == 0, replayed.stderr
    replay_dir = Path(replayed.stdout.strip().splitlines()[-1])
    assert check_run(replay_dir).returncode == 0
    a = pd.read_csv(source_dir / "system_metrics_dataset.csv")
    b = pd.read_csv(replay_dir / "system_metrics_dataset.csv")
    # the source's clock: the same rows, each at the same deadline k x interval (a late wake-up
    # may put a sample some ms after its deadline)
    assert list((a["elapsed_s"] / 0.5).round()) == list((b["elapsed_s"] / 0.5).round())
    rate_a = a["net_sent_bytes_per_s"] * 8 / 1e6
    rate_b = b["net_sent_bytes_per_s"] * 8 / 1e6
    loaded = a["elapsed_s"].between(1.6, 6.9)  # inside the source's event, off its edges
    error = float((rate_a[loaded] - rate_b[loaded]).abs().mean())
    assert error < 0.15 * float(rate_a[loaded].mean()), (list(rate_a), list(rate_b))
    # a replay at one constant level would miss the steps by far more
    flat = float((rate_a[loaded] - rate_a[loaded].mean()).abs().mean())
    assert error < flat / 2, (error, flat)
