"""The sampler's fast read path against the straightforward one, on the same /proc bytes.

The fast path finds keys instead of splitting every line, skips most of /proc/diskstats and
computes every rate in one go; the reference below is the plain per-line parse the sampler
used before (and the definition in the data dictionary). Both must give the same values, to
the last bit, for every column, on the real machine's files and on awkward ones.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

from core.telemetry import columns as C
from core.telemetry.logger import iso_ms
from core.telemetry.procfs import (
    STAT_COUNTERS,
    PrefixFile,
    block_stat_file,
    parse_block_stat,
    parse_diskstats,
    parse_keyed,
    parse_net_dev,
    parse_psi,
    parse_stat,
    physical_disks,
    psi_totals,
)
from core.telemetry.sampler import PAGE_SIZE, Sample, SystemSampler
from core.telemetry.writer import DatasetWriter

FILES = ("stat", "meminfo", "vmstat", "diskstats", "net/dev", "loadavg")


# ---- the straightforward reference: every line split, every value looked up by name -------


def ref_stat(data: bytes) -> tuple[list[list[int]], dict[bytes, int]]:
    cpus: list[list[int]] = []
    other: dict[bytes, int] = {}
    for line in data.splitlines():
        parts = line.split()
        if line.startswith(b"cpu"):
            cpus.append([int(x) for x in parts[1:]])
        elif len(parts) >= 2:
            other[parts[0]] = int(parts[1])
    return cpus, other


def ref_keyed(data: bytes) -> dict[bytes, int]:
    out: dict[bytes, int] = {}
    for line in data.splitlines():
        parts = line.replace(b":", b" ").split()
        if len(parts) >= 2:
            out.setdefault(parts[0], int(parts[1]))
    return out


def ref_diskstats(data: bytes, disks: frozenset[bytes]) -> tuple[int, int, int, int]:
    rops = rbytes = wops = wbytes = 0
    for line in data.splitlines():
        f = line.split()
        if len(f) >= 10 and f[2] in disks:
            rops, rbytes = rops + int(f[3]), rbytes + int(f[5]) * 512
            wops, wbytes = wops + int(f[7]), wbytes + int(f[9]) * 512
    return rops, rbytes, wops, wbytes


def ref_net(data: bytes) -> tuple[int, int, int, int]:
    sent = recv = ext_sent = ext_recv = 0
    for line in data.splitlines()[2:]:
        name, _, rest = line.partition(b":")
        f = rest.split()
        rx, tx = int(f[0]), int(f[8])
        sent, recv = sent + tx, recv + rx
        if name.strip() != b"lo":
            ext_sent, ext_recv = ext_sent + tx, ext_recv + rx
    return sent, recv, ext_sent, ext_recv


def ref_psi(data: bytes) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in data.splitlines():
        parts = line.split()
        out[parts[0].decode()] = int(parts[-1].removeprefix(b"total="))
    return out


def ref_values(
    prev: dict[str, bytes], cur: dict[str, bytes], dt: float, disks: frozenset[bytes]
) -> dict[str, float]:
    """The dataset's definitions, computed the plain way (process count and file system aside)."""
    (c0, s0), (c1, s1) = ref_stat(prev["stat"]), ref_stat(cur["stat"])
    v0, v1 = ref_keyed(prev["vmstat"]), ref_keyed(cur["vmstat"])
    mem = ref_keyed(cur["meminfo"])
    d0, d1 = ref_diskstats(prev["diskstats"], disks), ref_diskstats(cur["diskstats"], disks)
    n0, n1 = ref_net(prev["net/dev"]), ref_net(cur["net/dev"])
    load = cur["loadavg"].split()

    def share(a: list[int], b: list[int], fields: list[int]) -> float:
        total = sum(b[:8]) - sum(a[:8])
        return 100.0 * sum(b[i] - a[i] for i in fields) / total if total > 0 else 0.0

    def busy(a: list[int], b: list[int]) -> float:
        total = sum(b[:8]) - sum(a[:8])
        if total <= 0:
            return 0.0
        return 100.0 * (total - (sum(b[3:5]) - sum(a[3:5]))) / total

    total, avail = mem[b"MemTotal"] * 1024, mem[b"MemAvailable"] * 1024
    swap_total = mem[b"SwapTotal"] * 1024
    swap_used = swap_total - mem[b"SwapFree"] * 1024
    out: dict[str, float] = {"cpu_percent": busy(c0[0], c1[0])}
    out |= {f"cpu{i}_percent": busy(c0[i + 1], c1[i + 1]) for i in range(len(c1) - 1)}
    out |= {
        "mem_percent": 100.0 * (total - avail) / total,
        "mem_used_bytes": total - avail,
        "mem_available_bytes": avail,
        "swap_percent": 100.0 * swap_used / swap_total if swap_total else 0.0,
        "disk_read_bytes_per_s": (d1[1] - d0[1]) / dt,
        "disk_write_bytes_per_s": (d1[3] - d0[3]) / dt,
        "disk_read_ops_per_s": (d1[0] - d0[0]) / dt,
        "disk_write_ops_per_s": (d1[2] - d0[2]) / dt,
        "net_sent_bytes_per_s": (n1[0] - n0[0]) / dt,
        "net_recv_bytes_per_s": (n1[1] - n0[1]) / dt,
        "load_1m": float(load[0]),
        "cpu_user_percent": share(c0[0], c1[0], [0, 1]),
        "cpu_system_percent": share(c0[0], c1[0], [2, 5, 6]),
        "cpu_iowait_percent": share(c0[0], c1[0], [4]),
        "cpu_steal_percent": share(c0[0], c1[0], [7]),
        "ctx_switches_per_s": (s1[b"ctxt"] - s0[b"ctxt"]) / dt,
        "interrupts_per_s": (s1[b"intr"] - s0[b"intr"]) / dt,
        "procs_running": s1[b"procs_running"],
        "procs_blocked": s1[b"procs_blocked"],
        "load_5m": float(load[1]),
        "load_15m": float(load[2]),
        "mem_total_bytes": total,
        "mem_cached_bytes": (mem[b"Cached"] + mem[b"Buffers"]) * 1024,
        "swap_used_bytes": swap_used,
        "swap_in_bytes_per_s": (v1[b"pswpin"] - v0[b"pswpin"]) * PAGE_SIZE / dt,
        "swap_out_bytes_per_s": (v1[b"pswpout"] - v0[b"pswpout"]) * PAGE_SIZE / dt,
        "major_faults_per_s": (v1[b"pgmajfault"] - v0[b"pgmajfault"]) / dt,
        "net_ext_sent_bytes_per_s": (n1[2] - n0[2]) / dt,
        "net_ext_recv_bytes_per_s": (n1[3] - n0[3]) / dt,
    }
    if "zoneinfo" in cur:  # every per-CPU pageset's count: free pages MemFree leaves out
        counts = [
            line.split()[1]
            for line in cur["zoneinfo"].splitlines()
            if line.strip().startswith(b"count:")
        ]
        out["mem_pcp_free_bytes"] = sum(int(c) for c in counts) * PAGE_SIZE
    for res in C.PSI_RESOURCES:
        if f"pressure/{res}" in cur:
            p0, p1 = ref_psi(prev[f"pressure/{res}"]), ref_psi(cur[f"pressure/{res}"])
            for kind in sorted(p1):
                stalled = (p1[kind] - p0[kind]) / (dt * 1e6) * 100.0
                out[f"psi_{res}_{kind}_percent"] = min(100.0, stalled)
    return out


# ---- feeding both the same bytes -----------------------------------------------------------


class ScriptedFile:
    """Stands in for a /proc file: returns whatever snapshot the test put there."""

    def __init__(self, name: str, snapshot: Callable[[], dict[str, bytes]]) -> None:
        self.name, self.snapshot = name, snapshot

    def read(self) -> bytes:
        return self.snapshot()[self.name]

    def close(self) -> None:
        pass


def scripted_sampler(first: dict[str, bytes]) -> tuple[SystemSampler, dict[str, bytes]]:
    """A real sampler whose /proc files read from `current` (a dict the test swaps)."""
    sampler = SystemSampler()
    current = dict(first)
    for attr, name in zip(
        ("_stat", "_meminfo", "_vmstat", "_diskstats", "_netdev", "_loadavg"), FILES, strict=True
    ):
        setattr(sampler, attr, ScriptedFile(name, lambda: current))
    sampler._psi = {res: ScriptedFile(f"pressure/{res}", lambda: current) for res in sampler._psi}
    sampler._block_stat = None  # /proc/diskstats (the one-disk file: its own test below)
    if sampler._zoneinfo is not None:
        sampler._zoneinfo = ScriptedFile("zoneinfo", lambda: current)
    return sampler, current


def snapshot() -> dict[str, bytes]:
    names = list(FILES) + ["zoneinfo"] + [f"pressure/{r}" for r in C.PSI_RESOURCES]
    return {n: Path(f"/proc/{n}").read_bytes() for n in names if Path(f"/proc/{n}").exists()}


def compare(sampler: SystemSampler, current: dict[str, bytes], later: dict[str, bytes]) -> None:
    """Prime on `current`, read on `later`: every value as the plain parse has it."""
    before = dict(current)
    sampler._prev = sampler._counters(100.0)  # prime() without raising this thread's priority
    current.update(later)
    fast = sampler.read(101.25)
    want = ref_values(before, current, 1.25, sampler._disks)
    text = {"timestamp", "elapsed_s", "active_events"}
    assert list(fast) == [c.name for c in sampler.columns if c.name not in text]  # in order
    assert set(fast) - set(want) == {"process_count"}
    for name, value in want.items():
        assert (name, fast[name]) == (name, value)
        assert type(fast[name]) is type(value)


def test_fast_path_equals_the_plain_parse_on_this_machine() -> None:
    first = snapshot()
    sampler, current = scripted_sampler(first)
    busy_until = time.monotonic() + 0.3
    with open(os.devnull, "wb") as sink:
        while time.monotonic() < busy_until:
            sink.write(os.urandom(4096))
    compare(sampler, current, snapshot())


def awkward_stat(cores: int, bump: int = 0) -> bytes:
    """/proc/stat as a large server has it: a huge `intr` line after the cpu rows."""
    rows = [b"cpu  %d 2 50 %d 50 3 4 5 6 7\n" % (100 + bump, 800 + 2 * bump)]
    rows += [
        b"cpu%d %d 1 20 %d 20 1 2 3 0 0\n" % (i, 60 + i * bump, 400 + bump) for i in range(cores)
    ]
    irqs = b" ".join(b"%d" % (i + bump) for i in range(4000))
    return b"".join(rows) + (
        b"intr %d %s\nctxt %d\nbtime 1700000000\nprocesses %d\n"
        b"procs_running 3\nprocs_blocked 1\nsoftirq 99 1 2 3\n"
    ) % (5000 + 7 * bump, irqs, 12345 + 11 * bump, 777 + bump)


AWKWARD_NET = (
    b"Inter-|   Receive |  Transmit\n face |bytes packets|bytes\n"
    b"    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n"
    b"  eth0: 500 5 0 0 0 0 0 0 300 3 0 0 0 0 0 0\n"
    b"br-1a2b:12345678901 5 0 0 0 0 0 0 98765 3 0 0 0 0 0 0\n"
)


def awkward_disks(bump: int) -> bytes:
    return (
        b" 259       0 nvme0n1 %d 0 200 0 5 0 %d 0 0 0 0 0 0 0 0 0 0\n"
        b" 259       1 nvme0n1p1 7 0 150 0 1 0 8 0 0 0 0 0 0 0 0 0 0\n"
        b"   8       0 sda 3 0 24 0 %d 0 72 0 0 0 0\n"
        b"   8      16 sdab 1000 0 9000 0 900 0 9000 0 0 0 0\n"
        b"   7       0 loop0 99 0 999 0 99 0 999 0 0 0 0\n"
    ) % (10 + bump, 100 + 3 * bump, 9 + 5 * bump)


def test_fast_path_equals_the_plain_parse_on_awkward_files() -> None:
    """A huge intr line, partitions, a disk whose name extends another's, an interface
    name glued to its counters."""
    sampler = SystemSampler()
    first = snapshot() | {
        "stat": awkward_stat(sampler.n_cpus),
        "diskstats": awkward_disks(0),
        "net/dev": AWKWARD_NET,
    }
    sampler, current = scripted_sampler(first)
    sampler._disks = frozenset({b"nvme0n1", b"sda"})
    later = {
        "stat": awkward_stat(sampler.n_cpus, bump=37),
        "diskstats": awkward_disks(41),
        "net/dev": AWKWARD_NET.replace(b"500 5", b"900 5").replace(b"98765", b"99999"),
    }
    compare(sampler, current, later)


def test_parsers_agree_with_the_plain_ones_on_the_awkward_files() -> None:
    stat = awkward_stat(64, bump=5)
    cpus, counters = parse_stat(stat)
    assert len(cpus) == 65 and cpus == ref_stat(stat)[0]
    assert counters == {k: v for k, v in ref_stat(stat)[1].items() if k in STAT_COUNTERS}
    assert counters[b"intr"] == 5035 and counters[b"processes"] == 782
    disks = frozenset({b"nvme0n1", b"sda"})
    diskstats = awkward_disks(0)
    assert parse_diskstats(diskstats, disks) == ref_diskstats(diskstats, disks)
    assert parse_diskstats(diskstats, disks) == (13, 224 * 512, 14, 172 * 512)
    assert parse_net_dev(AWKWARD_NET) == ref_net(AWKWARD_NET)
    for res in C.PSI_RESOURCES:
        path = Path(f"/proc/pressure/{res}")
        if path.exists():
            data = path.read_bytes()
            assert parse_psi(data) == ref_psi(data)
            assert psi_totals(data) == list(ref_psi(data).values())
    meminfo = Path("/proc/meminfo").read_bytes()
    fields = frozenset({b"MemTotal", b"MemAvailable", b"SwapFree", b"Cached"})
    assert parse_keyed(meminfo, fields) == {k: ref_keyed(meminfo)[k] for k in fields}


def test_sampler_agrees_with_psutil_on_what_does_not_move(tmp_path: Path) -> None:
    """An independent reader of the same files: the sizes psutil reports are the sampler's."""
    sampler = SystemSampler(output_dir=tmp_path)
    sampler._prev = sampler._counters(time.monotonic())
    values = sampler.read(time.monotonic() + 0.01)
    assert values["mem_total_bytes"] == psutil.virtual_memory().total
    assert sampler.n_cpus == psutil.cpu_count()
    # The file system's free space through the directory's descriptor, as df has it for the
    # path (other tests may write a few hundred MiB in between: a unit slip is 512x or more).
    assert os.fstatvfs(sampler._out_fd).f_fsid == os.statvfs(tmp_path).f_fsid
    free = psutil.disk_usage(str(tmp_path)).free
    assert values["out_fs_free_bytes"] == pytest.approx(free, abs=1 << 30)
    sampler.close()


def test_row_is_what_formatting_each_cell_gives(tmp_path: Path) -> None:
    """The one-template row against each cell formatted on its own (and strftime's clock)."""
    sampler = SystemSampler(output_dir=tmp_path)
    probe = C.probe_columns("web")
    writer = DatasetWriter(tmp_path / "d.csv", sampler.columns + C.QUALITY + probe)
    sampler._prev = sampler._counters(time.monotonic())
    values = sampler.read(time.monotonic() + 0.25) | {
        "sample_interval_s": 0.25,
        "sample_lateness_ms": 1e-4,
        "logger_cpu_percent": 12.3456,
        "probe_web_count": 3,
        "probe_web_p50_ms": 0.0625,
        "probe_web_p99_ms": math.nan,
    }
    when = datetime(2026, 1, 2, 3, 4, 5, 987654, tzinfo=UTC)
    row = writer.format_row(Sample(when, 7.0005, values, ("e01", "e02")))
    plain = [when.strftime("%Y-%m-%dT%H:%M:%S.") + "987Z", format(7.0005, ".3f")]
    for column in writer.columns[2:]:
        value = values.get(column.name, math.nan if column.optional else 0.0)
        if column.name == "active_events":
            plain.append("e01;e02")
        elif math.isnan(value) and column.optional:
            plain.append("")
        else:
            plain.append(format(value, f".{column.decimals}f"))
    assert row == ",".join(plain) + "\n"
    assert row.count(",") == len(writer.columns) - 1
    for moment in (when, datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)):
        assert iso_ms(moment) == moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_one_disk_file_has_the_counters_of_its_diskstats_line() -> None:
    """/sys/block/DISK/stat stands in for /proc/diskstats on a one-disk machine: the same
    counters at the same instant (read between two diskstats reads that agree)."""
    disks = physical_disks()
    block = block_stat_file(disks)
    if block is None:
        pytest.skip(f"{len(disks)} physical disks here: the sampler reads /proc/diskstats")
    for _ in range(100):
        before = parse_diskstats(Path("/proc/diskstats").read_bytes(), disks)
        one = parse_block_stat(block.read())
        if parse_diskstats(Path("/proc/diskstats").read_bytes(), disks) == before:
            assert one == before
            return
    pytest.fail("the disk never stood still for three reads")


def test_vmstat_prefix_holds_every_wanted_line_as_the_file_changes(tmp_path: Path) -> None:
    """The prefix read stops after the last wanted line; when numbers grow past its slack (or
    lines move), it reads the whole file again rather than lose a key."""
    path = tmp_path / "vmstat"
    lines = [b"nr_free_pages 1", b"pswpin 7", b"pswpout 8"] + [b"filler%d 0" % i for i in range(50)]
    lines.insert(20, b"pgmajfault 9")
    path.write_bytes(b"\n".join(lines) + b"\n")
    fields = frozenset({b"pswpin", b"pswpout", b"pgmajfault"})
    f = PrefixFile(path, fields)
    assert len(f.read()) < path.stat().st_size
    assert parse_keyed(f.read(), fields) == {b"pswpin": 7, b"pswpout": 8, b"pgmajfault": 9}
    lines[1] = b"pswpin " + b"1" * 400  # the lines before the last key grow past the slack
    with path.open("r+b") as out:  # rewritten in place: the descriptor stays the same file
        out.write(b"\n".join(lines) + b"\n")
    assert parse_keyed(f.read(), fields) == {
        b"pswpin": int(b"1" * 400),
        b"pswpout": 8,
        b"pgmajfault": 9,
    }
    assert parse_keyed(f.read(), fields)[b"pgmajfault"] == 9  # and the learnt length holds it
    f.close()


def test_samplers_dropped_without_close_give_their_descriptors_back(tmp_path: Path) -> None:
    """A run, a plan and `twin columns` each build a sampler; a long TUI session many runs:
    none may leak the /proc files and the run directory it keeps open."""
    fds = Path("/proc/self/fd")
    before = len(list(fds.iterdir()))
    for _ in range(50):
        sampler = SystemSampler(output_dir=tmp_path)
        sampler.prime(time.monotonic())
        sampler.read(time.monotonic())
        del sampler
    closed = SystemSampler(output_dir=tmp_path)
    closed.close()
    closed.close()  # twice is harmless
    del closed
    assert len(list(fds.iterdir())) <= before + 1
