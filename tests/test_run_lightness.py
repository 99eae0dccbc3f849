"""A run without a model pays nothing for the model: `data/models` holding only the fidelity
record (as after any scored run) once made every run import pandas to look for one (twin's RSS
24 -> 110 MiB in `bench/soak.py`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT

CODE = """
import sys
from pathlib import Path
from core.runner import ExperimentRun
from core.schedule import Schedule
run = ExperimentRun(Schedule("t", "parallel", (), 1.0, interval_s=0.5), Path("runs"))
run.prepare(); run.start(); result = run.wait(timeout=60)
print(result.status, "pandas" in sys.modules)
"""


def run_in(cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", CODE],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_only_a_fidelity_record_imports_no_model(tmp_path: Path) -> None:
    (tmp_path / "data" / "models").mkdir(parents=True)
    (tmp_path / "data" / "models" / "fidelity.jsonl").write_text("")
    assert run_in(tmp_path) == "completed False"


def test_a_model_file_is_looked_at(tmp_path: Path) -> None:
    """The negative control: with a file that may be a model, the model code is loaded."""
    (tmp_path / "data" / "models").mkdir(parents=True)
    (tmp_path / "data" / "models" / "model-other.json").write_text("{}")
    assert run_in(tmp_path) == "completed True"
