"""The real thing: `twin PROFILE --out DIR` in tmux, over real telemetry and a real CPU stressor.

Presses `r`, reads the screen with `capture-pane`, waits for the recording to
finish, quits, and checks the run directory with the team's run checker.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / ".venv" / "bin" / "twin"
SHARED_CHECKER = ROOT.parent / "shared" / "tools" / "check_run.py"
CHECKER = SHARED_CHECKER if SHARED_CHECKER.is_file() else ROOT / "tests" / "tools" / "check_run.py"

PROFILE = """
name = "tmux-cpu"

[sampling]
interval_s = 0.5

[run]
baseline_s = 1

[[events]]
stressor = "cpu"
duration_s = 2
label = "two seconds of CPU"
params = { load_percent = 50, workers = 1 }
"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (CI has it)"),
    pytest.mark.skipif(not TWIN.exists(), reason=f"{TWIN} is missing: pip install -e ."),
]


def tmux(*args: str) -> str:
    done = subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10)
    return done.stdout


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_for(session: str, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = screen(session)
        if text in shown:
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; the screen shows:\n{shown}")


def test_real_app_records_a_cpu_event_in_tmux(tmp_path: Path) -> None:
    profile = tmp_path / "tmux-cpu.toml"
    profile.write_text(PROFILE)
    out = tmp_path / "runs"
    session = f"twin-test-{uuid.uuid4().hex[:8]}"
    command = f"cd {ROOT} && {TWIN} {profile} --out {out}; echo EXITED $?; sleep 30"
    tmux("new", "-d", "-s", session, "-x", "100", "-y", "30", command)
    try:
        wait_for(session, "LIVE", 20)
        tmux("send-keys", "-t", session, "r")
        shown = wait_for(session, "REC", 15)
        assert "tmux-cpu" in shown
        wait_for(session, "e01 cpu", 10)  # the event running, on the status bar
        wait_for(session, "last run", 20)  # back to live: the run is complete
        tmux("send-keys", "-t", session, "q")
        wait_for(session, "EXITED 0", 20)
    finally:
        tmux("kill-session", "-t", session)
    [run_dir] = [p for p in out.iterdir() if p.is_dir()]
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "completed"
    annotations = (run_dir / "annotations.csv").read_text()
    assert "e01" in annotations and "completed" in annotations
    done = subprocess.run(
        [sys.executable, str(CHECKER), str(run_dir)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def task_of(pid: int, thread_name: str) -> Path:
    """The /proc entry of the thread of `pid` named `thread_name` (as the kernel names it)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        if (task / "comm").read_text().strip() == thread_name:
            return task
    raise AssertionError(f"no thread {thread_name!r} in process {pid}")


def wakeups(pid: int, thread_name: str) -> int:
    """How many times the thread went to sleep and woke since it started: its voluntary
    context switches."""
    for line in (task_of(pid, thread_name) / "status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches in /proc status")


def nice_of(task: Path) -> int:
    return int((task / "stat").read_text().rsplit(")", 1)[1].split()[16])


def twin_pid(session: str) -> int:
    """The twin process in the tmux pane (the shell's child)."""
    pane = int(tmux("display", "-p", "-t", session, "#{pane_pid}").strip())
    children = Path(f"/proc/{pane}/task/{pane}/children").read_text().split()
    return int(children[0])


def test_idle_input_thread_sleeps_until_a_key(tmp_path: Path) -> None:
    """Textual's input thread polls ten times a second; twin's sleeps until a key arrives, yet
    a lone `esc` still closes the help screen (the parser's timeout) and `q` still quits (the
    stop wakes the thread)."""
    session = f"twin-test-{uuid.uuid4().hex[:8]}"
    command = f"cd {ROOT} && {TWIN} --out {tmp_path / 'runs'}; echo EXITED $?; sleep 30"
    tmux("new", "-d", "-s", session, "-x", "80", "-y", "24", command)
    try:
        wait_for(session, "LIVE", 20)
        pid = twin_pid(session)
        before = wakeups(pid, "textual-input")
        time.sleep(2.0)  # nobody types: polling would wake it ~20 times
        assert wakeups(pid, "textual-input") - before <= 2
        ui_nice = nice_of(Path(f"/proc/{pid}/task/{pid}"))
        for name in ("textual-input", "textual-output"):  # a key in, a frame out: the UI's path
            assert nice_of(task_of(pid, name)) == ui_nice
        tmux("send-keys", "-t", session, "?")
        wait_for(session, "Key bindings", 10)
        tmux("send-keys", "-t", session, "Escape")
        wait_gone(session, "Key bindings", 10)
        tmux("send-keys", "-t", session, "q")
        wait_for(session, "EXITED 0", 20)
    finally:
        tmux("kill-session", "-t", session)


def wait_gone(session: str, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text not in screen(session):
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} is still on the screen:\n{screen(session)}")
