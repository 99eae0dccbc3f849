"""Cheap reads of Linux /proc and /sys: files opened once and re-read with pread.

psutil parses the same files but reopens them on every call (~0.9 ms a tick
for the metrics we log); keeping descriptors open brings a tick near 0.2 ms,
which is what lets the logger run at 100 Hz for a few percent of one core.
"""

from __future__ import annotations

import contextlib
import math
import os
import stat
import time
from pathlib import Path

SECTOR_BYTES = 512
DIGITS = "0123456789"
# /proc/stat counters kept; `processes` (every fork and clone since boot) tells the sampler
# whether a task was created since it last listed /proc.
STAT_COUNTERS = frozenset({b"ctxt", b"intr", b"procs_running", b"procs_blocked", b"processes"})


class ProcFile:
    """A /proc or /sys file kept open and re-read from offset 0."""

    def __init__(self, path: str | Path, size: int = 65536) -> None:
        self.path = str(path)
        self.size = size
        self.fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)

    def read(self) -> bytes:
        data = os.pread(self.fd, self.size, 0)
        while len(data) >= self.size:  # grow until one read holds the whole file
            self.size *= 2
            data = os.pread(self.fd, self.size, 0)
        return data

    def close(self) -> None:
        """Idempotent: a second close never closes a number the system has given out again."""
        if getattr(self, "fd", -1) >= 0:
            os.close(self.fd)
            self.fd = -1

    __del__ = close  # one dropped unclosed (a run's sampler, a plan's) gives its descriptor back


class PrefixFile(ProcFile):
    """A /proc file read only as far as the lines holding `keys` (plus some slack for digits to
    grow): /proc/vmstat formats each line as it is read, so the ~100 lines after the last key
    we want cost nothing. A read that misses a key's line reads the whole file again and
    learns the new length."""

    SLACK = 256

    def __init__(self, path: str | Path, keys: frozenset[bytes]) -> None:
        super().__init__(path)
        self.keys = [b"\n" + key + b" " for key in keys]
        self._fit(super().read())

    def _fit(self, data: bytes) -> None:
        ends = [data.find(b"\n", data.find(key) + 1) for key in self.keys if key in data]
        if len(ends) < len(self.keys) or min(ends) < 0:
            self.last = b""  # a key is absent: the whole file, every time
            return
        self.last = self.keys[ends.index(max(ends))]  # the key whose line ends last
        self.size = max(ends) + 1 + self.SLACK

    def read(self) -> bytes:
        if not self.last:
            return super().read()
        data = os.pread(self.fd, self.size, 0)
        at = data.find(self.last)
        if at < 0 or data.find(b"\n", at + 1) < 0:  # the last key's line got cut off
            self.size = max(self.size, 65536)
            data = super().read()
            self._fit(data)
        return data


def open_optional(path: str | Path) -> ProcFile | None:
    """Open a file the machine may not have (PSI, sensors); None when absent or unreadable."""
    try:
        f = ProcFile(path)
        f.read()
    except OSError:
        return None
    return f


def parse_stat(data: bytes) -> tuple[list[list[int]], dict[bytes, int]]:
    """/proc/stat -> (cpu time rows: total first then each core, other counters)."""
    cpus: list[list[int]] = []
    other: dict[bytes, int] = {}
    for line in data.splitlines():
        if line.startswith(b"cpu"):
            cpus.append(list(map(int, line.split()[1:])))
        else:
            parts = line.split(None, 2)  # the intr line's thousands of numbers stay in one
            if len(parts) >= 2 and parts[0] in STAT_COUNTERS:
                other[parts[0]] = int(parts[1])
    return cpus, other


def parse_keyed(data: bytes, fields: frozenset[bytes]) -> dict[bytes, int]:
    """'Key: value' or 'key value' files (/proc/meminfo, /proc/vmstat) -> the wanted fields.

    Finds each wanted key instead of splitting every line: /proc/vmstat has ~170
    lines and we want three of them.
    """
    out: dict[bytes, int] = {}
    text = b"\n" + data
    for key in fields:
        at = text.find(b"\n" + key)
        while at >= 0:
            end = at + 1 + len(key)
            if text[end : end + 1] in (b":", b" "):
                line_end = text.find(b"\n", end)
                value = text[end + 1 : line_end if line_end >= 0 else None].split(None, 1)[0]
                out[key] = int(value)
                break
            at = text.find(b"\n" + key, end)
    return out


def physical_disks(sys_block: Path = Path("/sys/block")) -> frozenset[bytes]:
    """Whole disks backed by a device; loop, ram, dm and md have no `device` link."""
    try:
        names = os.listdir(sys_block)
    except OSError:
        return frozenset()
    return frozenset(n.encode() for n in names if (sys_block / n / "device").exists())


def parse_diskstats(data: bytes, disks: frozenset[bytes]) -> tuple[int, int, int, int]:
    """-> (read ops, read bytes, write ops, write bytes) summed over `disks`.

    Finds each disk's line by its name between spaces (partitions, loop and dm devices are
    most of the file and are never split)."""
    rops = rbytes = wops = wbytes = 0
    for disk in disks:
        at = data.find(b" " + disk + b" ")  # the kernel pads the fields with spaces
        if at < 0:
            continue
        line_end = data.find(b"\n", at)
        f = data[at : line_end if line_end >= 0 else None].split(None, 8)
        if len(f) >= 8:
            rops += int(f[1])
            rbytes += int(f[3]) * SECTOR_BYTES
            wops += int(f[5])
            wbytes += int(f[7]) * SECTOR_BYTES
    return rops, rbytes, wops, wbytes


def block_stat_file(disks: frozenset[bytes]) -> ProcFile | None:
    """/sys/block/DISK/stat when the machine has exactly one physical disk: the counters
    /proc/diskstats has on its line, in one short file (about half /proc/diskstats' cost)."""
    if len(disks) != 1:
        return None
    return open_optional(f"/sys/block/{next(iter(disks)).decode()}/stat")


def parse_block_stat(data: bytes) -> tuple[int, int, int, int]:
    """/sys/block/DISK/stat -> (read ops, read bytes, write ops, write bytes), as
    `parse_diskstats` has them (the same fields, without major, minor and name)."""
    f = data.split(None, 7)
    return int(f[0]), int(f[2]) * SECTOR_BYTES, int(f[4]), int(f[6]) * SECTOR_BYTES


def parse_net_dev(data: bytes) -> tuple[int, int, int, int]:
    """-> (sent, received over all interfaces, sent, received without loopback)."""
    sent = recv = ext_sent = ext_recv = 0
    for line in data.splitlines()[2:]:
        name, _, rest = line.partition(b":")
        f = rest.split(None, 9)  # received bytes is field 0, sent bytes field 8
        if len(f) < 9:
            continue
        rx, tx = int(f[0]), int(f[8])
        sent += tx
        recv += rx
        if name.strip() != b"lo":
            ext_sent += tx
            ext_recv += rx
    return sent, recv, ext_sent, ext_recv


PCP_COUNT = b" count:"  # indented, in every CPU's entry of a zone's `pagesets`


def parse_pcp_pages(data: bytes) -> int:
    """/proc/zoneinfo -> pages on the per-CPU free lists (the `count:` of every zone's `pagesets`).

    They are free (any allocation takes them first) but not in MemFree, so MemAvailable leaves
    them out: on kernels that tune the lists (6.7+: up to `high_max`, 224 MiB a CPU here) their
    wander moves `mem_used_bytes` by tens of MiB with nothing in use changing."""
    # Split, not a regular expression: a tick that runs no regex leaves the regex engine's
    # code out of every tick (5 of a tick's 125 us here, hot; about 5 % of a cold one too).
    return sum([int(part.partition(b"\n")[0]) for part in data.split(PCP_COUNT)[1:]])


def psi_totals(data: bytes) -> list[int]:
    """/proc/pressure/* -> each line's `total=` (stalled microseconds), in file order."""
    return [int(part.split(None, 1)[0]) for part in data.split(b"total=")[1:]]


def parse_psi(data: bytes) -> dict[str, int]:
    """/proc/pressure/* -> {'some': total_us, 'full': total_us}."""
    kinds = [line.split(None, 1)[0].decode() for line in data.splitlines() if b"total=" in line]
    return dict(zip(kinds, psi_totals(data), strict=True))


def find_temperature_sensors() -> dict[str, Path]:
    """Temperature inputs the machine has, found once: {column-safe name: file}."""
    found: dict[str, Path] = {}
    for hwmon in sorted(Path("/sys/class/hwmon").glob("hwmon*")):
        chip = _read_text(hwmon / "name") or hwmon.name
        for inp in sorted(hwmon.glob("temp*_input")):
            label = _read_text(inp.with_name(inp.name.replace("_input", "_label"))) or inp.name[:-6]
            found.setdefault(_safe(f"{chip}_{label}"), inp)
    for zone in sorted(Path("/sys/class/thermal").glob("thermal_zone*")):
        kind = _read_text(zone / "type") or zone.name
        found.setdefault(_safe(f"{kind}_{zone.name[12:]}"), zone / "temp")
    return found


def find_cpufreq_files() -> list[Path]:
    return sorted(Path("/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq/scaling_cur_freq"))


def _read_text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _safe(name: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "_" for c in name)
    return "_".join(filter(None, out.split("_")))


class ProcessCounter:
    """Entries in /proc (its processes) at each sample, without listing /proc at every one.

    Listing /proc is the priciest read of a tick (~0.25 ms cold, a quarter of a 1 Hz tick).
    `tasks` is (forks and clones since boot, tasks that exist now): both unchanged, no task
    came or went and the count stands. In the root pid namespace /proc's link count is 2 plus
    its own subdirectories plus every process the kernel has (`nr_processes()`): once a listing
    between two equal link counts shows that (no `hidepid`, no `subset=pid`), the count is the
    link count minus that anchor, one stat, and a listing re-checks the anchor every minute.
    Otherwise (a container's /proc lists fewer processes than the kernel has) /proc is listed
    again when a task came or went, at most once a second.
    """

    LIST_EVERY_S = 1.0
    ANCHOR_EVERY_S = 60.0

    def __init__(self, root_pid_namespace: bool) -> None:
        self.count = 0
        self.listings = 0
        self._tasks: tuple[int, bytes] = (-1, b"")
        self._listed_at = -math.inf
        self._anchor: int | None = None
        if root_pid_namespace:
            self._anchor = self._find_anchor(time.monotonic())

    @property
    def anchored(self) -> bool:
        """Whether the count comes from /proc's link count (else from listings)."""
        return self._anchor is not None

    def _list(self, now: float) -> list[str]:
        self.listings += 1
        self._listed_at = now
        names = os.listdir("/proc")
        self.count = sum(1 for name in names if name[0] in DIGITS)
        return names

    def _find_anchor(self, now: float) -> int | None:
        """/proc's link count minus its processes, if that is 2 + its subdirectories."""
        for _ in range(20):  # a process may come or go mid-listing: take a still one
            links = os.stat("/proc").st_nlink
            names = self._list(now)
            if os.stat("/proc").st_nlink == links:
                break
        else:
            return None
        dirs = 0
        for name in names:
            if name[0] not in DIGITS:
                with contextlib.suppress(OSError):
                    dirs += stat.S_ISDIR(os.lstat(f"/proc/{name}").st_mode)
        return links - self.count if links - self.count == 2 + dirs else None

    def __call__(self, now: float, tasks: tuple[int, bytes]) -> int:
        if tasks[0] >= 0 and tasks == self._tasks:  # < 0: no fork counter here
            return self.count
        if self._anchor is not None:
            self._tasks = tasks
            if now - self._listed_at >= self.ANCHOR_EVERY_S:
                self._anchor = self._find_anchor(now)
            if self._anchor is not None:
                self.count = os.stat("/proc").st_nlink - self._anchor
            return self.count
        if now - self._listed_at >= self.LIST_EVERY_S:
            self._tasks = tasks
            self._list(now)
        return self.count
