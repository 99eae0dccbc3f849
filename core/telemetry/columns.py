"""The dataset's columns: name, unit and how each is computed (the data dictionary).

The first block is the contract (order fixed); everything after it is extra and
only present where the machine has it. `twin columns` prints this table.

`core.telemetry.metric_lists` looks any column up by name and holds every named
choice of columns (the metric lists analysis, the model and the UIs pick from).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    unit: str
    description: str
    decimals: int = 2
    level: bool = False
    """A gauge read at the sample instant; otherwise a rate or share over the interval ending there."""
    optional: bool = False
    """May be empty in a row (NaN in the values): nothing could be measured in that interval."""


TIMESTAMP = Column(
    "timestamp",
    "ISO 8601 UTC",
    "Wall-clock time of the sample, milliseconds, `Z` suffix; derived from the monotonic run clock so it never jumps.",
)
ELAPSED = Column(
    "elapsed_s",
    "s",
    "Seconds since the run started (the run clock of schedule.json and annotations.csv).",
    3,
)
ACTIVE_EVENTS = Column(
    "active_events",
    "ids",
    "Ids of the stress events running at the sample, `;`-separated, empty when none.",
)


CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def tick_step(metric: str, n_cpus: int, interval_s: float) -> float | None:
    """The step a CPU share moves by at `interval_s`: /proc/stat counts CPU time in clock
    ticks, so a share over an interval is a whole number of ticks over all the interval's
    (at 0.5 s on 2 CPUs, one point); None for a column not counted in ticks."""
    if interval_s <= 0:
        return None
    if metric == "cpu_percent":
        return 100.0 / (max(1, n_cpus) * interval_s * CLOCK_TICKS_PER_S)
    if re.fullmatch(r"cpu\d+_percent", metric):
        return 100.0 / (interval_s * CLOCK_TICKS_PER_S)
    return None


def cpu_core_column(i: int) -> Column:
    return Column(
        f"cpu{i}_percent",
        "%",
        f"Busy share of logical CPU {i} over the interval (/proc/stat: all but idle and iowait).",
    )


CONTRACT_BEFORE_CORES = [
    TIMESTAMP,
    ELAPSED,
    Column(
        "cpu_percent",
        "%",
        "Busy share of all CPUs over the interval ending at the sample (/proc/stat deltas; idle and iowait count as not busy).",
    ),
]
CONTRACT_AFTER_CORES = [
    Column("mem_percent", "%", "Memory in use: (MemTotal - MemAvailable) / MemTotal.", level=True),
    Column("mem_used_bytes", "B", "MemTotal - MemAvailable (/proc/meminfo).", 0, level=True),
    Column(
        "mem_available_bytes",
        "B",
        "MemAvailable: memory available for new work without swapping.",
        0,
        level=True,
    ),
    Column(
        "swap_percent",
        "%",
        "Swap in use: (SwapTotal - SwapFree) / SwapTotal; 0 when there is no swap.",
        level=True,
    ),
    Column(
        "disk_read_bytes_per_s",
        "B/s",
        "Bytes read from physical disks per second over the interval (/proc/diskstats sectors x 512; virtual devices such as loop, dm and md excluded so nothing is counted twice).",
        1,
    ),
    Column(
        "disk_write_bytes_per_s",
        "B/s",
        "Bytes written to physical disks per second over the interval.",
        1,
    ),
    Column("disk_read_ops_per_s", "1/s", "Completed read requests per second on physical disks."),
    Column("disk_write_ops_per_s", "1/s", "Completed write requests per second on physical disks."),
    Column(
        "net_sent_bytes_per_s",
        "B/s",
        "Bytes sent per second over all interfaces, loopback included (/proc/net/dev).",
        1,
    ),
    Column(
        "net_recv_bytes_per_s",
        "B/s",
        "Bytes received per second over all interfaces, loopback included.",
        1,
    ),
    Column("load_1m", "threads", "1-minute load average (/proc/loadavg).", level=True),
    Column("process_count", "processes", "Number of processes (entries in /proc).", 0, level=True),
    ACTIVE_EVENTS,
]

# Extras, in the order they follow the contract. Each is present only where the machine has it.
CPU_EXTRAS = [
    Column("cpu_user_percent", "%", "User + nice share of all CPUs over the interval."),
    Column(
        "cpu_system_percent", "%", "System + irq + softirq share of all CPUs over the interval."
    ),
    Column("cpu_iowait_percent", "%", "Share of CPU time idle while waiting for I/O."),
    Column(
        "cpu_steal_percent",
        "%",
        "Share of CPU time stolen by the hypervisor (wall-clock duty cycles fall short when this is high).",
    ),
    Column("ctx_switches_per_s", "1/s", "Context switches per second (/proc/stat ctxt).", 1),
    Column("interrupts_per_s", "1/s", "Interrupts per second (/proc/stat intr).", 1),
    Column(
        "procs_running", "threads", "Runnable threads at the sample (/proc/stat).", 0, level=True
    ),
    Column(
        "procs_blocked",
        "threads",
        "Threads blocked on I/O at the sample (/proc/stat).",
        0,
        level=True,
    ),
    Column("load_5m", "threads", "5-minute load average.", level=True),
    Column("load_15m", "threads", "15-minute load average.", level=True),
]
MEM_EXTRAS = [
    Column("mem_total_bytes", "B", "MemTotal.", 0, level=True),
    Column("mem_cached_bytes", "B", "Page cache (Cached + Buffers).", 0, level=True),
    Column("swap_used_bytes", "B", "SwapTotal - SwapFree.", 0, level=True),
    Column(
        "swap_in_bytes_per_s",
        "B/s",
        "Bytes swapped in per second (/proc/vmstat pswpin x page size).",
        1,
    ),
    Column(
        "swap_out_bytes_per_s",
        "B/s",
        "Bytes swapped out per second (/proc/vmstat pswpout x page size).",
        1,
    ),
    Column(
        "major_faults_per_s", "1/s", "Major page faults per second (/proc/vmstat pgmajfault).", 1
    ),
]
NET_EXTRAS = [
    Column("net_ext_sent_bytes_per_s", "B/s", "Bytes sent per second, loopback excluded.", 1),
    Column("net_ext_recv_bytes_per_s", "B/s", "Bytes received per second, loopback excluded.", 1),
]
PCP_FREE = Column(
    "mem_pcp_free_bytes",
    "B",
    "Free pages held on the kernel's per-CPU lists (/proc/zoneinfo pagesets `count`, x page size): free, yet counted in mem_used_bytes; only where /proc/zoneinfo is readable.",
    0,
    level=True,
)
PSI_RESOURCES = ("cpu", "memory", "io")


def psi_column(resource: str, kind: str) -> Column:
    what = "some task" if kind == "some" else "all non-idle tasks"
    return Column(
        f"psi_{resource}_{kind}_percent",
        "%",
        f"Linux pressure (/proc/pressure/{resource} total): share of the interval in which {what} stalled on {resource}.",
    )


FREQ = Column(
    "cpu_freq_mhz",
    "MHz",
    "Mean current frequency of the CPUs (cpufreq scaling_cur_freq); only where the kernel exposes it.",
    0,
    level=True,
)


def temperature_column(name: str) -> Column:
    return Column(
        f"temp_{name}_c",
        "°C",
        f"Temperature sensor {name} (hwmon/thermal zone), detected once at start.",
        1,
        level=True,
    )


OUTPUT_FS = [
    Column(
        "out_fs_free_bytes",
        "B",
        "Free space on the filesystem holding the run directory (statvfs, available to unprivileged users).",
        0,
        level=True,
    ),
    Column(
        "out_fs_used_percent",
        "%",
        "Used share of the filesystem holding the run directory.",
        level=True,
    ),
]
QUALITY = [
    Column(
        "sample_interval_s",
        "s",
        "Real time between this sample and the previous one (the first: since the counters were primed).",
        4,
    ),
    Column(
        "sample_lateness_ms",
        "ms",
        "How late the sample was taken after its deadline on the monotonic clock.",
        3,
    ),
    Column(
        "logger_cpu_percent",
        "%",
        "CPU time the telemetry logger itself used over the interval, as a share of one core.",
        3,
    ),
]
STRESS_WORK = [
    Column(
        "stress_cpu_loops_per_s",
        "1/s",
        "Busy-loop iterations per second done by the running CPU stressors (saturation shows as a plateau).",
        0,
    ),
    Column(
        "stress_mem_resident_bytes",
        "B",
        "Memory held resident by the running memory stressors.",
        0,
        level=True,
    ),
    Column(
        "stress_disk_read_bytes_per_s",
        "B/s",
        "Bytes per second read by the running disk stressors.",
        0,
    ),
    Column(
        "stress_disk_write_bytes_per_s",
        "B/s",
        "Bytes per second written by the running disk stressors.",
        0,
    ),
    Column(
        "stress_disk_ops_per_s",
        "1/s",
        "I/O operations per second done by the running disk stressors.",
        1,
    ),
    Column(
        "stress_net_bytes_per_s",
        "B/s",
        "Bytes per second moved over loopback by the running network stressors.",
        0,
    ),
]

PROBE_MEASURES = ("count", "errors", "p50_ms", "p99_ms", "max_ms")
"""Each probe's columns, `probe_<name>_<measure>`, aggregated over the sampling interval."""
PROBE_LATENCY_MEASURES = ("p50_ms", "p99_ms", "max_ms")
"""Empty in a row when the interval had no successful probe (nothing to measure, never 0)."""


def probe_columns(name: str) -> list[Column]:
    """The five columns of the probe `name` (README, "Profiles": `[[probes]]`)."""
    prefix = f"probe_{name}"
    return [
        Column(
            f"{prefix}_count",
            "probes",
            f"Probe {name}: attempts that finished in the interval (successes and errors).",
            0,
        ),
        Column(
            f"{prefix}_errors",
            "probes",
            f"Probe {name}: attempts in the interval that failed, were refused or ran past timeout_s (one still hanging counts once, when its timeout passes).",
            0,
        ),
        Column(
            f"{prefix}_p50_ms",
            "ms",
            f"Probe {name}: median latency of the interval's successful attempts; empty when none succeeded.",
            3,
            optional=True,
        ),
        Column(
            f"{prefix}_p99_ms",
            "ms",
            f"Probe {name}: 99th percentile (nearest rank) latency of the interval's successful attempts; empty when none succeeded.",
            3,
            optional=True,
        ),
        Column(
            f"{prefix}_max_ms",
            "ms",
            f"Probe {name}: slowest successful attempt of the interval; empty when none succeeded.",
            3,
            optional=True,
        ),
    ]


def to_markdown(columns: list[Column]) -> str:
    lines = ["| column | unit | how it is computed |", "|---|---|---|"]
    lines += [f"| `{c.name}` | {c.unit} | {c.description} |" for c in columns]
    return "\n".join(lines)
