"""What `twin --batch` tells the user on the console about files they would otherwise not see."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from core.model import fit_runs
from tests.conftest import ROOT, TWIN
from tests.synthetic import SynthEvent, write_bundle

PROFILE = """
name = "predicted"
[sampling]
interval_s = 0.5
[run]
baseline_s = 1
[[events]]
stressor = "cpu"
duration_s = 2
params = { load_percent = 30, workers = 1 }
"""


def _batch(cwd: Path) -> subprocess.CompletedProcess[str]:
    """`twin --batch` from `cwd`, where `data/models` is the default models directory."""
    (cwd / "profile.toml").write_text(PROFILE)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*TWIN, "--batch", "profile.toml", "--out", "data/runs"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_batch_run_that_wrote_a_prediction_says_so(tmp_path: Path) -> None:
    events = [SynthEvent("c1", "cpu", 5, 10, {"load_percent": 50})]
    model = fit_runs([write_bundle(tmp_path / "train", events, duration_s=25)])[0]
    model.save(tmp_path / "data" / "models" / "model-synthetic.json")
    res = _batch(tmp_path)
    assert res.returncode == 0, res.stderr
    run_dir = tmp_path / res.stdout.strip().splitlines()[-1]
    assert (run_dir / "prediction.csv").is_file()
    said = [line for line in res.stderr.splitlines() if "prediction.csv" in line]
    assert len(said) == 1 and "twin analyze" in said[0], res.stderr
    messages = json.loads((run_dir / "run.json").read_text())["messages"]
    assert any(said[0].removeprefix("twin: ").startswith(m) for m in messages)


def test_a_batch_run_without_a_model_says_nothing_of_a_prediction(tmp_path: Path) -> None:
    res = _batch(tmp_path)
    assert res.returncode == 0, res.stderr
    run_dir = tmp_path / res.stdout.strip().splitlines()[-1]
    assert not (run_dir / "prediction.csv").exists()
    assert "prediction" not in res.stderr, res.stderr
