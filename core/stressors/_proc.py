"""Process plumbing shared by the parent (`handle.py`) and the stressor processes (`child.py`).

- `WorkBlock`: a 4 KiB memfd shared between a stressor and its parent. The stressor overwrites
  its latest report (one JSON object) under a sequence lock; the parent reads the latest without
  ever blocking the stressor (a pipe nobody drains would fill up and stall it).
- `become_stressor`: what every stressor process does first: die with its parent
  (PR_SET_PDEATHSIG), check the parent is still the expected one, carry its own deadline,
  offer itself to the OOM killer first, take the one nice level asked for, and name itself
  `twin-stress KIND EVENT`.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import mmap
import os
import signal
import struct
import time
from typing import Any

from core.telemetry.procfs import parse_pcp_pages

BLOCK_SIZE = 4096
_HEADER = struct.Struct("<QI")  # sequence (odd while writing), payload length
_PR_SET_PDEATHSIG = 1


class WorkBlock:
    """The latest work report of one stressor, in shared memory (single writer)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._map = mmap.mmap(fd, BLOCK_SIZE)
        self._seq = 0

    @classmethod
    def create(cls, name: str) -> WorkBlock:
        fd = os.memfd_create(name)  # close-on-exec: a child gets it only through pass_fds
        os.ftruncate(fd, BLOCK_SIZE)
        return cls(fd)

    def write(self, report: dict[str, Any]) -> None:
        data = json.dumps(report, separators=(",", ":")).encode()
        data = data[: BLOCK_SIZE - _HEADER.size]
        self._seq += 1
        _HEADER.pack_into(self._map, 0, self._seq, 0)
        self._map[_HEADER.size : _HEADER.size + len(data)] = data
        self._seq += 1
        _HEADER.pack_into(self._map, 0, self._seq, len(data))

    def read(self) -> dict[str, Any] | None:
        """The latest complete report, or None before the first one."""
        for _ in range(100):
            seq1, length = _HEADER.unpack_from(self._map, 0)
            if seq1 == 0:
                return None
            if seq1 % 2:
                time.sleep(0.0001)
                continue
            data = bytes(self._map[_HEADER.size : _HEADER.size + length])
            seq2, _ = _HEADER.unpack_from(self._map, 0)
            if seq1 == seq2:
                try:
                    value: dict[str, Any] = json.loads(data)
                except ValueError:
                    return None
                return value
        return None

    def close(self) -> None:
        self._map.close()
        with contextlib.suppress(OSError):
            os.close(self.fd)


def arm_parent_death_signal(expected_parent: int) -> None:
    """Ask the kernel to SIGKILL us when our parent dies, then check it has not already died.

    PR_SET_PDEATHSIG is tied to the parent *thread* that forked us: if that thread exits, we get
    the signal even if the parent process lives on. A parent that died before the prctl() took
    effect would leave us re-parented: `getppid()` tells, and we leave at once.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        os._exit(97)
    if os.getppid() != expected_parent:
        os._exit(98)


STRESSOR_NICE = 0
CONTENTION_MODES = ("shared", "isolated")


def nice_level(value: int) -> int:
    """A stressor's nice level within 0-19: never above normal priority."""
    return max(0, min(19, value))


def stressor_nice() -> int:
    """Niceness of every stressor process: 0 (compete as equals, as stress-ng's workers do)
    unless `TWIN_STRESS_NICE` asks for 0-19."""
    try:
        return nice_level(int(os.environ.get("TWIN_STRESS_NICE", STRESSOR_NICE)))
    except ValueError:
        return STRESSOR_NICE


def set_nice(level: int) -> None:
    """Set this process's niceness to `level` (absolute, unlike `os.nice`): a forked worker
    that sets it again stays at the one level instead of adding to its leader's. Going below
    the inherited level needs CAP_SYS_NICE; without it the process keeps the inherited one."""
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, level)


def become_stressor(title: str, expected_parent: int, deadline_s: float, nice: int) -> None:
    """Everything a stressor process does before its first unit of work."""
    arm_parent_death_signal(expected_parent)
    # Last resort: the default SIGALRM action ends the process even if Python is stuck in C.
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, max(deadline_s, 0.001))
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000\n")
    except OSError:
        pass
    # The load competes at the level asked for (0 by default): twin keeps its own sampler
    # responsive by raising that thread's priority, never by weakening the load.
    set_nice(nice)
    try:
        import setproctitle

        setproctitle.setproctitle(title)
    except ImportError:  # pragma: no cover - setproctitle is a dependency
        pass


PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def lists_free_bytes() -> int:
    """Free pages on the kernel's per-CPU lists (/proc/zoneinfo; 0 where it cannot be read)."""
    try:
        with open("/proc/zoneinfo", "rb") as f:
            return parse_pcp_pages(f.read()) * PAGE_SIZE
    except OSError:
        return 0


def meminfo() -> dict[str, int]:
    """/proc/meminfo in bytes."""
    out: dict[str, int] = {}
    with open("/proc/meminfo") as f:
        for line in f:
            name, _, rest = line.partition(":")
            parts = rest.split()
            if parts:
                out[name] = int(parts[0]) * (1024 if len(parts) > 1 else 1)
    return out


def cpu_times() -> tuple[float, float, float]:
    """Machine-wide (busy, total, steal) jiffies from /proc/stat.

    busy follows psutil's `cpu_percent`: total minus idle and iowait (steal counts as busy);
    guest time is already inside user time.
    """
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    fields += [0.0] * (8 - len(fields))
    user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
    total = user + nice + system + idle + iowait + irq + softirq + steal
    return total - idle - iowait, total, steal


def vm_oom_kills() -> int:
    """The kernel's OOM-kill counter (/proc/vmstat oom_kill), -1 if unknown."""
    try:
        with open("/proc/vmstat") as f:
            for line in f:
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1
