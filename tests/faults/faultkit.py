"""Tools of the fault-injection suite: tagged twin processes, waits, tiny filesystems.

Every twin a fault test starts carries a unique `TWIN_FAULT_TAG` in its environment, and
everything it starts inherits it (stressors, their workers). "No stressor outlives twin" is
then checked exactly, by scanning /proc for the tag, without mistaking the stressors of other
runs on the same machine for ours.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from core.runner import PRELAUNCH_S

from conftest import ROOT, TWIN

TAG_VAR = "TWIN_FAULT_TAG"
DATASET = "system_metrics_dataset.csv"


def new_tag() -> str:
    return uuid.uuid4().hex


def tagged_env(tag: str, **extra: str) -> dict[str, str]:
    return {**os.environ, TAG_VAR: tag, **extra}


def _procs() -> dict[int, tuple[str, int, int]]:
    """{pid: (state, ppid, pgid)} of every process."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(entry)] = (fields[0], int(fields[1]), int(fields[2]))
    return out


def _carries(pid: int, needle: bytes) -> bool:
    try:
        return needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


# The process groups of the stressors each tag's twin started. A stressor renames itself
# (setproctitle), which overwrites its copy of the environment, so the tag finds twin and the
# stressors are found through it: children of a tagged process, and everything in their
# process groups (each stressor leads its own group; its workers are in it). Recorded on every
# scan, so a stressor stays found after twin is gone.
_GROUPS: dict[str, set[int]] = {}


def tagged_pids(tag: str) -> list[int]:
    """Live (not zombie) processes of the tagged twin: itself, its stressors and their workers."""
    needle = f"{TAG_VAR}={tag}".encode()
    procs = _procs()
    groups = _GROUPS.setdefault(tag, set())
    tagged = {pid for pid in procs if _carries(pid, needle)}
    for pid, (_, ppid, pgid) in procs.items():
        if ppid in tagged and pgid == pid:  # a stressor leader: its own group
            groups.add(pgid)
    found = tagged | {pid for pid, (_, _, pgid) in procs.items() if pgid in groups}
    return sorted(pid for pid in found if procs[pid][0] not in ("Z", "X"))


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def stressor_pids(tag: str) -> list[int]:
    return [p for p in tagged_pids(tag) if cmdline(p).startswith("twin-stress")]


def wait_for(pred: Callable[[], Any], timeout: float, step: float = 0.02) -> Any:
    """Poll `pred` until it returns something truthy; that value, or the last falsy one."""
    end = time.monotonic() + timeout
    value = pred()
    while not value and time.monotonic() < end:
        time.sleep(step)
        value = pred()
    return value


def wait_gone(tag: str, timeout: float = 2.0) -> list[int]:
    """Wait until no process carries `tag`; returns what is left (empty when clean)."""
    wait_for(lambda: not tagged_pids(tag), timeout)
    return tagged_pids(tag)


def kill_tagged(tag: str) -> None:
    """Clean-up after a failed test: nothing of ours may keep running."""
    for pid in tagged_pids(tag):
        with contextlib.suppress(OSError):
            os.kill(pid, 9)


@contextlib.contextmanager
def tag_guard() -> Iterator[str]:
    tag = new_tag()
    try:
        yield tag
    finally:
        kill_tagged(tag)


def start_twin(
    tag: str, *args: str, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*TWIN, *args],
        cwd=ROOT,
        env=env or tagged_env(tag),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def run_dirs(parent: Path) -> list[Path]:
    return sorted(p for p in parent.iterdir() if p.is_dir()) if parent.is_dir() else []


def only_run(parent: Path) -> Path:
    (run_dir,) = run_dirs(parent)
    return run_dir


def manifest(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "run.json").read_text())
    return data


def annotations(run_dir: Path) -> dict[str, dict[str, str]]:
    with (run_dir / "annotations.csv").open(newline="") as f:
        return {r["event_id"]: r for r in csv.DictReader(f)}


def dataset_rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / DATASET).open(newline="") as f:
        return list(csv.DictReader(f))


def assert_rows_contiguous(rows: list[dict[str, str]], interval: float) -> None:
    """Row k (from 1) is the sample due at k x interval: none missing, none torn."""
    assert rows, "no rows"
    for k, row in enumerate(rows, start=1):
        assert None not in row and None not in row.values(), f"row {k} has the wrong field count"
        t = float(row["elapsed_s"])
        # the deadline of sample k; a loaded machine may run it late, never early
        assert k * interval - 0.01 <= t <= k * interval + 1.0, f"row {k} at {t}"


def running_stressor(tag: str, event_id: str, timeout: float = 15.0) -> int:
    """The pid of the leader of stressor `event_id` of the tagged twin, once it runs."""
    return running_stressors(tag, (event_id,), timeout)[event_id]


def running_stressors(tag: str, event_ids: Sequence[str], timeout: float = 15.0) -> dict[str, int]:
    """The leader pid of each of `event_ids`, once they all run: found one by one, then one
    wait for the planned start (waiting after each made a 3 s event end before the last kill)."""

    def find(event_id: str) -> int:
        for pid in stressor_pids(tag):
            parts = cmdline(pid).split()
            if len(parts) == 3 and parts[2] == event_id:  # "twin-stress KIND EVENT" (leader)
                return pid
        return 0

    pids: dict[str, int] = {}
    for event_id in event_ids:
        pids[event_id] = wait_for(lambda e=event_id: find(e), timeout)
        assert pids[event_id], f"stressor {event_id} never started"
    # A planned stressor is launched PRELAUNCH_S ahead and waits, armed, for its start.
    time.sleep(PRELAUNCH_S + 0.2)
    return pids


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at `path` (e.g. "size=2m"); the test skips, saying why, where mounting
    is not permitted (no root, no CAP_SYS_ADMIN, a container without mount rights)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(directory: Path, name: str = "filler") -> int:
    """Fill the filesystem of `directory` up to the last byte; returns the bytes written."""
    written = 0
    chunk = b"\xa5" * (64 << 10)
    with (directory / name).open("wb", buffering=0) as f:
        for size in (len(chunk), 4096, 512, 1):
            while True:
                try:
                    n = f.write(chunk[:size])
                except OSError:
                    break
                if not n:
                    break
                written += n
    return written


def eat_inodes(directory: Path) -> int:
    """Create empty files until the filesystem has no inode left; returns how many."""
    n = 0
    while True:
        try:
            (directory / f"inode-{n}").touch()
        except OSError:
            return n
        n += 1


def profile_text(
    *events: str, name: str = "fault", interval: float = 0.2, baseline: float = 0.4
) -> str:
    """A parallel profile; each event is a TOML `[[events]]` body, e.g.
    'stressor = "cpu"\\nduration_s = 30\\nparams = { load_percent = 20 }'."""
    head = (
        f'name = "{name}"\n[sampling]\ninterval_s = {interval}\n'
        f'[run]\nmode = "parallel"\nbaseline_s = {baseline}\n'
    )
    return head + "".join(f"[[events]]\n{e}\n" for e in events)


CPU_30S = 'stressor = "cpu"\nduration_s = 30\nparams = { load_percent = 10, workers = 2 }'
MEM_30S = 'stressor = "memory"\nduration_s = 30\nparams = { size_mb = 16 }'
