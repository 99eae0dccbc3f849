"""Every `twin` command given the wrong path: one line on stderr, exit 2, never a traceback.

What a new user hits first: a typo (a missing path), an empty directory, a file that is not
what the command reads. Each command of `cli.main.COMMANDS` that reads a path, `--batch` and
the TUI's positional profile are run for real on each; a table row that a new command adds
without a case here fails `test_every_command_has_a_case`. Run directories damaged in the
middle (a stray quote, a torn field) must name the file and the line.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cli.main import COMMANDS
from tests.conftest import run_twin
from tests.synthetic import Response, SynthEvent, write_bundle

# {P} is the bad path. Commands whose only inputs are flags (columns) or whose path is an output
# directory that may be new (stress disk --dir given an empty dir is fine) say so in SKIP_EMPTY.
CASES: dict[str, list[str]] = {
    "plan": ["plan", "{P}"],
    "stress": ["stress", "disk", "--duration", "1", "--dir", "{P}"],
    "analyze": ["analyze", "{P}", "--no-plots"],
    "compare": ["compare", "{P}", "{P}", "--no-plots"],
    "export": ["export", "{P}", "-f", "jsonl", "-o", "{OUT}"],
    "model": ["model", "fit", "{P}", "-o", "{OUT}/model.json"],
    "model show": ["model", "show", "{P}"],
    "predict": ["predict", "{P}"],
    "predict --model": ["predict", "--model", "{P}", "--cpu", "50"],
    "import": ["import", "seed", "{P}", "-o", "{OUT}"],
    "import sar": ["import", "sar", "{P}", "-o", "{OUT}"],
    "recover": ["recover", "{P}"],
    "fleet": ["fleet", "report", "{P}", "--no-plots"],
    "fleet run": ["fleet", "run", "{P}", "-i", "{P}"],
    "replay": ["replay", "{P}", "-o", "{OUT}/replay.toml"],
    "capacity": ["capacity", "{P}"],
    "capacity --model": ["capacity", "--model", "{P}"],
    "--batch": ["--batch", "{P}", "--out", "{OUT}"],
    "tui": ["{P}"],
}
NO_PATH = {"columns"}  # takes no path at all
# An empty directory is a valid input here: disk scratch space, a runs directory to repair.
EMPTY_IS_FINE = {"stress", "recover"}
KINDS = ("missing", "empty", "binary", "wrong-text")


def test_every_command_has_a_case() -> None:
    covered = {name.split()[0] for name in CASES} | NO_PATH
    assert set(COMMANDS) <= covered, f"no bad-path case for {set(COMMANDS) - covered}"


def _bad_path(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp_path / "no-such-thing"
    if kind == "empty":
        (tmp_path / "empty").mkdir()
        return tmp_path / "empty"
    path = tmp_path / "not-it.csv"
    if kind == "binary":
        path.write_bytes(os.urandom(2048))
    else:  # text, but no command's format: not TOML, not a dataset, not JSON, not sadc
        path.write_text("hello, world\n1,2\n")
    return path


def _args(case: list[str], bad: Path, out: Path) -> list[str]:
    return [a.replace("{P}", str(bad)).replace("{OUT}", str(out)) for a in case]


def assert_one_line_exit_2(args: list[str], stderr: str, returncode: int) -> None:
    lines = stderr.splitlines()
    if args[0] == "plan":  # twin plan ends its problem list with a count, by design
        lines = [ln for ln in lines if not ln.startswith("twin plan: ")]
    assert "Traceback" not in stderr, f"twin {' '.join(args)}:\n{stderr}"
    assert returncode == 2, f"twin {' '.join(args)} exited {returncode}:\n{stderr}"
    assert len(lines) == 1, f"twin {' '.join(args)} printed {len(lines)} lines:\n{stderr}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(CASES))
def test_bad_path_is_one_line_exit_2(tmp_path: Path, name: str, kind: str) -> None:
    if kind == "empty" and name in EMPTY_IS_FINE:
        pytest.skip(f"an empty directory is valid input for twin {name}")
    bad = _bad_path(tmp_path, kind)
    out = tmp_path / "out"
    args = _args(CASES[name], bad, out)
    res = run_twin(*args, timeout=120, stdin=subprocess.DEVNULL)  # the TUI must not wait on it
    assert_one_line_exit_2(args, res.stderr, res.returncode)
    assert not out.exists() or not any(out.rglob("*")), f"twin {name} left files in {out}"


def test_recover_on_an_empty_directory_says_nothing_to_repair(tmp_path: Path) -> None:
    res = run_twin("recover", str(tmp_path))
    assert res.returncode == 0 and "nothing to repair" in res.stdout, res.stderr


# --- run directories damaged in the middle -------------------------------------------------


def _run(tmp_path: Path) -> Path:
    event = SynthEvent(
        "cpu-1", "cpu", 10.0, 10.0, {"load_percent": 50}, {"cpu_percent": Response(40.0)}
    )
    return write_bundle(tmp_path / "run", [event], duration_s=40.0)


def _damage(path: Path, line: int, how: str) -> None:
    """Damage 1-based `line` of `path`: a stray quote at its second field, or cut in half."""
    lines = path.read_text().split("\n")
    text = lines[line - 1]
    if how == "quote":
        lines[line - 1] = text.replace(",", ',"', 1)
    else:
        lines[line - 1] = text[: len(text) // 2]
    path.write_text("\n".join(lines))


@pytest.mark.parametrize("how", ["quote", "torn"])
@pytest.mark.parametrize("file", ["system_metrics_dataset.csv", "annotations.csv"])
def test_damaged_middle_line_is_file_line_exit_2(tmp_path: Path, file: str, how: str) -> None:
    run = _run(tmp_path)
    line = 16 if file == "system_metrics_dataset.csv" else 2
    if file == "annotations.csv":  # a second event, so that line 2 is in the middle
        rows = (run / file).read_text().splitlines()
        (run / file).write_text("\n".join([*rows, rows[1].replace("cpu-1", "cpu-2")]) + "\n")
    _damage(run / file, line, how)
    for command in (["analyze", str(run), "--no-plots", "-q"], ["export", str(run), "-f", "jsonl"]):
        res = run_twin(*command)
        assert "Traceback" not in res.stderr, res.stderr
        assert res.returncode == 2, res.stderr
        assert res.stderr.splitlines() == [res.stderr.strip()], res.stderr
        assert res.stderr.startswith(f"{run / file}:{line}: "), res.stderr
    assert not (run / "analysis").exists() and not (run / "export").exists()


def test_a_torn_last_line_is_still_read(tmp_path: Path) -> None:
    """The damage a kill leaves (the last line cut) is not the damage above: analysis reads it."""
    run = write_bundle(tmp_path / "run", [], duration_s=20.0, truncate_last=True)
    res = run_twin("analyze", str(run), "--no-plots", "-q")
    assert res.returncode == 0, res.stderr


def test_a_damaged_prediction_is_one_line(tmp_path: Path) -> None:
    run = _run(tmp_path)
    (run / "prediction.csv").write_bytes(os.urandom(1024))
    res = run_twin("analyze", str(run), "--no-plots", "-q")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.startswith(f"twin: {run / 'prediction.csv'}: "), res.stderr
