"""Shared fixtures: the real `twin` executable, profile files, the run bundle checker."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TWIN = [sys.executable, "-m", "cli"]
# The team's run bundle checker; the vendored copy keeps CI working on a bare clone.
SHARED_CHECKER = ROOT.parent / "shared" / "tools" / "check_run.py"
CHECKER = SHARED_CHECKER if SHARED_CHECKER.is_file() else ROOT / "tests" / "tools" / "check_run.py"


# Test files that measure the machine itself (CPU rises, latency, MemAvailable, lateness):
# marked `measures`, they run alone after the rest, which runs on two workers (README: the
# test command). A file that only checks behaviour does not belong here.
MEASURING = {
    "test_analysis_real.py",
    "test_contention.py",
    "test_experiment_e2e.py",
    "test_model.py",
    "test_plan_misses.py",
    "test_probes.py",
    "test_replay.py",
    "test_sar_import.py",
    "test_shapes.py",
    "test_steady_state.py",
    "test_stressors.py",
    "test_telemetry.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in MEASURING:
            item.add_marker(pytest.mark.measures)


def run_twin(*args: str, timeout: float = 60, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run `twin ARGS` as a user would, from the project root."""
    return subprocess.run(
        [*TWIN, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kwargs
    )  # type: ignore[call-overload]


def check_run(run_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECKER), str(run_dir)], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def write_profile(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(text: str, name: str = "profile.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
