"""Typed samples of the real system, with counters turned into per-second rates.

`SystemSampler.prime()` reads every counter once; each `sample()` then reports
rates and percentages over the real time since the previous read, so even the
first row holds numbers. What the machine lacks (PSI, sensors, cpufreq) is
detected once at construction and never polled.

The thread that primes the sampler is the one that samples: `prime()` raises that thread's
priority where the system allows it (`raise_thread_priority`), so twin's own telemetry stays on
time under load that competes with it as equals, rather than by weakening the load.
"""

from __future__ import annotations

import contextlib
import operator
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from core.telemetry import columns as C
from core.telemetry.procfs import (
    PrefixFile,
    ProcessCounter,
    ProcFile,
    block_stat_file,
    find_cpufreq_files,
    find_temperature_sensors,
    open_optional,
    parse_block_stat,
    parse_diskstats,
    parse_keyed,
    parse_net_dev,
    parse_pcp_pages,
    parse_psi,
    parse_stat,
    physical_disks,
    psi_totals,
)

MEMINFO_FIELDS = frozenset(
    {b"MemTotal", b"MemAvailable", b"MemFree", b"Buffers", b"Cached", b"SwapTotal", b"SwapFree"}
)
VMSTAT_FIELDS = frozenset({b"pswpin", b"pswpout", b"pgmajfault"})
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# A sampling thread sleeps almost all the time: the lowest real-time priority lets it preempt
# busy nice-0 work the moment it wakes, and RT throttling still bounds it if it ever spun.
SAMPLER_FIFO_PRIORITY = 1
SAMPLER_NICE = -10


def in_root_pid_namespace() -> bool:
    """Whether this process sees the kernel's own pid namespace: /proc/self/status's NSpid holds
    one pid per namespace level, so exactly one (kernels before 4.1 have no NSpid: no)."""
    try:
        status = Path("/proc/self/status").read_bytes()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith(b"NSpid:"):
            return len(line.split()) == 2
    return False


def raise_thread_priority(real_time: bool = True) -> str:
    """Give the calling thread the best priority allowed; returns what it got (for run.json).

    SCHED_FIFO 1 where permitted (root or CAP_SYS_NICE, and a cgroup with real-time runtime),
    else nice -10 for this thread only (Linux: a thread id is a PRIO_PROCESS target), else
    unchanged (`real_time=False` skips SCHED_FIFO: the bench compares both). Never raises.
    """
    if real_time:
        with contextlib.suppress(OSError, AttributeError):
            # pid 0 is this thread; a process or thread it starts gets the normal policy back.
            policy = os.SCHED_FIFO | os.SCHED_RESET_ON_FORK
            os.sched_setscheduler(0, policy, os.sched_param(SAMPLER_FIFO_PRIORITY))
            return f"SCHED_FIFO {SAMPLER_FIFO_PRIORITY}"
    tid = threading.get_native_id()
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, tid, SAMPLER_NICE)
        return f"nice {SAMPLER_NICE}"
    with contextlib.suppress(OSError):
        return f"nice {os.getpriority(os.PRIO_PROCESS, tid)} (not permitted to raise it)"
    return "unchanged"


@dataclass(frozen=True, slots=True)
class Sample:
    """One row of the dataset: every numeric column by name, plus the events running."""

    timestamp: datetime
    elapsed_s: float
    values: Mapping[str, float]
    active_events: tuple[str, ...] = ()

    @property
    def cpu_percent(self) -> float:
        return self.values["cpu_percent"]


class Sampler(Protocol):
    """What the logger needs: fixed columns, a priming read, and timed reads."""

    @property
    def columns(self) -> list[C.Column]: ...

    def prime(self, now: float) -> None: ...

    def read(self, now: float) -> dict[str, float]: ...


@dataclass(slots=True)
class _Counters:
    """Every cumulative counter of one read. `totals`: context switches, interrupts, bytes
    swapped in and out, major faults, disk read ops, bytes, write ops, bytes, network bytes
    sent, received, sent and received without loopback (the rates of a read are computed
    together); `psi`: stalled microseconds in pressure column order."""

    time: float
    cpu: list[list[int]]
    stat: dict[bytes, int]
    totals: list[int]
    psi: list[int]


class SystemSampler:
    """Reads /proc and /sys through descriptors opened once (Linux)."""

    def __init__(self, output_dir: Path | None = None) -> None:
        self._stat = ProcFile("/proc/stat")
        self._meminfo = ProcFile("/proc/meminfo")
        self._vmstat = PrefixFile("/proc/vmstat", VMSTAT_FIELDS)
        self._diskstats = ProcFile("/proc/diskstats")
        self._netdev = ProcFile("/proc/net/dev")
        self._loadavg = ProcFile("/proc/loadavg")
        self._disks = physical_disks()
        self._block_stat = block_stat_file(self._disks)
        self._psi = {
            res: f
            for res in C.PSI_RESOURCES
            if (f := open_optional(f"/proc/pressure/{res}")) is not None
        }
        self._psi_kinds = {res: sorted(parse_psi(f.read())) for res, f in self._psi.items()}
        self._zoneinfo = open_optional("/proc/zoneinfo")  # per-CPU free lists (~30 us a read)
        if self._zoneinfo is not None and parse_pcp_pages(self._zoneinfo.read()) <= 0:
            self._zoneinfo.close()  # no pagesets listed (a container's view, an old kernel)
            self._zoneinfo = None
        self._freq = [f for p in find_cpufreq_files() if (f := open_optional(p)) is not None]
        self._temps = {
            name: f for name, p in find_temperature_sensors().items() if (f := open_optional(p))
        }
        self._output_dir = output_dir
        self.n_cpus = len(parse_stat(self._stat.read())[0]) - 1
        self._prev: _Counters | None = None
        self.priority = ""  # what `prime()` got for the sampling thread
        self._process_count = ProcessCounter(in_root_pid_namespace())
        self._columns = self._build_columns()
        self._core_rows = range(1, self.n_cpus + 1)  # /proc/stat rows of the cores
        # Pressure totals are read in file order (some, full); the columns list kinds sorted.
        file_order = [(res, kind) for res, f in self._psi.items() for kind in parse_psi(f.read())]
        column_order = [(res, kind) for res, kinds in self._psi_kinds.items() for kind in kinds]
        self._psi_order = [file_order.index(key) for key in column_order]
        # Every numeric column in order: a read builds its values in one go, zipped with these.
        text = {C.TIMESTAMP.name, C.ELAPSED.name, C.ACTIVE_EVENTS.name}
        self._value_names = [c.name for c in self._columns if c.name not in text]
        self._out_fd = -1
        if output_dir is not None:
            self._out_fd = os.open(output_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def _build_columns(self) -> list[C.Column]:
        cols = list(C.CONTRACT_BEFORE_CORES)
        cols += [C.cpu_core_column(i) for i in range(self.n_cpus)]
        cols += C.CONTRACT_AFTER_CORES
        cols += C.CPU_EXTRAS + C.MEM_EXTRAS + C.NET_EXTRAS
        for res in self._psi:
            cols += [C.psi_column(res, kind) for kind in self._psi_kinds[res]]
        if self._zoneinfo is not None:
            cols.append(C.PCP_FREE)
        if self._freq:
            cols.append(C.FREQ)
        cols += [C.temperature_column(name) for name in self._temps]
        if self._output_dir is not None:
            cols += C.OUTPUT_FS
        return cols

    @property
    def columns(self) -> list[C.Column]:
        return self._columns

    @property
    def process_counter(self) -> ProcessCounter:
        """How the process count is kept (the bench reports its listings)."""
        return self._process_count

    def _counters(self, now: float) -> _Counters:
        cpu, stat = parse_stat(self._stat.read())
        vm = parse_keyed(self._vmstat.read(), VMSTAT_FIELDS)
        psi = [total for f in self._psi.values() for total in psi_totals(f.read())]
        return _Counters(
            time=now,
            cpu=cpu,
            stat=stat,
            totals=[
                stat.get(b"ctxt", 0),
                stat.get(b"intr", 0),
                vm.get(b"pswpin", 0) * PAGE_SIZE,
                vm.get(b"pswpout", 0) * PAGE_SIZE,
                vm.get(b"pgmajfault", 0),
                *(
                    parse_block_stat(self._block_stat.read())
                    if self._block_stat is not None
                    else parse_diskstats(self._diskstats.read(), self._disks)
                ),
                *parse_net_dev(self._netdev.read()),
            ],
            psi=[psi[i] for i in self._psi_order],
        )

    def prime(self, now: float) -> None:
        """First read of every counter, from the thread that will sample (its priority rises)."""
        self.priority = raise_thread_priority()
        self._prev = self._counters(now)

    def read(self, now: float) -> dict[str, float]:
        """Numeric columns over the interval since the previous read (or the priming).

        Every value goes into one list in column order, zipped with the names at the end: a
        1 Hz tick is mostly the interpreter coming back cold, so each step saved counts."""
        cur = self._counters(now)
        prev = self._prev or cur
        self._prev = cur
        dt = max(cur.time - prev.time, 1e-9)
        (
            ctx_switches,
            interrupts,
            swap_in,
            swap_out,
            major_faults,
            disk_read_ops,
            disk_read_bytes,
            disk_write_ops,
            disk_write_bytes,
            net_sent,
            net_recv,
            net_ext_sent,
            net_ext_recv,
        ) = [d / dt for d in map(operator.sub, cur.totals, prev.totals)]
        stalled_per_s = dt * 1e6
        psi = [min(100.0, d / stalled_per_s * 100.0) for d in map(operator.sub, cur.psi, prev.psi)]
        cpu = _cpu_breakdown(prev.cpu[0], cur.cpu[0])
        p_cpu, c_cpu = prev.cpu, cur.cpu

        mem = parse_keyed(self._meminfo.read(), MEMINFO_FIELDS)
        total = mem.get(b"MemTotal", 0) * 1024
        avail = mem.get(b"MemAvailable", 0) * 1024
        swap_total = mem.get(b"SwapTotal", 0) * 1024
        swap_used = swap_total - mem.get(b"SwapFree", 0) * 1024
        load = self._loadavg.read().split()
        tasks = load[3].partition(b"/")[2] if len(load) > 3 else b""  # running/existing tasks
        stat = cur.stat

        values: list[float] = [
            cpu["busy"],
            *[_cpu_busy(p_cpu[row], c_cpu[row]) for row in self._core_rows],
            100.0 * (total - avail) / total if total else 0.0,
            total - avail,
            avail,
            100.0 * swap_used / swap_total if swap_total else 0.0,
            disk_read_bytes,
            disk_write_bytes,
            disk_read_ops,
            disk_write_ops,
            net_sent,
            net_recv,
            float(load[0]),
            self._process_count(now, (stat.get(b"processes", -1), tasks)),
            cpu["user"],
            cpu["system"],
            cpu["iowait"],
            cpu["steal"],
            ctx_switches,
            interrupts,
            stat.get(b"procs_running", 0),
            stat.get(b"procs_blocked", 0),
            float(load[1]),
            float(load[2]),
            total,
            (mem.get(b"Cached", 0) + mem.get(b"Buffers", 0)) * 1024,
            swap_used,
            swap_in,
            swap_out,
            major_faults,
            net_ext_sent,
            net_ext_recv,
            *psi,
        ]
        if self._zoneinfo is not None:
            values.append(parse_pcp_pages(self._zoneinfo.read()) * PAGE_SIZE)
        if self._freq:
            khz = [int(f.read()) for f in self._freq]
            values.append(sum(khz) / len(khz) / 1000.0)
        values += [int(f.read()) / 1000.0 for f in self._temps.values()]
        if self._out_fd >= 0:
            st = os.fstatvfs(self._out_fd)
            size = st.f_blocks * st.f_frsize
            used = size - st.f_bfree * st.f_frsize
            values += [st.f_bavail * st.f_frsize, 100.0 * used / size if size else 0.0]
        return dict(zip(self._value_names, values, strict=True))

    def close(self) -> None:
        for f in [
            self._stat,
            self._meminfo,
            self._vmstat,
            self._diskstats,
            self._netdev,
            self._loadavg,
            *self._psi.values(),
            *([self._zoneinfo] if self._zoneinfo is not None else []),
            *([self._block_stat] if self._block_stat is not None else []),
            *self._freq,
            *self._temps.values(),
        ]:
            f.close()
        self._close_out()

    def _close_out(self) -> None:
        if getattr(self, "_out_fd", -1) >= 0:
            os.close(self._out_fd)
            self._out_fd = -1

    __del__ = _close_out  # the /proc files close themselves (ProcFile) when dropped


def _cpu_busy(prev: list[int], cur: list[int]) -> float:
    """Percent busy between two /proc/stat cpu rows: not idle (field 4) nor iowait (5) of the
    first 8 fields (guest time is inside user). Slice sums: C-level, run for every core."""
    total = sum(cur[:8]) - sum(prev[:8])
    if total <= 0:
        return 0.0
    return 100.0 * (total - (sum(cur[3:5]) - sum(prev[3:5]))) / total


def _cpu_breakdown(prev: list[int], cur: list[int]) -> dict[str, float]:
    """Percent busy/user/system/iowait/steal between two /proc/stat cpu rows.

    Fields: user nice system idle iowait irq softirq steal guest guest_nice; guest
    time is already inside user, so it is not added again.
    """
    d = [b - a for a, b in zip(prev[:8], cur[:8], strict=False)]
    d += [0] * (8 - len(d))
    total = sum(d)
    if total <= 0:
        return {"busy": 0.0, "user": 0.0, "system": 0.0, "iowait": 0.0, "steal": 0.0}
    user, nice, system, _idle, iowait, irq, softirq, steal = d
    return {
        "busy": _cpu_busy(prev, cur),  # the one definition of busy
        "user": 100.0 * (user + nice) / total,
        "system": 100.0 * (system + irq + softirq) / total,
        "iowait": 100.0 * iowait / total,
        "steal": 100.0 * steal / total,
    }
