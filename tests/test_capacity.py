"""The fidelity record, on real small runs of this machine (`twin capacity --verify` is measured
by `bench/model.py --verify`: a real sweep is too slow and too noisy for the suite)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT, TWIN

TRAIN = """\
name = "capacity-train"
[sampling]
interval_s = 0.5
[run]
baseline_s = 2
gap_s = 2
[[events]]
stressor = "cpu"
duration_s = 3
params = { load_percent = 50 }
[[events]]
stressor = "memory"
duration_s = 4
params = { size_mb = 128 }
[[events]]
stressor = "memory"
duration_s = 4
params = { size_mb = 256 }
"""


def _twin(args: list[str], cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [*TWIN, *args], capture_output=True, text=True, cwd=cwd, env=full, timeout=240
    )


@pytest.fixture(scope="module")
def real_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(profile, model file): one real training run of this machine, fitted."""
    home = tmp_path_factory.mktemp("capacity")
    profile = home / "train.toml"
    profile.write_text(TRAIN)
    run = _twin(["--batch", str(profile), "--out", str(home / "runs")])
    assert run.returncode == 0, run.stderr
    model = home / "model.json"
    fit = _twin(["model", "fit", run.stdout.strip().splitlines()[-1], "-o", str(model)])
    assert fit.returncode == 0, fit.stderr
    return profile, model


@pytest.mark.slow
def test_a_run_holding_a_prediction_appends_its_scores(
    real_model: tuple[Path, Path], tmp_path: Path
) -> None:
    """A real run, with this host's model where `twin` looks for it, writes prediction.csv
    with intervals and, when it ends, its scores to data/models/fidelity.jsonl."""
    profile, model = real_model
    models = tmp_path / "data" / "models"
    models.mkdir(parents=True)
    shutil.copy(model, models / "model-here.json")
    run = _twin(["--batch", str(profile)], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    run_dir = tmp_path / run.stdout.strip().splitlines()[-1]
    prediction = pd.read_csv(run_dir / "prediction.csv")
    assert {"cpu_percent", "cpu_percent_lo", "cpu_percent_hi"} <= set(prediction.columns)
    records = [json.loads(line) for line in (models / "fidelity.jsonl").read_text().splitlines()]
    mine = {r["metric"]: r for r in records if r["run"] == run_dir.name}
    cpu = mine["cpu_percent"]
    assert cpu["model"] == "model-here.json" and cpu["n"] > 10
    assert cpu["mae"] >= 0 and 0.0 <= cpu["coverage"] <= 1.0
    assert {"time", "model", "run", "metric", "mae", "bias", "coverage"} <= set(cpu)
    show = _twin(["model", "show", str(models / "model-here.json")])
    assert show.returncode == 0, show.stderr
    assert any(
        line.startswith("cpu_percent") and "1 run(s)" in line for line in show.stdout.splitlines()
    ), show.stdout
