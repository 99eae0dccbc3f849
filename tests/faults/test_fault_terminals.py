"""Promise 7: bad terminals never crash the TUI: tiny sizes (40x10, 20x6), resizing while it
runs, a terminal without colours or capabilities (TERM=dumb, NO_COLOR). Pilot tests drive the
real app (`tui.app.make_app`); one run is the real `twin` in tmux."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow
TWIN = ROOT / ".venv" / "bin" / "twin"
# every screen: editor, dashboard, key help, and (at the smallest size only: it is the slowest
# to build) analysis
KEYS = ["2", "1", "question_mark", "escape", "tab"]


def _pilot(
    out: Path, size: tuple[int, int], keys: list[str], resizes: list[tuple[int, int]]
) -> None:
    from tui_kit import FakeSampler, fake_stressors

    from tui.app import make_app

    async def go() -> None:
        app = make_app(
            None,
            out,
            sampler_factory=lambda: FakeSampler(cores=os.cpu_count() or 1),
            start_stressor=fake_stressors(),
            live_interval_s=0.2,
        )
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.6)  # a few live samples drawn at this size
            for key in keys:
                await pilot.press(key)
                await pilot.pause(0.05)
            for w, h in resizes:
                await pilot.resize_terminal(w, h)
                await pilot.pause(0.3)
            assert app.is_running
            await pilot.press("q")
            await pilot.pause(0.2)

    asyncio.run(go())


@pytest.mark.parametrize("size", [(40, 10), (20, 6)], ids=["40x10", "20x6"])
def test_tiny_terminals_and_resizing_never_crash_the_tui(
    tmp_path: Path, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "dumb")
    keys = [*KEYS, "3", "escape", "1"] if size == (20, 6) else KEYS
    resizes = [(20, 6), (120, 40), (1, 1), (40, 10)] if size == (40, 10) else [(40, 10), size]
    _pilot(tmp_path / "runs", size, keys, resizes)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
@pytest.mark.skipif(not TWIN.exists(), reason=f"{TWIN} is missing: pip install -e .")
def test_real_twin_in_a_dumb_colourless_tmux_survives_resizes(tmp_path: Path) -> None:
    sock = f"twin-fault-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", sock, "-f", "/dev/null"]
    log = tmp_path / "stderr.txt"
    command = (
        f"cd {ROOT} && env TERM=dumb NO_COLOR=1 {TWIN} --out {tmp_path / 'runs'} 2>{log}; "
        "echo EXITED $?; sleep 30"
    )

    def screen() -> str:
        done = subprocess.run([*tmux, "capture-pane", "-p", "-t", "f"], capture_output=True)
        return done.stdout.decode(errors="replace")

    def wait_for(text: str, timeout: float) -> str:
        end = time.monotonic() + timeout
        shown = screen()
        while text not in shown and time.monotonic() < end:
            time.sleep(0.2)
            shown = screen()
        return shown

    subprocess.run([*tmux, "new-session", "-d", "-s", "f", "-x", "40", "-y", "10", command])
    try:
        time.sleep(3.0)
        for w, h in ((20, 6), (100, 30), (40, 10)):
            subprocess.run([*tmux, "resize-window", "-t", "f", "-x", str(w), "-y", str(h)])
            time.sleep(0.8)
            assert "EXITED" not in screen(), f"the TUI exited at {w}x{h}:\n{log.read_text()}"
        subprocess.run([*tmux, "send-keys", "-t", "f", "q"])
        shown = wait_for("EXITED", 15)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    assert "EXITED 0" in shown, f"{shown}\n{log.read_text()}"
    assert "Traceback" not in log.read_text()
