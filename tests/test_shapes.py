"""Shaped levels (issue 15): the shapes themselves, the profile checks, and real stressors following
them (a CPU ramp and steps system-wide, a memory ramp that also shrinks, a network trace)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from core.profile import load_profile, profile_to_toml
from core.shapes import ShapeError, parse_shape, sparkline
from core.stressors._proc import cpu_times
from tests.conftest import check_run, run_twin

MIB = 1 << 20


# --- the shapes ------------------------------------------------------------------------------


def test_each_shape_gives_its_level_over_the_event() -> None:
    ramp = parse_shape({"ramp": [10, 90]})
    assert [ramp.level_at(t, 8.0) for t in (0, 2, 4, 8, 9)] == [10, 30, 50, 90, 90]
    steps = parse_shape({"steps": [20, 60, 90]})
    assert [steps.level_at(t, 9.0) for t in (0, 2.9, 3.1, 6.5, 9)] == [20, 20, 60, 90, 90]
    sine = parse_shape({"sine": {"mean": 50, "amplitude": 30, "period_s": 20}})
    assert sine.level_at(5, 60) == pytest.approx(80) and sine.level_at(15, 60) == pytest.approx(20)
    square = parse_shape({"square": {"low": 10, "high": 90, "period_s": 10, "duty": 0.3}})
    assert [square.level_at(t, 60) for t in (0, 2.9, 3.1, 9.9, 10.5)] == [90, 90, 10, 10, 90]
    assert (
        parse_shape({"square": {"low": 1, "high": 2, "period_s": 4}}).spec["square"]["duty"] == 0.5
    )
    assert (ramp.peak(), steps.peak(), sine.peak(), square.peak()) == (90, 90, 80, 90)
    assert sparkline([0, 50, 100]) == "▁▅█"


def test_a_trace_is_interpolated_and_holds_its_ends(tmp_path: Path) -> None:
    (tmp_path / "load.csv").write_text("elapsed_s,cpu_percent,other\n1,20,x\n3,60,\n4,,y\n5,40,z\n")
    shape = parse_shape({"trace": "load.csv", "column": "cpu_percent"}, tmp_path)
    assert [shape.level_at(t, 10) for t in (0, 1, 2, 3, 4, 5, 9)] == [20, 20, 40, 60, 50, 40, 40]
    again = parse_shape(shape.to_json())  # the JSON form needs no file
    assert again.level_at(2, 10) == 40 and again.peak() == 60


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"rmp": [1, 2]}, "unknown shape 'rmp'"),
        ({"ramp": [1, 2], "steps": [1]}, "exactly one shape"),
        ({"ramp": [1]}, "two numbers"),
        ({"steps": []}, "array of numbers"),
        ({"sine": {"mean": 5, "amplitude": 1, "period_s": 0}}, "period_s must be > 0"),
        ({"square": {"low": 1, "high": 2, "period_s": 1, "duty": 1}}, "duty must be between"),
        ({"sine": {"mean": 5, "amplitude": 1}}, "sine.period_s must be a finite number"),
    ],
)
def test_bad_shapes_say_why(value: dict[str, object], reason: str) -> None:
    with pytest.raises(ShapeError, match=reason):
        parse_shape(value)


# --- the profile checks ----------------------------------------------------------------------

BAD_PROFILE = """\
name = "bad-shapes"
[run]
mode = "parallel"
[[events]]
stressor = "cpu"
duration_s = 4
params = { load_percent = { ramp = [10, 190] } }
[[events]]
stressor = "cpu"
duration_s = 4
params = { load_percent = { wobble = [1, 2] } }
[[events]]
stressor = "cpu"
duration_s = 4
params = { load_percent = { trace = "missing.csv", column = "cpu_percent" }, target = "system" }
[[events]]
stressor = "cpu"
duration_s = 4
params = { load_percent = { trace = "load.csv", column = "cpu_pct" } }
[[events]]
stressor = "cpu"
duration_s = 4
params = { load_percent = { trace = "load.csv", column = "cpu_percent" } }
[[events]]
stressor = "network"
duration_s = 4
params = { rate_mbit_s = { sine = { mean = 10, amplitude = 20, period_s = 2 } } }
[[events]]
stressor = "cpu"
duration_s = 4
params = { workers = { steps = [1, 2] } }
[[events]]
stressor = "memory"
duration_s = 4
params = { size_mb = { steps = [64, 128] }, ramp_s = 2 }
[[events]]
stressor = "memory"
duration_s = 4
params = { size_mb = { square = { low = 1, high = 16000000, period_s = 2 } } }
"""


def test_every_bad_shape_is_refused_on_its_line(tmp_path: Path) -> None:
    (tmp_path / "load.csv").write_text("elapsed_s,cpu_percent\n0,50\n1,150\n")
    profile = tmp_path / "bad.toml"
    profile.write_text(BAD_PROFILE)
    result = run_twin("plan", str(profile))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    expected = [
        ("7", "events[0].params.load_percent", "ramp[1] = 190 must be between 1 and 100 %"),
        ("11", "events[1].params.load_percent", "unknown shape 'wobble'"),
        ("15", "events[2].params.load_percent", "cannot read trace"),
        ("19", "events[3].params.load_percent", "has no column 'cpu_pct'"),
        ("23", "events[4].params.load_percent", "load.csv cpu_percent row 2 = 150 must be between"),
        ("27", "events[5].params.rate_mbit_s", "sine mean - amplitude = -10 must be between"),
        ("31", "events[6].params.workers", "must be a single value, not a table"),
        ("35", "events[7].params.ramp_s", "must be 0 with a shaped size_mb"),
        ("39", "events[8].params.size_mb", "more than the"),  # safety, at the shape's peak
    ]
    for line, key, reason in expected:
        assert any(
            text.startswith(f"{profile}:{line}: {key}: ") and reason in text for text in lines
        ), (line, key, reason, lines)


def test_the_schedule_carries_the_shape_and_the_profile_writes_the_trace_by_name(
    tmp_path: Path,
) -> None:
    (tmp_path / "load.csv").write_text("elapsed_s,cpu_percent\n0,20\n2,80\n")
    path = tmp_path / "good.toml"
    path.write_text(
        'name = "good"\n[[events]]\nstressor = "cpu"\nduration_s = 4\n'
        'params = { load_percent = { trace = "load.csv", column = "cpu_percent" } }\n'
    )
    result = run_twin("plan", str(path), "-o", "-")
    assert result.returncode == 0, result.stderr
    shape = json.loads(result.stdout)["events"][0]["params"]["load_percent"]
    assert shape["points"] == [[0.0, 20.0], [2.0, 80.0]] and shape["column"] == "cpu_percent"
    text = run_twin("plan", str(path)).stdout
    assert "load_percent=trace(load.csv:cpu_percent, 2 rows)" in text
    assert "e01 load_percent" in text and "▁" in text and "█" in text  # the sparkline
    written = profile_to_toml(load_profile(path))
    assert 'trace = "load.csv"' in written and "points" not in written


# --- real stressors following shapes ---------------------------------------------------------


def _quiet_cpu_percent(seconds: float = 1.0) -> float:
    busy0, total0, _ = cpu_times()
    time.sleep(seconds)
    busy1, total1, _ = cpu_times()
    return 100.0 * (busy1 - busy0) / max(total1 - total0, 1e-9)


def _run(tmp_path: Path, profile: str, name: str = "p.toml") -> pd.DataFrame:
    path = tmp_path / name
    path.write_text(profile)
    result = run_twin("--batch", str(path), "--out", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    assert check_run(run_dir).returncode == 0
    return pd.read_csv(run_dir / "system_metrics_dataset.csv")


def _event_rows(data: pd.DataFrame, start: float, end: float, skip_s: float) -> pd.DataFrame:
    """Samples fully inside [start + skip_s, end]: the ones a tracking error is measured on."""
    return data[(data["elapsed_s"] > start + skip_s) & (data["elapsed_s"] <= end)]


@pytest.mark.parametrize(
    ("shape", "low_high"),
    [("{ ramp = [25, 85] }", (25, 85)), ("{ steps = [30, 80, 45] }", (30, 80))],
    ids=["ramp", "steps"],
)
def test_cpu_follows_a_shape_system_wide(
    tmp_path: Path, shape: str, low_high: tuple[int, int]
) -> None:
    quiet = _quiet_cpu_percent()
    if quiet > low_high[0] - 10:
        pytest.skip(
            f"the machine is already {quiet:.0f}% busy: a system-wide shape from "
            f"{low_high[0]}% cannot be seen"
        )
    data = _run(
        tmp_path,
        'name = "cpu-shape"\n[sampling]\ninterval_s = 0.5\n[run]\nbaseline_s = 1\n'
        f'[[events]]\nstressor = "cpu"\nduration_s = 6\n'
        f'params = {{ load_percent = {shape}, target = "system" }}\n',
    )
    rows = _event_rows(data, 1.0, 7.0, 0.5)
    planned = parse_shape(json.loads(json.dumps(_toml_shape(shape))))
    # the level over the interval ending at t: the shape's mean over it (four points)
    want = [
        sum(planned.level_at(t - 1.0 - k * 0.125, 6.0) for k in range(4)) / 4
        for t in rows["elapsed_s"]
    ]
    errors = (rows["cpu_percent"] - pd.Series(want, index=rows.index)).abs()
    mae = float(errors.mean())
    constant = float((rows["cpu_percent"] - rows["cpu_percent"].mean()).abs().mean())
    assert mae < 10, (mae, list(rows["cpu_percent"]), want)
    # a stressor holding one level would not move: the measured CPU spans most of the shape
    assert float(rows["cpu_percent"].max() - rows["cpu_percent"].min()) > 0.6 * (
        low_high[1] - low_high[0]
    )
    assert constant > mae


def _toml_shape(text: str) -> dict[str, object]:
    import tomllib

    value: dict[str, object] = tomllib.loads(f"v = {text}")["v"]
    return value


def test_memory_follows_a_ramp_up_and_steps_down(tmp_path: Path) -> None:
    data = _run(
        tmp_path,
        'name = "mem-shape"\n[sampling]\ninterval_s = 0.5\n[run]\nbaseline_s = 1\ngap_s = 0.5\n'
        '[[events]]\nstressor = "memory"\nduration_s = 4\n'
        "params = { size_mb = { ramp = [32, 256] } }\n"
        '[[events]]\nstressor = "memory"\nduration_s = 4\n'
        "params = { size_mb = { steps = [192, 32] } }\n",
    )
    # resident bytes as the kernel counts them (mincore); mem_used_bytes moves with other work here
    held = data["stress_mem_resident_bytes"] / MIB
    ramp = held[(data["elapsed_s"] > 1.0) & (data["elapsed_s"] <= 5.0)]
    assert ramp.iloc[-1] > 150 and ramp[ramp > 0].iloc[0] < 130, list(ramp)
    assert ramp.is_monotonic_increasing, list(ramp)
    steps = held[(data["elapsed_s"] > 5.5) & (data["elapsed_s"] <= 9.5)]
    first, second = steps.iloc[: len(steps) // 2], steps.iloc[len(steps) // 2 + 1 :]
    assert first.max() > 150 and second.iloc[-1] < 60, list(steps)  # it shrank


def test_a_network_rate_follows_a_trace_file(tmp_path: Path) -> None:
    (tmp_path / "rate.csv").write_text("t,mbit\n0,80\n2,80\n2.01,400\n4,400\n4.01,160\n")
    data = _run(
        tmp_path,
        'name = "net-trace"\n[sampling]\ninterval_s = 0.5\n[run]\nbaseline_s = 1\n'
        '[[events]]\nstressor = "network"\nduration_s = 6\n'
        'params = { rate_mbit_s = { trace = "rate.csv", column = "mbit", time_column = "t" } }\n',
    )
    rate = data["net_sent_bytes_per_s"] * 8 / 1e6
    for start, end, want in ((1.5, 3.0, 80), (3.5, 5.0, 400), (5.5, 7.0, 160)):
        got = float(rate[data["elapsed_s"].between(start + 0.01, end)].mean())
        assert abs(got - want) < 0.15 * want + 5, (start, got, want)


def test_the_cpu_stressor_sets_its_workers_load_along_the_shape(tmp_path: Path) -> None:
    """What the CPU stressor asks of its workers each second, even on a machine already busy."""
    from core.stressors import start_stressor

    handle = start_stressor(
        "cpu", {"load_percent": {"ramp": [10, 90]}, "workers": 1}, 4.0, tmp_path, event_id="t01"
    )
    seen: list[tuple[float, float]] = []
    try:
        t0 = time.monotonic()
        while handle.poll() is None and time.monotonic() - t0 < 8:
            load = handle.status().get("worker_load")
            if load is not None:
                seen.append((time.monotonic() - t0, float(load)))
            time.sleep(0.5)
    finally:
        handle.stop()
    loads = [load for _, load in seen]
    assert loads and min(loads) < 0.35 and max(loads) > 0.65, seen
    assert loads == sorted(loads), seen  # it rises with the ramp, never back


def test_the_model_drive_follows_a_shaped_event() -> None:
    """The predictive twin's input for a shaped event is the shape over its peak."""
    import numpy as np

    from core.model.response import Pulse, event_features, event_levels, pulse_response

    params = {"load_percent": {"ramp": [20, 80]}, "workers": 2}
    assert event_features("cpu", params, 2) == {"drive": 0.8}  # at the peak
    levels = event_levels("cpu", params, 10.0)
    pulse = Pulse("cpu", 5.0, 15.0, {"drive": 0.8}, 0.0, levels)
    t = np.array([4.0, 5.5, 10.0, 14.9, 16.0])
    instant = pulse_response(t, pulse, 0.0, 0.0)
    assert instant[0] == 0 and instant[-1] == 0
    assert list(instant[1:4] * 80) == pytest.approx([23, 50, 79.6], abs=0.6)  # the ramp
    lagged = pulse_response(t, pulse, 2.0, 2.0)
    assert 0 < lagged[2] < instant[2] and 0 < lagged[4] < lagged[3]  # lags, then decays
    assert event_levels("cpu", {"load_percent": 50}, 10.0) == ()
