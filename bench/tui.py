"""TUI costs beside its peers, measured on the real apps in tmux (prints figures).

1. Idle CPU, in one run: `twin` live at 1 s sampling, `s-tui` at `-r 1` (a refresh a second,
   like twin) and at its default, `btop` at 1 s (`update_ms = 1000` in a scratch config) and at
   its default, all at the same terminal size, side by side over the same windows (`--reps`
   of them, `--idle-s` each), nobody touching them: CPU time of each process tree as a share
   of one core, the range over the windows, and twin's ratio to `s-tui -r 1` in each window
   (the kernel counts CPU time in 10 ms ticks: 0.05 % of a core over 20 s).
2. Key latency with every core busy: `twin stress cpu --load-percent 100 --workers 4` started
   here (shared contention, as a co-located workload), then `?` is pressed in twin and the time
   until the help screen is on the terminal is measured (tmux `capture-pane` polled every 5 ms,
   so it includes tmux's own delay); `escape` closes it again.

s-tui comes from a venv of its own (`--s-tui PATH`, or `pip install s-tui` into a scratch venv
under /tmp the first time); a peer that cannot be found is left out with a word.

Usage: .venv/bin/python bench/tui.py [--idle-s 20] [--reps 3] [--presses 10] [--size 80x24]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
TWIN = ROOT / ".venv" / "bin" / "twin"
STUI_VENV = Path(tempfile.gettempdir()) / "twin-bench-s-tui"


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
    raise SystemExit(f"{session}: timed out waiting for {text!r} (present={present})")


def pane_tree(session: str) -> list[psutil.Process]:
    """The processes under the tmux pane (the shell and what it started)."""
    pane = psutil.Process(int(tmux("display", "-p", "-t", session, "#{pane_pid}").strip()))
    return [pane, *pane.children(recursive=True)]


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def s_tui(given: str | None) -> Path | None:
    """The s-tui to run: `given`, one on PATH, or one installed into a scratch venv."""
    if given:
        return Path(given)
    found = shutil.which("s-tui")
    if found:
        return Path(found)
    exe = STUI_VENV / "bin" / "s-tui"
    if not exe.exists():
        print(f"installing s-tui into {STUI_VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(STUI_VENV)], check=True)
        pip = [str(STUI_VENV / "bin" / "pip"), "install", "-q", "s-tui"]
        if subprocess.run(pip, check=False).returncode != 0:
            return None
    return exe


def btop_config(scratch: Path, update_ms: int | None) -> str:
    """An XDG_CONFIG_HOME for btop: its defaults, with `update_ms` when given."""
    home = scratch / f"btop-{update_ms or 'default'}"
    (home / "btop").mkdir(parents=True, exist_ok=True)
    if update_ms is not None:
        (home / "btop" / "btop.conf").write_text(f"update_ms = {update_ms}\n")
    return str(home)


@contextmanager
def sessions(commands: dict[str, str], size: tuple[int, int]) -> Iterator[dict[str, str]]:
    """One detached tmux session per command, all `size`; killed at the end."""
    tag = uuid.uuid4().hex[:6]
    names = {label: f"tui-bench-{tag}-{i}" for i, label in enumerate(commands)}
    try:
        for label, command in commands.items():
            width, height = size
            tmux("new", "-d", "-s", names[label], "-x", str(width), "-y", str(height), command)
        yield names
    finally:
        for name in names.values():
            tmux("kill-session", "-t", name)


def idle_figures(names: dict[str, str], seconds: float) -> dict[str, float]:
    """Percent of one core each session's processes used over the same `seconds`."""
    trees = {label: pane_tree(name) for label, name in names.items()}
    before = {label: cpu_seconds(procs) for label, procs in trees.items()}
    t0 = time.perf_counter()
    time.sleep(seconds)
    wall = time.perf_counter() - t0
    return {
        label: 100.0 * (cpu_seconds(procs) - before[label]) / wall for label, procs in trees.items()
    }


def print_idle(windows: list[dict[str, float]], size: str, seconds: float) -> None:
    """Each app's range over the windows, and twin's ratio to s-tui -r 1 in each window."""
    print(f"idle CPU at {size}, {len(windows)} windows of {seconds:.0f} s (the same for all):")
    for label in windows[0]:
        cpus = [window[label] for window in windows]
        median = statistics.median(cpus)
        print(f"  {label:16} {min(cpus):5.2f}-{max(cpus):5.2f} % of one core (median {median:.2f})")
    peer = "s-tui -r 1"
    if peer in windows[0]:
        ratios = [w["twin"] / w[peer] for w in windows if w[peer] > 0]
        if ratios:
            each = " ".join(f"{r:.2f}" for r in ratios)
            print(f"  twin / {peer}: {min(ratios):.2f}-{max(ratios):.2f} (each window: {each})")


def key_latency(session: str, presses: int) -> list[float]:
    times = []
    for _ in range(presses):
        tmux("send-keys", "-t", session, "?")
        times.append(wait_for(session, "Key bindings", 5.0) * 1000)
        tmux("send-keys", "-t", session, "Escape")
        wait_for(session, "Key bindings", 5.0, present=False)
        time.sleep(0.2)
    return times


@contextmanager
def cpu_stress(seconds: float) -> Iterator[subprocess.Popen[bytes]]:
    """`twin stress cpu` on every core at 100 %, 4 workers, as an operator would start it."""
    argv = [str(TWIN), "stress", "cpu", "--load-percent", "100", "--workers", "4"]
    proc = subprocess.Popen(
        [*argv, "--duration", str(seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-s", type=float, default=20.0, help="one idle window (s)")
    parser.add_argument("--reps", type=int, default=3, help="idle windows, one after another")
    parser.add_argument("--presses", type=int, default=10)
    parser.add_argument("--size", default="80x24", help="terminal COLSxROWS (default 80x24)")
    parser.add_argument("--s-tui", help="the s-tui executable (default: PATH, or a scratch venv)")
    parser.add_argument("--no-peers", action="store_true", help="measure twin alone")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is required", file=sys.stderr)
        return 2
    width, height = (int(v) for v in args.size.lower().split("x"))
    scratch = Path(tempfile.mkdtemp(prefix="twin-bench-"))
    env = "LANG=C.UTF-8 LC_ALL=C.UTF-8"
    commands = {"twin": f"cd {ROOT} && {env} {TWIN} --out {scratch / 'runs'}"}
    if not args.no_peers:
        stui = s_tui(args.s_tui)
        if stui is None:
            print("s-tui: not installable here, left out", file=sys.stderr)
        else:
            commands["s-tui -r 1"] = f"{env} {stui} -r 1"
            commands["s-tui (default)"] = f"{env} {stui}"
        if shutil.which("btop"):
            for update_ms in (1000, None):
                label = "btop 1 s" if update_ms else "btop (default)"
                config = btop_config(scratch, update_ms)
                commands[label] = f"{env} XDG_CONFIG_HOME={config} btop"
        else:
            print("btop: not installed (apt-get install btop), left out", file=sys.stderr)
    try:
        with sessions(commands, (width, height)) as names:
            wait_for(names["twin"], "LIVE", 30)
            time.sleep(5)  # let every app settle
            windows = [idle_figures(names, args.idle_s) for _ in range(max(1, args.reps))]
            print_idle(windows, f"{width}x{height}", args.idle_s)
            for label in list(names)[1:]:  # the peers stop: the latency is twin's alone
                tmux("kill-session", "-t", names.pop(label))
            with cpu_stress(args.presses * 2.0 + 30):
                time.sleep(3)
                load = psutil.cpu_percent(interval=1.0)
                times = key_latency(names["twin"], args.presses)
            print(
                f"twin key latency, twin stress cpu --load-percent 100 --workers 4 "
                f"({load:.0f} % CPU): median {statistics.median(times):.0f} ms, "
                f"max {max(times):.0f} ms over {len(times)} presses (goal < 200 ms)"
            )
            tmux("send-keys", "-t", names["twin"], "q")
            time.sleep(2)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LANG", "C.UTF-8")
    sys.exit(main())
