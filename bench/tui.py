"""TUI costs, measured on the real app in tmux over real telemetry (prints figures).

1. Idle CPU: `twin` live at 1 s sampling, nobody touching it: CPU time of the
   whole process (UI, telemetry and control threads) over a window, as a share
   of one core. Goal: under 3 %.
2. Key latency under load: every core at 100 % from our own CPU stressor
   (launched with `c`), then `?` is pressed and the time until the help screen
   is on the terminal is measured (tmux `capture-pane` polled every 5 ms, so it
   includes tmux's own delay); `escape` closes it again. Goal: under 200 ms.

Usage: .venv/bin/python bench/tui.py [--idle-s 20] [--presses 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / ".venv" / "bin" / "twin"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10).stdout


def shown(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_for(session: str, text: str, timeout: float, present: bool = True) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if (text in shown(session)) == present:
            return time.perf_counter() - start
        time.sleep(0.005)
    raise SystemExit(f"timed out waiting for {text!r} (present={present})")


def twin_process(session: str) -> psutil.Process:
    pane = psutil.Process(int(tmux("display", "-p", "-t", session, "#{pane_pid}").strip()))
    for proc in [pane, *pane.children(recursive=True)]:
        if any("twin" in part for part in proc.cmdline()[:2]):
            return proc
    raise SystemExit("twin process not found")


def idle_cpu(session: str, seconds: float) -> float:
    proc = twin_process(session)
    before = proc.cpu_times()
    t0 = time.perf_counter()
    time.sleep(seconds)
    after = proc.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return 100.0 * used / (time.perf_counter() - t0)


def key_latency(session: str, presses: int) -> list[float]:
    times = []
    for _ in range(presses):
        tmux("send-keys", "-t", session, "?")
        times.append(wait_for(session, "Key bindings", 5.0) * 1000)
        tmux("send-keys", "-t", session, "Escape")
        wait_for(session, "Key bindings", 5.0, present=False)
        time.sleep(0.2)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-s", type=float, default=20.0)
    parser.add_argument("--presses", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is required", file=sys.stderr)
        return 2
    out = Path(tempfile.mkdtemp(prefix="twin-bench-"))
    session = f"twin-bench-{uuid.uuid4().hex[:6]}"
    tmux("new", "-d", "-s", session, "-x", "100", "-y", "30", f"cd {ROOT} && {TWIN} --out {out}")
    try:
        wait_for(session, "LIVE", 20)
        time.sleep(3)  # let start-up settle
        cpu = idle_cpu(session, args.idle_s)
        print(f"idle CPU of the app at 1 s sampling: {cpu:.2f} % of one core (goal < 3 %)")
        tmux("send-keys", "-t", session, "c")  # CPU stressor: every core, 100 %, 30 s
        wait_for(session, "a01", 10)
        time.sleep(2)
        load = psutil.cpu_percent(interval=1.0)
        times = key_latency(session, args.presses)
        print(
            f"key latency with every core busy ({load:.0f} % CPU): "
            f"median {statistics.median(times):.0f} ms, max {max(times):.0f} ms "
            f"over {len(times)} presses (goal < 200 ms)"
        )
        tmux("send-keys", "-t", session, "q")
        time.sleep(3)
    finally:
        tmux("kill-session", "-t", session)
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
