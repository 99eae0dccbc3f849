"""A sysstat data file (`sa*`, written by `sadc`) read through `sadf -j ... -- -A`.

sadf is the only reader of its own binary format (which changes between sysstat versions), so
twin asks the user's installed sysstat to turn the file into JSON and maps each record onto
twin's columns: CPU busy = 100 - idle - iowait (all CPUs and each core), memory from MemTotal
(memfree + memused + buffers + cached + slab, as sysstat defines memused) and MemAvailable, swap,
physical-disk rates (sysstat's `io` counts whole devices only, as twin does), network over all
interfaces and without loopback, load, run queue, context switches, interrupts, faults and PSI.
sysstat's `plist-sz` counts threads, not processes: `process_count` stays absent.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.formats.imported import ImportedRun, write_imported_run
from core.stressors._proc import arm_parent_death_signal

KIB = 1024
SECTOR = 512  # sysstat's io `bread`/`bwrtn` are 512-byte blocks per second
PAGE = 4096  # pswpin/pswpout are pages; sysstat files come from 4 KiB-page machines here
SADF_TIMEOUT_S = 300
NO_SADF = (
    "sadf not found: reading a sar file needs sysstat's sadf "
    "(apt-get install sysstat, dnf install sysstat, pacman -S sysstat)"
)


@dataclass
class SarData:
    times: list[datetime] = field(default_factory=list)
    values: list[dict[str, float]] = field(default_factory=list)
    intervals: list[float] = field(default_factory=list)
    host: dict[str, Any] = field(default_factory=dict)
    n_cpus: int = 1


def sadf_json(path: Path) -> dict[str, Any]:
    """The file as sadf's JSON; BadInput when sadf is missing or cannot read it."""
    sadf = shutil.which("sadf")
    if sadf is None:
        raise BadInput(NO_SADF)
    if not path.is_file():
        raise BadInput(f"{path}: no such sar file")
    parent = os.getpid()
    try:
        done = subprocess.run(
            [sadf, "-j", str(path), "--", "-A"],
            capture_output=True,
            text=True,
            timeout=SADF_TIMEOUT_S,
            preexec_fn=lambda: arm_parent_death_signal(parent),  # dies with us
            env={**os.environ, "LC_ALL": "C"},
        )
    except subprocess.TimeoutExpired:
        raise BadInput(f"{path}: sadf took more than {SADF_TIMEOUT_S} s") from None
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise BadInput(f"{path}: sadf cannot read it: {why} (another sysstat version? try sadf -c)")
    try:
        data: dict[str, Any] = json.loads(done.stdout)
    except ValueError as exc:
        raise BadInput(f"{path}: sadf gave no JSON ({exc})") from None
    return data


def _time(stamp: dict[str, Any]) -> datetime:
    when = datetime.fromisoformat(f"{stamp['date']}T{stamp['time']}")
    return when.replace(tzinfo=UTC) if stamp.get("utc", 1) else when.astimezone(UTC)


def _busy(cpu: dict[str, Any]) -> float:
    return 100.0 - float(cpu["idle"]) - float(cpu["iowait"])


def _cpu(values: dict[str, float], loads: list[dict[str, Any]]) -> None:
    for cpu in loads:
        if cpu.get("cpu") == "all":
            values["cpu_percent"] = _busy(cpu)
            values["cpu_user_percent"] = float(cpu["usr"]) + float(cpu["nice"])
            values["cpu_system_percent"] = sum(
                float(cpu.get(k, 0.0)) for k in ("sys", "irq", "soft")
            )
            values["cpu_iowait_percent"] = float(cpu["iowait"])
            values["cpu_steal_percent"] = float(cpu["steal"])
        elif str(cpu.get("cpu", "")).isdigit():
            values[f"cpu{cpu['cpu']}_percent"] = _busy(cpu)


def _memory(values: dict[str, float], mem: dict[str, Any]) -> None:
    total_kb = sum(
        float(mem.get(k, 0)) for k in ("memfree", "memused", "buffers", "cached", "slab")
    )
    total, avail = total_kb * KIB, float(mem["avail"]) * KIB
    values.update(
        mem_total_bytes=total,
        mem_available_bytes=avail,
        mem_used_bytes=total - avail,
        mem_percent=100.0 * (total - avail) / total if total > 0 else math.nan,
        mem_cached_bytes=(float(mem["cached"]) + float(mem["buffers"])) * KIB,
        swap_used_bytes=float(mem["swpused"]) * KIB,
        swap_percent=float(mem["swpused-percent"]),
    )


def _network(values: dict[str, float], devices: list[dict[str, Any]]) -> None:
    sent = sum(float(d["txkB"]) for d in devices) * KIB
    recv = sum(float(d["rxkB"]) for d in devices) * KIB
    ext = [d for d in devices if d.get("iface") != "lo"]
    values.update(
        net_sent_bytes_per_s=sent,
        net_recv_bytes_per_s=recv,
        net_ext_sent_bytes_per_s=sum(float(d["txkB"]) for d in ext) * KIB,
        net_ext_recv_bytes_per_s=sum(float(d["rxkB"]) for d in ext) * KIB,
    )


def _psi(values: dict[str, float], psi: dict[str, Any]) -> None:
    for key, resource in (("psi-cpu", "cpu"), ("psi-io", "io"), ("psi-mem", "memory")):
        for kind in ("some", "full"):
            value = psi.get(key, {}).get(f"{kind}_avg")
            if value is not None:
                values[f"psi_{resource}_{kind}_percent"] = float(value)


def record_values(rec: dict[str, Any], machine: str) -> dict[str, float]:
    """Twin's columns from one sadf record (what the record lacks stays absent)."""
    values: dict[str, float] = {}
    _cpu(values, rec.get("cpu-load", []))
    if "memory" in rec:
        _memory(values, rec["memory"])
    if "io" in rec:
        io = rec["io"]
        values["disk_read_bytes_per_s"] = float(io["io-reads"]["bread"]) * SECTOR
        values["disk_write_bytes_per_s"] = float(io["io-writes"]["bwrtn"]) * SECTOR
        values["disk_read_ops_per_s"] = float(io["io-reads"]["rtps"])
        values["disk_write_ops_per_s"] = float(io["io-writes"]["wtps"])
    if "network" in rec and "net-dev" in rec["network"]:
        _network(values, rec["network"]["net-dev"])
    if "queue" in rec:
        q = rec["queue"]
        values.update(
            load_1m=float(q["ldavg-1"]), load_5m=float(q["ldavg-5"]), load_15m=float(q["ldavg-15"])
        )
        values.update(procs_running=float(q["runq-sz"]), procs_blocked=float(q["blocked"]))
    if "process-and-context-switch" in rec:
        values["ctx_switches_per_s"] = float(rec["process-and-context-switch"]["cswch"])
    for intr in rec.get("interrupts", []):
        if intr.get("intr") == "sum":
            values["interrupts_per_s"] = float(intr["all"])
    if "paging" in rec:
        values["major_faults_per_s"] = float(rec["paging"]["majflt"])
    if "swap-pages" in rec and machine in ("x86_64", "i686", "i386"):
        values["swap_in_bytes_per_s"] = float(rec["swap-pages"]["pswpin"]) * PAGE
        values["swap_out_bytes_per_s"] = float(rec["swap-pages"]["pswpout"]) * PAGE
    if "psi" in rec:
        _psi(values, rec["psi"])
    return values


def read_sar(path: Path) -> SarData:
    """Every record of a sar file that has CPU statistics (restart marks carry none)."""
    data = sadf_json(path)
    hosts = data.get("sysstat", {}).get("hosts", [])
    if not hosts:
        raise BadInput(f"{path}: sadf found no host in it")
    host = hosts[0]
    out = SarData(n_cpus=int(host.get("number-of-cpus") or 1))
    machine = str(host.get("machine", ""))
    out.host = {
        "hostname": host.get("nodename", "unknown"),
        "kernel": host.get("release", ""),
        "os": host.get("sysname", ""),
        "machine": machine,
        "logical_cpus": out.n_cpus,
    }
    for rec in host.get("statistics", []):
        if "timestamp" not in rec or not rec.get("cpu-load"):
            continue
        when = _time(rec["timestamp"])
        if out.times and when <= out.times[-1]:
            continue  # a clock set back: sadf's records are in file order
        values = record_values(rec, machine)
        interval = float(rec["timestamp"].get("interval") or 0.0)
        if interval > 0:
            values["sample_interval_s"] = interval
        out.times.append(when)
        out.values.append(values)
        out.intervals.append(interval)
    if not out.times:
        raise BadInput(f"{path}: no CPU records in it (was sadc run with at least 2 samples?)")
    total = out.values[-1].get("mem_total_bytes")
    if total is not None:
        out.host["ram_bytes"] = int(total)
    return out


def import_sar(path: Path, parent: Path, name: str | None = None) -> Path:
    """Write a twin run bundle (no events) from a sar file; return its directory."""
    sar = read_sar(path)
    intervals = sorted(i for i in sar.intervals if i > 0)
    interval = intervals[len(intervals) // 2] if intervals else 1.0
    run_name = name or f"sar-{sar.host['hostname']}-{sar.times[0]:%Y%m%d}"
    source = {
        "format": "sar",
        "file": str(path.resolve()),
        "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "reader": "sadf -j FILE -- -A",
        "records": len(sar.times),
        "absent": "process_count (sysstat counts threads, not processes)",
    }
    run = ImportedRun(
        name=run_name,
        times=sar.times,
        values=sar.values,
        n_cpus=sar.n_cpus,
        interval_s=interval,
        events=(),
        source=source,
        host=sar.host,
    )
    return write_imported_run(run, parent)
