"""Safety checks made before anything starts: memory and disk targets across overlapping events.

Memory: the `size_mb` of every memory event running at the same time, plus a per-process
overhead for every stressor running then, must fit in MemAvailable (plus the free pages on the
kernel's per-CPU lists, which MemAvailable leaves out: `available_bytes`) minus a reserve. The
reserve follows stress-ng's `--oom-avoid` (it refuses to leave less than 2.5% of RAM), with a
floor of 256 MiB. Disk: the `file_mb` of overlapping disk events must fit in the free space of the
scratch directory's filesystem minus max(1 GiB, 5% of the filesystem).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from core.schedule import Event
from core.shapes import peak_level
from core.stressors._proc import lists_free_bytes, meminfo
from core.stressors.params import param_problems, resolve_params

MIB = 1 << 20
MEM_RESERVE_FRACTION = 0.025  # stress-ng --oom-avoid threshold
MEM_RESERVE_FLOOR = 256 * MIB
PROCESS_OVERHEAD = 32 * MIB  # one Python interpreter per stressor
DISK_RESERVE_FRACTION = 0.05
DISK_RESERVE_FLOOR = 1024 * MIB


def available_bytes(info: Mapping[str, int]) -> tuple[int, int]:
    """(MemAvailable, else MemFree; free pages on the kernel's per-CPU lists), in bytes: what a
    memory target may take. The lists' pages are free (an allocation takes them first) yet
    MemAvailable leaves them out, and right after a large release they hold hundreds of MiB
    while they drain (354-828 MiB after the 11-22 GiB steps of a verify sweep on the bench VM,
    at ~10 MiB/s)."""
    return info.get("MemAvailable", info["MemFree"]), lists_free_bytes()


def memory_reserve_bytes(mem_total: int) -> int:
    return max(int(mem_total * MEM_RESERVE_FRACTION), MEM_RESERVE_FLOOR)


def disk_reserve_bytes(fs_size: int) -> int:
    return max(int(fs_size * DISK_RESERVE_FRACTION), DISK_RESERVE_FLOOR)


def runtime_reserve(kind: str, default: int) -> int:
    """The reserve a running stressor keeps. `TWIN_STRESS_{MEM,DISK}_RESERVE_MB` raises it (the
    tests use this to prove growth stops without filling the machine); it can never lower it."""
    name = "TWIN_STRESS_MEM_RESERVE_MB" if kind == "memory" else "TWIN_STRESS_DISK_RESERVE_MB"
    try:
        override = int(os.environ.get(name, "0")) * MIB
    except ValueError:
        override = 0
    return max(default, override)


def existing_ancestor(path: Path) -> Path:
    """`path` or its nearest existing parent (the scratch dir may be created later)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def disk_space(path: Path) -> tuple[int, int]:
    """(free bytes for unprivileged use, filesystem size) of the filesystem holding `path`."""
    st = os.statvfs(existing_ancestor(path))
    return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize


def _overlapping(events: Sequence[Event], i: int) -> list[int]:
    """Indices of the events running at the moment event `i` starts (including `i`)."""
    t = events[i].start_s
    return [j for j, e in enumerate(events) if e.start_s <= t < e.end_s or j == i]


def _mib(n: int) -> str:
    return f"{n / MIB:.0f} MiB"


def memory_held_bytes(params: dict[str, Any]) -> int:
    """What a memory stressor holds at its peak: its size (a shape's peak) and its process."""
    return int(peak_level(resolve_params("memory", params)["size_mb"]) * MIB) + PROCESS_OVERHEAD


def safety_problems(
    events: Sequence[Event], scratch_dir: Path, freeing_bytes: int = 0
) -> list[tuple[int, str, str]]:
    """`[(event index, param_name, reason)]` for memory or disk targets this machine cannot hold.

    Sums only rise when an event starts, so checking at every event's start finds every peak.
    Events with invalid params are skipped (`param_problems` reports them). `freeing_bytes`:
    memory that stressors running now hold and free before these events start (a planned
    event is checked as it boots, ahead of its start, while the one before it still runs).
    """
    resolved: dict[int, dict[str, Any]] = {}
    for i, e in enumerate(events):
        if not param_problems(e.stressor, e.params):
            resolved[i] = resolve_params(e.stressor, e.params)
    problems: list[tuple[int, str, str]] = []
    info = meminfo()
    avail, lists = available_bytes(info)
    mem_reserve = memory_reserve_bytes(info["MemTotal"])
    mem_budget = avail + lists - mem_reserve + freeing_bytes
    on_lists = f" plus {_mib(lists)} on the kernel's per-CPU free lists," if lists else ""
    freed = f" plus {_mib(freeing_bytes)} that events ending first free" if freeing_bytes else ""
    need_disk = any(events[i].stressor == "disk" for i in resolved)
    free, size = disk_space(scratch_dir) if need_disk else (0, 0)
    disk_reserve = disk_reserve_bytes(size)
    for i, event in enumerate(events):
        if i not in resolved or event.stressor not in ("memory", "disk"):
            continue
        group = [j for j in _overlapping(events, i) if j in resolved]
        if event.stressor == "memory":
            need = sum(  # every overlapping stressor's process; a memory one's peak size too
                memory_held_bytes(resolved[j])
                if events[j].stressor == "memory"
                else PROCESS_OVERHEAD
                for j in group
            )
            if need > mem_budget:
                others = len(group) - 1
                what = f" with {others} overlapping event(s)" if others else ""
                problems.append(
                    (
                        i,
                        "size_mb",
                        f"needs {_mib(need)}{what} (incl. {_mib(PROCESS_OVERHEAD)} per stressor "
                        f"process), more than the {_mib(max(mem_budget, 0))} this machine can "
                        f"spare (MemAvailable {_mib(avail)}{on_lists} minus a "
                        f"{_mib(mem_reserve)} reserve"
                        f"{freed})",
                    )
                )
        else:
            need = sum(resolved[j]["file_mb"] * MIB for j in group if events[j].stressor == "disk")
            budget = free - disk_reserve
            if need > budget:
                others = len(group) - 1
                what = f" with {others} overlapping event(s)" if others else ""
                problems.append(
                    (
                        i,
                        "file_mb",
                        f"needs {_mib(need)}{what}, more than the {_mib(max(budget, 0))} free "
                        f"on {existing_ancestor(scratch_dir)} (free {_mib(free)} minus a "
                        f"{_mib(disk_reserve)} reserve)",
                    )
                )
    return problems
