"""The predictive twin: the fit recovers a known response; predict follows the run contract."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.host import host_fingerprint
from core.model import (
    MetricModel,
    Term,
    TwinModel,
    fit_runs,
    forecast_schedule,
    host_warning,
    load_model,
    overload_warnings,
    predict_schedule,
    whatif_schedule,
)
from core.rundir.layout import ANNOTATION_COLUMNS
from core.schedule import Event, Schedule
from core.telemetry.logger import expected_samples

ROOT = Path(__file__).resolve().parents[1]
TWIN = [sys.executable, "-m", "cli"]
MIB = 1024**2
N_CPUS = 4
RAM = 16 * 1024**3

# the known machine: cpu_percent = 5 + 90 x drive (first order, tau 2 s up, 1 s down);
# mem_used_bytes = 2 GiB + 1.0 x size (tau 0.5 s up, instant release)
CPU_BASE, CPU_GAIN, CPU_TAU_UP, CPU_TAU_DOWN = 5.0, 90.0, 2.0, 1.0
MEM_BASE, MEM_GAIN, MEM_TAU_UP = 2.0 * 1024**3, 1.0 * MIB, 0.5


def _simulate(events: list[Event], total: float, interval: float, seed: int) -> pd.DataFrame:
    """A run's samples by brute-force integration of the first-order response (dt = 10 ms)."""
    dt = 0.01
    fine = np.arange(0.0, total + dt / 2, dt)
    cpu = np.zeros_like(fine)
    mem = np.zeros_like(fine)
    for e in events:
        drive = e.params.get("load_percent", 100) / 100 * e.params.get("workers", N_CPUS) / N_CPUS
        target_cpu = CPU_GAIN * drive if e.stressor == "cpu" else 0.0
        target_mem = MEM_GAIN * e.params.get("size_mb", 0) if e.stressor == "memory" else 0.0
        yc = ym = 0.0
        for i, t in enumerate(fine):
            on = e.start_s <= t < e.end_s
            uc, um = (target_cpu, target_mem) if on else (0.0, 0.0)
            tau_c = CPU_TAU_UP if on else CPU_TAU_DOWN
            yc += (uc - yc) * (1 - math.exp(-dt / tau_c))
            ym = ym + (um - ym) * (1 - math.exp(-dt / MEM_TAU_UP)) if on else 0.0
            cpu[i] += yc
            mem[i] += ym
    rng = np.random.default_rng(seed)
    n = expected_samples(total, interval)
    t = np.arange(1, n + 1) * interval
    per = round(interval / dt)
    idx = np.round(t / dt).astype(int)
    cpu_avg = np.array([cpu[max(0, i - per + 1) : i + 1].mean() for i in idx])
    rows = pd.DataFrame(
        {
            "timestamp": ["2026-01-01T00:00:00.000Z"] * n,
            "elapsed_s": t,
            "cpu_percent": np.clip(CPU_BASE + cpu_avg + rng.normal(0, 1.0, n), 0, 100),
            "mem_used_bytes": MEM_BASE + mem[idx] + rng.normal(0, 4 * MIB, n),
            "active_events": [
                ";".join(e.id for e in events if e.start_s <= x < e.end_s) for x in t
            ],
        }
    )
    rows["mem_available_bytes"] = RAM - rows["mem_used_bytes"]
    return rows


def _write_run(parent: Path, name: str, events: list[Event], total: float, seed: int) -> Path:
    interval = 0.5
    run = parent / name
    run.mkdir(parents=True)
    _simulate(events, total, interval, seed).to_csv(run / "system_metrics_dataset.csv", index=False)
    schedule = Schedule(name, "parallel", tuple(events), total, interval, 5.0, seed)
    (run / "schedule.json").write_text(schedule.dumps())
    host = {"id": "synthetic0000001", "hostname": "synth", "logical_cpus": N_CPUS, "ram_bytes": RAM}
    (run / "run.json").write_text(json.dumps({"profile_name": name, "host": host}))
    with (run / "annotations.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=ANNOTATION_COLUMNS)
        writer.writeheader()
        for e in events:
            writer.writerow(
                {
                    "event_id": e.id,
                    "stressor": e.stressor,
                    "params": json.dumps(e.params),
                    "planned_start_s": e.start_s,
                    "planned_end_s": e.end_s,
                    "start_elapsed_s": e.start_s,
                    "end_elapsed_s": e.end_s,
                    "status": "completed",
                }
            )
    return run


def _ev(eid: str, kind: str, start: float, dur: float, **params: Any) -> Event:
    return Event(eid, kind, params, start, dur)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    parent = tmp_path_factory.mktemp("synthetic")
    train = [
        _write_run(
            parent,
            "cpu-sweep",
            [
                _ev(f"c{i}", "cpu", 5 + 15 * i, 10, load_percent=p)
                for i, p in enumerate((25, 50, 75))
            ],
            55,
            1,
        ),
        _write_run(
            parent,
            "mem-steps",
            [_ev(f"m{i}", "memory", 5 + 12 * i, 8, size_mb=s) for i, s in enumerate((256, 1024))],
            35,
            2,
        ),
    ]
    return parent, train


@pytest.fixture(scope="module")
def model(synthetic: tuple[Path, list[Path]]) -> TwinModel:
    return fit_runs(synthetic[1])[0]


def test_fit_recovers_gain_and_time_constants(model: TwinModel) -> None:
    cpu = model.metrics["cpu_percent"]
    assert cpu.baseline == pytest.approx(CPU_BASE, abs=1.0)
    gains = cpu.terms["cpu"].gains
    # the drive varies, so there is an "on" offset too; the response at full drive is the gain
    assert gains.get("on", 0.0) + gains["drive"] == pytest.approx(CPU_GAIN, rel=0.05)
    assert gains["drive"] * 0.5 + gains.get("on", 0.0) == pytest.approx(CPU_GAIN / 2, rel=0.05)
    assert cpu.terms["cpu"].tau_rise_s == pytest.approx(CPU_TAU_UP, rel=0.5)
    assert cpu.terms["cpu"].tau_fall_s == pytest.approx(CPU_TAU_DOWN, rel=0.5)
    mem = model.metrics["mem_used_bytes"]
    per_mib = mem.terms["memory"].gains["size_mb"] + mem.terms["memory"].gains.get("on", 0) / 640
    assert per_mib == pytest.approx(MEM_GAIN, rel=0.05)
    assert mem.terms["memory"].tau_rise_s <= 1.0
    assert mem.baseline == pytest.approx(MEM_BASE, rel=0.01)


def test_held_out_overlapping_schedule(model: TwinModel) -> None:
    events = [
        _ev("h1", "cpu", 5, 20, load_percent=60),
        _ev("h2", "memory", 10, 10, size_mb=512),
        _ev("h3", "cpu", 18, 6, load_percent=30),
    ]
    truth = _simulate(events, 35, 0.5, 9)
    schedule = Schedule("held-out", "parallel", tuple(events), 35, 0.5, 5.0)
    pred = predict_schedule(model, schedule)
    assert list(pred["elapsed_s"]) == pytest.approx(list(truth["elapsed_s"]))
    cpu_mae = (pred["cpu_percent"] - truth["cpu_percent"]).abs().mean()
    mem_err = (pred["mem_used_bytes"] - truth["mem_used_bytes"]).abs().mean()
    assert cpu_mae < 2.5
    assert mem_err / truth["mem_used_bytes"].mean() < 0.01


def test_not_a_run_is_bad_input(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*TWIN, "model", "fit", str(tmp_path)], capture_output=True, text=True, cwd=ROOT
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not a run directory" in proc.stderr


def test_other_host_warns(model: TwinModel, tmp_path: Path) -> None:
    assert host_warning(model) is not None  # fitted on "synth", not on this machine
    assert host_warning(model, {"id": "synthetic0000001"}) is None
    path = tmp_path / "m.json"
    model.save(path)
    proc = subprocess.run(
        [*TWIN, "predict", "--model", str(path), "--cpu", "50", "--duration", "10"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "fitted on another host" in proc.stderr
    assert "steady state" in proc.stdout


def test_overload_is_flagged(model: TwinModel) -> None:
    beyond = whatif_schedule(model, memory_mb=RAM / MIB + 1024, duration_s=20)
    kinds = {o.what for o in overload_warnings(model, beyond)}
    assert "memory" in kinds
    assert any("beyond RAM" in str(o) for o in overload_warnings(model, beyond))
    near = whatif_schedule(model, memory_mb=(RAM - MEM_BASE) / MIB * 0.97, duration_s=20)
    assert any("under 5%" in str(o) for o in overload_warnings(model, near))
    busy = whatif_schedule(model, cpu_percent=100, workers=2 * N_CPUS, duration_s=20)
    assert "cpu_saturated" in {o.what for o in overload_warnings(model, busy)}
    calm = whatif_schedule(model, cpu_percent=20, memory_mb=256, duration_s=20)
    assert overload_warnings(model, calm) == []
    pred = predict_schedule(model, beyond)
    assert pred["mem_used_bytes"].max() <= RAM  # clipped to what the machine has


def test_forecast_gives_the_series_and_every_warning(model: TwinModel) -> None:
    """What `twin predict` and the TUI's dialog show: one call, the same warnings for both."""
    plan = whatif_schedule(model, memory_mb=RAM / MIB + 1024, net_mbit_s=100, duration_s=20)
    told = forecast_schedule(model, plan)
    assert told.series.equals(predict_schedule(model, plan))
    assert any("another host" in w for w in told.warnings)  # fitted on "synth"
    assert any("never seen a network event" in w for w in told.warnings)
    assert "memory" in {o.what for o in told.overloads}


SMALL_PROFILE = """\
name = "model-e2e"
[sampling]
interval_s = 0.5
[run]
baseline_s = 2
gap_s = 1
[[events]]
stressor = "cpu"
duration_s = 3
params = { load_percent = 50 }
[[events]]
stressor = "memory"
duration_s = 3
params = { size_mb = 64 }
"""


@pytest.mark.slow
def test_real_fit_and_predict_end_to_end(tmp_path: Path) -> None:
    profile = tmp_path / "small.toml"
    profile.write_text(SMALL_PROFILE)
    run = subprocess.run(
        [*TWIN, "--batch", str(profile), "--out", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    run_dir = Path(run.stdout.strip().splitlines()[-1])
    model_path = tmp_path / "model.json"
    fit = subprocess.run(
        [*TWIN, "model", "fit", str(run_dir), "-o", str(model_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert fit.returncode == 0, fit.stderr
    model = load_model(model_path)
    assert model.host_id == host_fingerprint()["id"]
    assert model.training_runs[0]["run_id"] == run_dir.name
    assert {"cpu", "memory"} <= set(model.kinds)
    # memory and load are gauges read at the sample; CPU and rates average over the interval
    assert not model.metrics["mem_used_bytes"].average and not model.metrics["load_1m"].average
    assert model.metrics["cpu_percent"].average and model.metrics["net_recv_bytes_per_s"].average
    out = tmp_path / "prediction.csv"
    pred = subprocess.run(
        [*TWIN, "predict", str(profile), "--model", str(model_path), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert pred.returncode == 0, pred.stderr
    assert "another host" not in pred.stderr
    listed = {line.split()[0] for line in pred.stdout.splitlines()[2:] if line.strip()}
    assert {"cpu_percent", "mem_available_bytes", "net_recv_bytes_per_s"} <= listed
    frame = pd.read_csv(out)
    dataset = pd.read_csv(run_dir / "system_metrics_dataset.csv")
    schedule = json.loads((run_dir / "schedule.json").read_text())
    assert len(frame) == expected_samples(schedule["total_s"], schedule["interval_s"])
    assert frame["elapsed_s"].iloc[0] == pytest.approx(0.5)
    assert frame.columns[0] == "elapsed_s"
    for column in ("cpu_percent", "mem_used_bytes", "mem_available_bytes", "load_1m"):
        assert column in frame.columns and column in dataset.columns
    assert frame.notna().all().all()
    try:
        from core.analysis.fidelity import score_prediction
    except ImportError:
        return
    scores = score_prediction(dataset, frame)
    assert "cpu_percent" in set(scores["metric"])


def test_side_effects_are_not_extrapolated() -> None:
    """A secondary term (memory moving CPU) stops at the training range; a primary one does not."""
    model = TwinModel(
        host={"id": "x"},
        n_cpus=2,
        ram_bytes=float(RAM),
        metrics={
            "cpu_percent": MetricModel(
                baseline=10.0,
                average=True,
                lower=0.0,
                upper=100.0,
                terms={"memory": Term(0.0, 0.0, {"size_mb": -0.01}, primary=False)},
            ),
            "mem_used_bytes": MetricModel(
                baseline=1e9,
                average=False,
                lower=0.0,
                upper=float(RAM),
                terms={"memory": Term(0.0, 0.0, {"size_mb": float(MIB)})},
            ),
        },
        kinds={"memory": {"features": ["size_mb"], "feature_max": {"size_mb": 500.0}}},
    )
    schedule = whatif_schedule(model, memory_mb=8000, duration_s=10)
    steady = predict_schedule(model, schedule).iloc[10]  # t = 11 s, mid-event
    assert steady["cpu_percent"] == pytest.approx(10.0 - 5.0)  # capped at 500 MiB
    assert steady["mem_used_bytes"] == pytest.approx(1e9 + 8000 * MIB)
