"""Promise 1: no stressor outlives twin: not after kill -9, not after a terminal hang-up, not
after a crash inside twin. Every process twin starts carries the test's tag (faultkit)."""

from __future__ import annotations

import os
import pty
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from faultkit import (
    CPU_30S,
    MEM_30S,
    annotations,
    manifest,
    only_run,
    profile_text,
    running_stressor,
    running_stressors,
    start_twin,
    stressor_pids,
    tag_guard,
    tagged_env,
    tagged_pids,
    wait_gone,
)

from conftest import ROOT, check_run

pytestmark = pytest.mark.slow


def test_kill_9_of_twin_mid_event_leaves_no_stressor(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    profile = write_profile(profile_text(CPU_30S, MEM_30S))
    with tag_guard() as tag:
        twin = start_twin(tag, "--batch", str(profile), "--out", str(tmp_path / "runs"))
        running_stressors(tag, ("e01", "e02"))
        assert len(stressor_pids(tag)) == 4  # cpu leader + 2 workers, memory
        twin.kill()
        twin.wait(5)
        assert wait_gone(tag, 2.0) == [], "processes of the killed twin are still running"


def test_terminal_hang_up_stops_the_run_and_its_stressors(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    """A real pty hang-up, as when an SSH connection drops: twin is the session leader of the
    pty's session, the test closes the master side."""
    profile = write_profile(profile_text(CPU_30S))
    out = tmp_path / "runs"
    with tag_guard() as tag:
        pid, master = pty.fork()
        if pid == 0:  # the child: twin on the pty, as under sshd
            os.chdir(ROOT)
            argv = [sys.executable, "-m", "cli", "--batch", str(profile), "--out", str(out)]
            os.execve(sys.executable, argv, tagged_env(tag))
        try:
            running_stressor(tag, "e01")
            time.sleep(0.3)
        finally:
            os.close(master)  # the hang-up: SIGHUP to the session, EIO on every later write
        t0 = time.monotonic()
        assert wait_gone(tag, 5.0) == []
        _, status = os.waitpid(pid, 0)
        assert time.monotonic() - t0 < 5.0
    # it stopped in order (not killed by the hang-up) and said so in its files
    assert os.waitstatus_to_exitcode(status) == 1
    run_dir = only_run(out)
    info = manifest(run_dir)
    assert info["status"] == "stopped" and "SIGHUP" in info["stop_reason"], info
    assert annotations(run_dir)["e01"]["status"] == "aborted"
    assert check_run(run_dir).returncode == 0


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_tmux_kill_session_leaves_no_stressor(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    profile = write_profile(profile_text(CPU_30S))
    socket = f"twin-fault-{os.getpid()}"
    with tag_guard() as tag:
        command = (
            f"cd {ROOT} && {tagged_env_prefix(tag)} {sys.executable} -m cli --batch "
            f"{profile} --out {tmp_path / 'runs'}"
        )
        tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
        subprocess.run([*tmux, "new-session", "-d", "-s", "f", command], check=True)
        try:
            running_stressor(tag, "e01")
        finally:
            subprocess.run([*tmux, "kill-session", "-t", "f"], capture_output=True)
            subprocess.run([*tmux, "kill-server"], capture_output=True)
        assert wait_gone(tag, 5.0) == []


def tagged_env_prefix(tag: str) -> str:
    return f"env TWIN_FAULT_TAG={tag}"


# A twin with a fault planted inside: the real `twin --batch`, with one engine method patched
# to raise once the event runs.
CRASH = r"""
import sys
from core.event_lifecycle import EventLifecycle
from core.telemetry.sampler import SystemSampler
where = sys.argv.pop(1)
if where == "control":
    poll = EventLifecycle.poll
    def broken(self):
        if self.live and self.clock.elapsed() > 1.2:
            raise RuntimeError("injected fault in the control thread")
        poll(self)
    EventLifecycle.poll = broken
else:
    read = SystemSampler.read
    calls = []
    def broken(self, now):
        calls.append(now)
        if len(calls) > 6:
            raise RuntimeError("injected fault in the telemetry thread")
        return read(self, now)
    SystemSampler.read = broken
from cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("where", ["control", "telemetry"])
def test_a_crash_inside_twin_stops_its_stressors_and_fails_the_run(
    tmp_path: Path, write_profile: Callable[..., Path], where: str
) -> None:
    profile = write_profile(profile_text(CPU_30S))
    out = tmp_path / "runs"
    with tag_guard() as tag:
        twin = subprocess.Popen(
            [sys.executable, "-c", CRASH, where, "--batch", str(profile), "--out", str(out)],
            cwd=ROOT,
            env=tagged_env(tag),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _, err = twin.communicate(timeout=15)  # the event was planned for 30 s
        assert wait_gone(tag, 2.0) == []
    assert twin.returncode == 1, err
    assert "injected fault" in err and f"internal error in the {where} thread" in err
    run_dir = only_run(out)
    info = manifest(run_dir)
    assert info["status"] == "failed" and "injected fault" in info["stop_reason"]
    assert annotations(run_dir)["e01"]["status"] == "aborted"
    assert check_run(run_dir).returncode == 0
    assert not (run_dir / "scratch").exists() and not list(run_dir.glob(".*"))


def test_the_tag_sees_stressors_negative_control(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    """The check itself must be able to fail: while twin runs, the tag finds its stressors."""
    profile = write_profile(profile_text(CPU_30S))
    with tag_guard() as tag:
        twin = start_twin(tag, "--batch", str(profile), "--out", str(tmp_path / "runs"))
        running_stressor(tag, "e01")
        assert wait_gone(tag, 0.3) != []  # twin and its stressors carry the tag
        twin.send_signal(signal.SIGTERM)
        twin.communicate(timeout=10)
        assert wait_gone(tag, 2.0) == [] and tagged_pids(tag) == []


def test_tui_terminal_hang_up_stops_the_run_and_the_process_exits(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    """The TUI recording on a real pty, then an SSH-style hang-up. Textual alone can hang for
    ever in its shutdown writing to the dead terminal; twin must still stop the run in order
    and exit."""
    import fcntl
    import struct
    import termios
    import threading

    profile = write_profile(profile_text(CPU_30S))
    out = tmp_path / "runs"
    with tag_guard() as tag:
        pid, master = pty.fork()
        if pid == 0:  # the child: the TUI on the pty, as under sshd
            os.chdir(ROOT)
            argv = [sys.executable, "-m", "cli", str(profile), "--out", str(out)]
            os.execve(sys.executable, argv, tagged_env(tag, TERM="xterm-256color"))
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        draining = threading.Event()
        draining.set()

        def drain() -> None:  # a live terminal reads what the app writes
            while draining.is_set():
                try:
                    if not os.read(master, 65536):
                        return
                except OSError:
                    return

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        try:
            time.sleep(4.0)  # the app is up and live
            os.write(master, b"r")  # record the profile
            running_stressor(tag, "e01")
        finally:
            draining.clear()  # the terminal stops reading, then goes away
            time.sleep(0.5)
            os.close(master)
        t0 = time.monotonic()
        assert wait_gone(tag, 10.0) == [], "the TUI or its stressors outlived the hang-up"
        _, status = os.waitpid(pid, 0)
        assert time.monotonic() - t0 < 10.0
    assert os.waitstatus_to_exitcode(status) == 1
    run_dir = only_run(out)
    info = manifest(run_dir)
    assert info["status"] == "stopped" and "SIGHUP" in info["stop_reason"], info
    assert annotations(run_dir)["e01"]["status"] == "aborted"
    assert check_run(run_dir).returncode == 0
