"""The seed project's dataset (`system_metrics_dataset.csv` of its psutil logger), in and out.

Its format (a contract for the users' notebooks): one row a second, header `SEED_COLUMNS`;
`timestamp` local time without zone (`%Y-%m-%d %H:%M:%S`); `cpu_percent` psutil's system-wide
percent; `ram_*` from `virtual_memory()` (sizes GiB, 2 decimals); `disk_*` from
`disk_usage('/')`; `disk_read_MB` ... `net_recv_MB` the MiB moved since the previous row (3
decimals); `battery_*` empty without a battery; `process_count` the number of pids.

Reading maps it onto twin's columns: rates come from the deltas over the real spacing of the
timestamps (a row whose previous row is missing or unreadable has no rate); what the format
cannot know (per-core CPU, disk operations, load) stays absent. Writing does the reverse from a
twin run, so notebooks written for the seed project run on twin's data unchanged.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from core.formats.lines import LineProblems

SEED_COLUMNS = [
    "timestamp",
    "cpu_percent",
    "cpu_count_logical",
    "cpu_count_physical",
    "ram_total_GB",
    "ram_used_percent",
    "ram_available_GB",
    "swap_used_percent",
    "disk_total_GB",
    "disk_used_percent",
    "disk_read_MB",
    "disk_write_MB",
    "net_sent_MB",
    "net_recv_MB",
    "battery_percent",
    "battery_plugged",
    "process_count",
]
SEED_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MIB = 2**20
GIB = 2**30
# seed delta column (MiB since the previous row) -> twin rate column (B/s)
DELTAS = {
    "disk_read_MB": "disk_read_bytes_per_s",
    "disk_write_MB": "disk_write_bytes_per_s",
    "net_sent_MB": "net_sent_bytes_per_s",
    "net_recv_MB": "net_recv_bytes_per_s",
}
# Seed columns twin has no column for (kept in run.json's source, not in the dataset).
UNMAPPED = ["disk_total_GB", "disk_used_percent", "battery_percent", "battery_plugged"]
# seed decimals per column when writing (psutil's own rounding for percents)
DECIMALS = {"ram_total_GB": 2, "ram_available_GB": 2, **{k: 3 for k in DELTAS}}


def parse_local_time(text: str, zone: tzinfo | None) -> datetime | None:
    """A seed time (local, no zone; ISO with `T` accepted) as an aware UTC time; None if bad."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone) if zone is not None else when.astimezone()
    return when.astimezone(UTC)


def local_text(when: datetime, zone: tzinfo | None) -> str:
    """An aware time as the seed writes it: local, to the second (truncated, as strftime does)."""
    return when.astimezone(zone).strftime(SEED_TIME_FORMAT)


@dataclass
class SeedDataset:
    times: list[datetime] = field(default_factory=list)
    values: list[dict[str, float]] = field(default_factory=list)
    logical_cpus: int = 0
    physical_cpus: int = 0
    ram_bytes: int = 0


def _float(text: str) -> float:
    """A number; empty is missing (NaN). Raises ValueError on anything else."""
    text = text.strip()
    return math.nan if not text else float(text)


def _row_values(rec: dict[str, float], spacing: float | None) -> dict[str, float]:
    total, avail = rec["ram_total_GB"], rec["ram_available_GB"]
    values = {
        "cpu_percent": rec["cpu_percent"],
        "mem_percent": rec["ram_used_percent"],
        "mem_total_bytes": total * GIB,
        "mem_available_bytes": avail * GIB,
        "mem_used_bytes": (total - avail) * GIB,  # twin's definition: MemTotal - MemAvailable
        "swap_percent": rec["swap_used_percent"],
        "process_count": rec["process_count"],
    }
    if spacing is not None:
        values["sample_interval_s"] = spacing
        for seed_col, twin_col in DELTAS.items():
            values[twin_col] = rec[seed_col] * MIB / spacing
    return values


def read_seed_dataset(path: Path, problems: LineProblems, zone: tzinfo | None) -> SeedDataset:
    """Read a seed dataset; unreadable rows go to `problems` (and are skipped)."""
    text = problems.read_text(path)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    if header[:2] == ["timestamp", "elapsed_s"]:
        raise problems.fatal(path, 1, "this is a twin run dataset already (open its directory)")
    missing = [c for c in SEED_COLUMNS if c not in header]
    if missing:
        raise problems.fatal(path, 1, f"not a seed dataset: the header lacks {', '.join(missing)}")
    out = SeedDataset()
    previous: datetime | None = None
    for rec_line in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in rec_line):
            continue
        if len(rec_line) != len(header):
            problems.add(path, line, f"{len(rec_line)} fields, the header has {len(header)}")
            previous = None
            continue
        raw = dict(zip(header, rec_line, strict=True))
        when = parse_local_time(raw["timestamp"], zone)
        if when is None:
            problems.add(path, line, f"timestamp: {raw['timestamp']!r} is not a time")
            previous = None
            continue
        if out.times and when <= out.times[-1]:
            problems.add(path, line, f"timestamp: {raw['timestamp']} does not increase")
            previous = None
            continue
        rec: dict[str, float] = {}
        for col in SEED_COLUMNS[1:]:
            try:
                rec[col] = _float(raw[col])
            except ValueError:
                problems.add(path, line, f"{col}: {raw[col]!r} is not a number")
                break
        else:
            spacing = (when - previous).total_seconds() if previous is not None else None
            out.times.append(when)
            out.values.append(_row_values(rec, spacing))
            if not out.logical_cpus and math.isfinite(rec["cpu_count_logical"]):
                out.logical_cpus = int(rec["cpu_count_logical"])
                phys = rec["cpu_count_physical"]
                out.physical_cpus = int(phys) if math.isfinite(phys) else 0
                out.ram_bytes = int(rec["ram_total_GB"] * GIB)
            previous = when
            continue
        previous = None
    if not out.times and not problems.problems:
        raise problems.fatal(path, None, "no samples (a header and no rows)")
    return out


# --- writing a twin run in the seed's format -----------------------------------------------


def _cell(value: Any, decimals: int | None) -> str:
    """Seed text for a value: empty when unknown, counts as integers."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if decimals is None:
        return str(round(float(value)))
    return str(round(float(value), decimals))  # as the seed's logger wrote round(x, n)


def seed_rows(data: Any, host: dict[str, Any], zone: tzinfo | None) -> list[list[str]]:
    """The seed dataset's rows from a twin dataset (a pandas DataFrame, floats, NaN missing)."""
    cores = [c for c in data.columns if c.startswith("cpu") and c[3:-8].isdigit()]
    logical = host.get("logical_cpus") or len(cores) or None
    physical = host.get("physical_cpus") or None
    elapsed = data["elapsed_s"].to_numpy(dtype=float)
    spacing = [elapsed[0], *(elapsed[1:] - elapsed[:-1])] if len(elapsed) else []
    if "sample_interval_s" in data.columns:
        real = data["sample_interval_s"].to_numpy(dtype=float)
        spacing = [
            r if math.isfinite(r) and r > 0 else s for r, s in zip(real, spacing, strict=True)
        ]

    def col(name: str) -> list[float]:
        if name not in data.columns:
            return [math.nan] * len(data)
        return [float(v) for v in data[name].to_numpy(dtype=float)]

    total = col("mem_total_bytes")
    if host.get("ram_bytes"):
        total = [t if math.isfinite(t) else float(host["ram_bytes"]) for t in total]
    columns = {
        "cpu_percent": col("cpu_percent"),
        "ram_used_percent": col("mem_percent"),
        "ram_total_GB": [t / GIB for t in total],
        "ram_available_GB": [a / GIB for a in col("mem_available_bytes")],
        "swap_used_percent": col("swap_percent"),
        "process_count": col("process_count"),
        **{
            seed: [r * s / MIB for r, s in zip(col(twin), spacing, strict=True)]
            for seed, twin in DELTAS.items()
        },
    }
    rows = []
    for i, stamp in enumerate(data["timestamp"].astype(str)):
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        row = [local_text(when, zone)]
        for name in SEED_COLUMNS[1:]:
            if name == "cpu_count_logical":
                row.append(_cell(logical, None))
            elif name == "cpu_count_physical":
                row.append(_cell(physical, None))
            elif name in columns:
                decimals = None if name == "process_count" else DECIMALS.get(name, 1)
                row.append(_cell(columns[name][i], decimals))
            else:
                row.append("")  # disk_usage('/') and the battery: twin does not record them
        rows.append(row)
    return rows


def render_seed_dataset(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(SEED_COLUMNS)
    writer.writerows(rows)
    return buf.getvalue()
