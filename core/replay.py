"""`twin replay`: a recorded run (or any dataset CSV) turned into a profile of shaped events.

The written profile makes *this* machine follow the source's system-wide load: CPU through a cpu
event with `target = "system"`, memory in use above the source's idle through a memory event,
disk write/read and network rates through capped disk and network events. Each event's level
is a `trace` shape (core.shapes) over one CSV written beside the profile.

The clock: a source row at `t` describes the interval ending at `t`. The replay runs at the
source's interval with `baseline_s` = one interval (at least `MIN_LEAD_S`), its events from
there to `baseline_s` before the source's last sample, so the replay's rows fall at the source's
`elapsed_s`; each trace point sits mid-interval (`t - interval/2`, on the event's clock), so
the level over the interval ending at `t` is the source's value at `t`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import BadInput
from core.profile import profile_from_data, profile_to_toml
from core.rundir.atomic import write_atomic
from core.rundir.layout import DATASET
from core.rundir.read import load_run
from core.shapes import LEVEL_PARAMS
from core.stressors import KINDS, PARAMS

REPLAY_KINDS = KINDS  # every stressor kind has a level to replay
MIN_LEAD_S = 1.0  # quiet time before the events: the stressors arm, the counters settle
MIB = 1 << 20


@dataclass(frozen=True)
class Track:
    """One replayed level: the event that makes it, from which source column, in which unit."""

    kind: str
    column: str  # the trace file's column
    source: str  # the dataset column it follows
    scale: float  # source unit -> the param's unit
    params: dict[str, Any]
    label: str


TRACKS = (
    Track("cpu", "cpu_percent", "cpu_percent", 1.0, {"target": "system"}, "system CPU"),
    Track("memory", "mem_above_idle_mb", "mem_used_bytes", 1 / MIB, {}, "memory above idle"),
    Track(
        "disk",
        "disk_write_mb_s",
        "disk_write_bytes_per_s",
        1 / MIB,
        {"mode": "write"},
        "disk writes",
    ),
    Track(
        "disk", "disk_read_mb_s", "disk_read_bytes_per_s", 1 / MIB, {"mode": "read"}, "disk reads"
    ),
    Track("network", "net_mbit_s", "net_sent_bytes_per_s", 8 / 1e6, {}, "network"),
)


def read_source(source: Path) -> tuple[pd.DataFrame, float]:
    """The source's samples and interval: a run directory (through load_run) or a dataset CSV."""
    if source.is_dir():
        run = load_run(source)
        return run.dataset, float(run.interval_s)
    if not source.is_file():
        raise BadInput(f"{source}: no such run directory or dataset file")
    try:
        data = pd.read_csv(source)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise BadInput(f"{source}: cannot read as CSV: {exc}") from None
    if "elapsed_s" not in data.columns:
        raise BadInput(f"{source}: no elapsed_s column (is it a {DATASET}?)")
    times = pd.to_numeric(data["elapsed_s"], errors="coerce").dropna()
    steps = times.diff().dropna()
    if len(times) < 3 or not (steps > 0).all():
        raise BadInput(f"{source}: elapsed_s must hold at least 3 increasing times")
    return data, float(steps.median())


def _level(values: pd.Series, track: Track) -> pd.Series:
    """The source column in the param's unit, clipped into the param's range."""
    spec = PARAMS[track.kind][LEVEL_PARAMS[track.kind]]
    level = pd.to_numeric(values, errors="coerce") * track.scale
    if track.source == "mem_used_bytes":
        level = level - level.min()  # memory in use above the source's idle
    low = float(spec.min or 0.0)
    high = float(spec.max) if spec.max is not None else math.inf
    return level.clip(lower=low, upper=high)


def build_replay(
    data: pd.DataFrame, interval_s: float, name: str, trace_name: str, kinds: Sequence[str]
) -> tuple[dict[str, Any], pd.DataFrame]:
    """The profile (as TOML data) and its trace table for a source's samples."""
    times = pd.to_numeric(data["elapsed_s"], errors="coerce")
    lead = interval_s * max(1, math.ceil(MIN_LEAD_S / interval_s - 1e-9))
    last = float(times.max())
    duration = round(last - 2 * lead, 6)
    if duration <= 0:
        raise BadInput(
            f"the source is too short to replay: {last:g} s, needs more than {2 * lead:g} s"
        )
    trace = pd.DataFrame({"elapsed_s": (times - interval_s / 2 - lead).round(6)})
    events: list[dict[str, Any]] = []
    for track in TRACKS:
        if track.kind not in kinds or track.source not in data.columns:
            continue
        level = _level(data[track.source], track)
        if level.notna().sum() < 2:
            continue
        floor = float(PARAMS[track.kind][LEVEL_PARAMS[track.kind]].min or 0.0)
        if track.kind != "cpu" and float(level.max()) <= floor:
            continue  # nothing to reproduce (no memory change, no traffic)
        trace[track.column] = level.round(4)
        shape = {"trace": trace_name, "column": track.column}
        events.append(
            {
                "stressor": track.kind,
                "duration_s": duration,
                "start_s": 0,
                "label": f"replay: {track.label}",
                "params": {LEVEL_PARAMS[track.kind]: shape, **track.params},
            }
        )
    if not events:
        raise BadInput(
            f"nothing to replay: the source has none of the columns for {', '.join(kinds)}"
        )
    profile = {
        "name": name,
        "description": f"replay of {name.removeprefix('replay-')}: follows its load on its clock",
        "sampling": {"interval_s": interval_s},
        "run": {"mode": "parallel", "baseline_s": lead, "gap_s": 0},
        "events": events,
    }
    keep = trace["elapsed_s"] >= -interval_s  # rows before the events' start only set the start
    return profile, trace[keep].dropna(how="all", subset=trace.columns[1:])


def write_replay(source: Path, out: Path, kinds: Sequence[str]) -> list[Path]:
    """Write PROFILE.toml and its trace CSV beside it; returns the paths written.

    The profile is checked as `twin --batch` would check it before it is written; on bad input
    nothing is left behind.
    """
    unknown = [k for k in kinds if k not in REPLAY_KINDS]
    if unknown:
        raise BadInput(
            f"twin: --kinds: unknown kind {unknown[0]!r} (one of {', '.join(REPLAY_KINDS)})"
        )
    data, interval = read_source(source)
    name = f"replay-{(source.name if source.is_dir() else source.stem)}"
    trace_path = out.with_name(f"{out.stem}-trace.csv")
    profile_data, trace = build_replay(data, interval, name, trace_path.name, kinds)
    write_atomic(trace_path, trace.to_csv(index=False))
    try:
        profile = profile_from_data(profile_data, out)
        write_atomic(out, profile_to_toml(profile))
    except BaseException:
        trace_path.unlink(missing_ok=True)
        raise
    return [out, trace_path]
