"""A reader that leaves early (`twin columns | head -1`) ends twin quietly, never a traceback."""

from __future__ import annotations

import subprocess

import pytest

from conftest import ROOT, TWIN


@pytest.mark.parametrize("args", [["columns"], ["--help"], ["plan", "profiles/smoke.toml"]])
def test_a_closed_pipe_is_no_traceback(args: list[str]) -> None:
    proc = subprocess.Popen(
        [*TWIN, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before twin writes a line
    stderr = proc.stderr.read()
    proc.wait(timeout=60)
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert proc.returncode in (0, 1), (proc.returncode, stderr)
