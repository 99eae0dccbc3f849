"""Telemetry: /proc parsing, rates over real elapsed time, deadline scheduling, crash-safe rows."""

from __future__ import annotations

import csv
import itertools
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from core.recovery import repair_dataset
from core.telemetry import columns as C
from core.telemetry.logger import RunClock, TelemetryLoop
from core.telemetry.procfs import (
    ProcessCounter,
    parse_diskstats,
    parse_net_dev,
    parse_psi,
    parse_stat,
)
from core.telemetry.sampler import Sample, SystemSampler, _cpu_breakdown, in_root_pid_namespace
from core.telemetry.writer import DatasetWriter

STAT = b"""cpu  100 0 50 800 50 0 0 0 0 0
cpu0 60 0 20 400 20 0 0 0 0 0
cpu1 40 0 30 400 30 0 0 0 0 0
intr 5000 1 2 3
ctxt 12345
procs_running 3
procs_blocked 1
"""


def test_parse_stat_reads_total_cores_and_counters() -> None:
    cpus, other = parse_stat(STAT)
    assert len(cpus) == 3 and cpus[1][0] == 60
    assert other == {b"intr": 5000, b"ctxt": 12345, b"procs_running": 3, b"procs_blocked": 1}


def test_cpu_breakdown_counts_iowait_as_not_busy() -> None:
    prev = [100, 0, 50, 800, 50, 0, 0, 0, 0, 0]
    cur = [150, 0, 60, 830, 60, 0, 0, 0, 0, 0]  # +50 user +10 sys +30 idle +10 iowait of 100
    pct = _cpu_breakdown(prev, cur)
    assert pct["busy"] == pytest.approx(60.0)
    assert pct["iowait"] == pytest.approx(10.0)
    assert pct["user"] == pytest.approx(50.0)


def test_diskstats_counts_only_physical_disks_in_bytes() -> None:
    data = (
        b"   8       0 sda 10 0 200 0 5 0 100 0 0 0 0\n"
        b"   8       1 sda1 10 0 200 0 5 0 100 0 0 0 0\n"
        b"   7       0 loop0 99 0 999 0 99 0 999 0 0 0 0\n"
    )
    assert parse_diskstats(data, frozenset({b"sda"})) == (10, 200 * 512, 5, 100 * 512)


def test_net_dev_includes_loopback_in_totals_only() -> None:
    data = (
        b"Inter-|   Receive |  Transmit\n face |bytes packets|bytes\n"
        b"    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n"
        b"  eth0: 500 5 0 0 0 0 0 0 300 3 0 0 0 0 0 0\n"
    )
    assert parse_net_dev(data) == (1300, 1500, 300, 500)


def test_psi_totals() -> None:
    data = b"some avg10=0.00 avg60=0 avg300=0 total=1234\nfull avg10=0 avg60=0 avg300=0 total=5\n"
    assert parse_psi(data) == {"some": 1234, "full": 5}


def test_real_sampler_sees_our_own_cpu_and_disk_work(tmp_path: Path) -> None:
    """Rates come from the real system: a busy thread and an fsynced write must show."""
    sampler = SystemSampler(output_dir=tmp_path)
    sampler.prime(time.monotonic())
    end = time.monotonic() + 0.6
    with open(tmp_path / "blob", "wb") as f:
        f.write(os.urandom(8 << 20))
        f.flush()
        os.fsync(f.fileno())
    while time.monotonic() < end:
        pass
    values = sampler.read(time.monotonic())
    assert values["cpu_percent"] >= 100 / (os.cpu_count() or 1) * 0.6
    assert values["disk_write_bytes_per_s"] > 1 << 20
    names = [
        c.name for c in sampler.columns if c.name not in ("timestamp", "elapsed_s", "active_events")
    ]
    assert all(isinstance(values[n], (int, float)) for n in names)
    assert values["mem_used_bytes"] + values["mem_available_bytes"] == values["mem_total_bytes"]


class CountingSampler:
    """A fake sampler: counts reads, reports nothing but a constant."""

    def __init__(self) -> None:
        self.columns = [C.TIMESTAMP, C.ELAPSED, C.CONTRACT_BEFORE_CORES[2]]
        self.primed = False

    def prime(self, now: float) -> None:
        self.primed = True

    def read(self, now: float) -> dict[str, float]:
        return {"cpu_percent": 1.0}


def test_deadline_loop_has_exact_row_count_and_no_drift() -> None:
    samples: list[Sample] = []
    clock = RunClock.start_now()
    loop = TelemetryLoop(CountingSampler(), 0.05, clock, samples.append)
    loop.run(until_s=2.0)
    assert len(samples) == 40
    elapsed = [s.elapsed_s for s in samples]
    assert elapsed == sorted(elapsed)
    # Each sample sits on its own deadline: lateness never accumulates.
    assert abs(elapsed[-1] - 2.0) < 0.02
    assert max(s.values["sample_lateness_ms"] for s in samples) < 20


def test_loop_stops_promptly() -> None:
    loop = TelemetryLoop(CountingSampler(), 1.0, RunClock.start_now(), lambda s: None)
    thread = threading.Thread(target=loop.run)
    thread.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    loop.stop()
    thread.join(2)
    assert not thread.is_alive() and time.monotonic() - t0 < 0.5


def test_writer_rows_are_whole_and_torn_tail_is_repaired(tmp_path: Path) -> None:
    path = tmp_path / "system_metrics_dataset.csv"
    cols = [C.TIMESTAMP, C.ELAPSED, C.CONTRACT_BEFORE_CORES[2], C.ACTIVE_EVENTS]
    writer = DatasetWriter(path, cols)
    clock = RunClock.start_now()
    for k in range(1, 4):
        writer.write(Sample(clock.wall_at(k), float(k), {"cpu_percent": 12.5}, ("e01",)))
    writer.close()
    rows = list(csv.DictReader(path.open()))
    assert [r["elapsed_s"] for r in rows] == ["1.000", "2.000", "3.000"]
    assert rows[0]["timestamp"].endswith("Z") and rows[0]["active_events"] == "e01"
    with path.open("a") as f:
        f.write("2026-01-01T00:00:04.000Z,4.0")  # what kill -9 mid-write could leave
    assert repair_dataset(path)
    assert len(list(csv.DictReader(path.open()))) == 3
    assert not repair_dataset(path)


class StallingSampler(CountingSampler):
    """Blocks once for several intervals, as a starved process would."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def read(self, now: float) -> dict[str, float]:
        self.reads += 1
        if self.reads == 5:
            time.sleep(0.35)
        return super().read(now)


def test_a_stall_is_caught_up_without_bursts_or_lost_rows() -> None:
    samples: list[Sample] = []
    loop = TelemetryLoop(StallingSampler(), 0.1, RunClock.start_now(), samples.append)
    loop.run(until_s=2.0)
    assert len(samples) == 20
    gaps = [b.elapsed_s - a.elapsed_s for a, b in itertools.pairwise(samples)]
    assert min(gaps) >= 0.05 - 0.002  # never closer than half an interval
    # the stall starts at the 0.5 s sample, so the one due at 0.6 s is ~250 ms late
    assert max(s.values["sample_lateness_ms"] for s in samples) > 200


class ProcLinks:
    """os.stat with /proc's link count set by the test (every other path: the real stat)."""

    def __init__(self, links: int) -> None:
        self.links = links
        self.real = os.stat

    def __call__(self, path: str, *args: object, **kwargs: object) -> object:
        if path == "/proc":
            return os.stat_result((0o40555, 1, 1, self.links, 0, 0, 0, 0, 0, 0))
        return self.real(path, *args, **kwargs)  # type: ignore[arg-type]


def counted_listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real_listdir = os.listdir

    def counting_listdir(path: str) -> list[str]:
        calls.append(path)
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", counting_listdir)
    return calls


def test_in_the_root_namespace_the_count_follows_the_link_count_without_listing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Listing /proc is a quarter of a 1 Hz tick: once anchored, the count is /proc's link
    count minus the anchor (one stat), and only the minutely check lists /proc again."""
    counter = ProcessCounter(root_pid_namespace=True)
    if counter._anchor is None:
        pytest.skip("/proc's link count does not count its processes here (hidepid?)")
    links = ProcLinks(counter._anchor + 120)
    monkeypatch.setattr(os, "stat", links)
    calls = counted_listings(monkeypatch)
    listed_at = counter._listed_at
    assert counter(listed_at + 1, (500, b"130")) == 120 and calls == []
    assert counter(listed_at + 2, (500, b"130")) == 120  # nothing came or went: no stat
    links.links += 3  # three processes came
    assert counter(listed_at + 2.1, (503, b"140")) == 123 and calls == []
    links.links -= 1
    assert counter(listed_at + 30, (504, b"130")) == 122 and calls == []
    counter(listed_at + 61, (505, b"131"))  # a minute on: the anchor is checked by a listing
    assert calls == ["/proc"] * len(calls) and calls


def test_in_a_child_pid_namespace_any_task_coming_or_going_lists_proc_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A container's /proc lists fewer processes than the kernel counts in /proc's link count,
    so there /proc is listed when the forks counter or the task count moved, once a second
    at most."""
    counter = ProcessCounter(root_pid_namespace=False)
    calls = counted_listings(monkeypatch)
    first = counter(10.0, (500, b"120"))
    assert calls == ["/proc"] and first > 0
    counter(10.5, (501, b"121"))  # a fork, but within a second of the last list
    assert len(calls) == 1
    counter(11.0, (501, b"121"))
    assert len(calls) == 2
    assert counter(14.0, (501, b"121")) == counter.count and len(calls) == 2
    counter(14.5, (501, b"120"))  # a task exited: listed again
    assert len(calls) == 3


def test_proc_link_count_is_its_directories_plus_every_process() -> None:
    """The kernel fact the root-namespace count stands on, on this machine."""
    if not in_root_pid_namespace():
        pytest.skip("not in the root pid namespace: the sampler does not rely on it here")
    for _ in range(50):  # other work forks meanwhile: retry until one listing stands still
        before = os.stat("/proc").st_nlink
        names = os.listdir("/proc")
        if os.stat("/proc").st_nlink != before:
            continue
        processes = sum(1 for name in names if name.isdigit())
        directories = sum(
            1
            for name in names
            if not name.isdigit() and os.path.isdir(f"/proc/{name}")
            if not os.path.islink(f"/proc/{name}")
        )
        if before == 2 + directories + processes:
            assert ProcessCounter(root_pid_namespace=True)._anchor == 2 + directories
            return
    pytest.fail(f"/proc links {before} != 2 + {directories} directories + {processes} processes")


@pytest.mark.parametrize("root_namespace", [True, False], ids=["link-count", "listing"])
def test_process_count_follows_real_forks(root_namespace: bool) -> None:
    """Five real children between two reads: the sampler's count is what a listing of /proc
    shows at that moment (retried until nothing else on the machine came or went meanwhile)."""
    sampler = SystemSampler()
    sampler._process_count = counter = ProcessCounter(root_namespace)
    counter.LIST_EVERY_S = 0.0  # a listing at every read that follows a fork (no 1 s wait)
    sampler._prev = sampler._counters(time.monotonic())
    children = [subprocess.Popen(["sleep", "30"]) for _ in range(5)]
    try:
        for _ in range(50):
            before = os.listdir("/proc")
            count = sampler.read(time.monotonic())["process_count"]
            if os.listdir("/proc") == before:
                break
        listed = sum(1 for name in before if name.isdigit())
        assert count == listed
        assert all(str(child.pid) in before for child in children)
    finally:
        for child in children:
            child.kill()
            child.wait()
