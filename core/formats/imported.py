"""Write a twin run bundle from data another tool recorded (the seed project, sysstat).

The bundle is the same contract as a recorded run: the dataset's columns come from the data
dictionary (contract columns first, always; extras only where the source has them), events get
ids `e01`... in start order, `active_events` names the events running at each sample,
`annotations.csv` has the annotation contract's columns, `schedule.json` the plan and `run.json`
says where it all came from (`"source": {...}`).

What a source cannot know stays absent: an extra it lacks is not written, and a contract column it
lacks is written as `nan` in every row (a missing number, read as NaN by pandas and by twin; an
empty cell is not a number for the bundle checker). Nothing is written until everything was read,
and a failed write removes the half-made directory.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.profile import event_ids
from core.rundir.atomic import write_atomic, write_json_atomic
from core.rundir.layout import ANNOTATIONS, DATASET, MANIFEST, PROFILE_COPY, SCHEDULE
from core.rundir.write import Manifest, create_run_dir, render_annotations
from core.schedule import Event, Schedule
from core.telemetry import columns as C
from core.telemetry.logger import iso_ms

MISSING = "nan"


@dataclass(frozen=True)
class ImportedEvent:
    """One event read from a foreign file; times are timezone-aware.

    `start` None: the event was planned but never recorded as started; `end` None with a start:
    it never recorded an end (it ran, as far as anyone knows, to the end of the recording).
    """

    stressor: str
    params: dict[str, Any]
    label: str
    planned_start: datetime
    planned_duration_s: float
    start: datetime | None
    end: datetime | None
    message: str = ""


@dataclass(frozen=True)
class ImportedRun:
    """Everything a bundle is written from: `rows` are (aware time, {column: value})."""

    name: str
    times: Sequence[datetime]
    values: Sequence[dict[str, float]]
    n_cpus: int
    interval_s: float
    events: Sequence[ImportedEvent]
    source: dict[str, Any]
    host: dict[str, Any]
    profile_toml: str | None = None


def dictionary_order(n_cpus: int) -> list[C.Column]:
    """Every column twin knows, in the order a recorded dataset has them."""
    cols = [*C.CONTRACT_BEFORE_CORES, *(C.cpu_core_column(i) for i in range(n_cpus))]
    cols += [*C.CONTRACT_AFTER_CORES, *C.CPU_EXTRAS, *C.MEM_EXTRAS, *C.NET_EXTRAS]
    cols += [C.psi_column(res, kind) for res in C.PSI_RESOURCES for kind in ("full", "some")]
    return [*cols, C.PCP_FREE, C.FREQ, *C.OUTPUT_FS, *C.QUALITY, *C.STRESS_WORK]


def dataset_columns(n_cpus: int, present: set[str]) -> list[C.Column]:
    """Contract columns always; extras only when the source has them."""
    contract = {c.name for c in C.CONTRACT_BEFORE_CORES + C.CONTRACT_AFTER_CORES}
    contract |= {f"cpu{i}_percent" for i in range(n_cpus)}
    return [c for c in dictionary_order(n_cpus) if c.name in contract or c.name in present]


def host_id(host: dict[str, Any]) -> str:
    """A stable id from what the source knows about its machine (same fields as twin's own)."""
    keys = ("hostname", "cpu_model", "logical_cpus", "ram_bytes", "machine")
    stable = {k: host.get(k) for k in keys}
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:16]


def _number(value: float | None, decimals: int) -> str:
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value:.{decimals}f}"


def _seconds(when: datetime, origin: datetime) -> float:
    return round((when - origin).total_seconds(), 3)


@dataclass(frozen=True)
class _Placed:
    event: Event
    start_s: float | None
    end_s: float | None  # None: never ended
    source: ImportedEvent


def _place(events: Sequence[ImportedEvent], origin: datetime) -> list[_Placed]:
    ordered = sorted(events, key=lambda e: (e.start or e.planned_start, e.planned_start))
    placed = []
    for eid, ev in zip(event_ids(len(ordered)), ordered, strict=True):
        plan = Event(
            eid,
            ev.stressor,
            ev.params,
            _seconds(ev.planned_start, origin),
            ev.planned_duration_s,
            ev.label,
        )
        start = _seconds(ev.start, origin) if ev.start is not None else None
        end = _seconds(ev.end, origin) if ev.start is not None and ev.end is not None else None
        placed.append(_Placed(plan, start, end, ev))
    return placed


def _annotation(p: _Placed) -> dict[str, str]:
    """A started event's row (one planned but never started has none, as in a recorded run)."""
    assert p.start_s is not None
    ev = p.source
    status = "interrupted" if p.end_s is None else "completed"  # no end: never recorded one
    return {
        "event_id": p.event.id,
        "stressor": p.event.stressor,
        "label": p.event.label,
        "params": json.dumps(p.event.params, sort_keys=True),
        "planned_start_s": f"{p.event.start_s:.3f}",
        "planned_end_s": f"{p.event.end_s:.3f}",
        "start_time": iso_ms(ev.start) if ev.start is not None else "",
        "end_time": iso_ms(ev.end) if ev.end is not None and p.end_s is not None else "",
        "start_elapsed_s": f"{p.start_s:.3f}",
        "end_elapsed_s": "" if p.end_s is None else f"{p.end_s:.3f}",
        "status": status,
        "message": ev.message,
    }


def annotation_rows(events: Sequence[ImportedEvent], origin: datetime) -> list[dict[str, str]]:
    """Twin annotation rows (ids `e01`... in start order) of the events that started."""
    return [_annotation(p) for p in _place(events, origin) if p.start_s is not None]


def _render_dataset(
    run: ImportedRun, origin: datetime, placed: list[_Placed]
) -> tuple[str, list[str]]:
    present = {name for row in run.values for name in row}
    columns = dataset_columns(run.n_cpus, present)
    names = [c.name for c in columns]
    spans = [
        (p.event.id, p.start_s, math.inf if p.end_s is None else p.end_s)
        for p in placed
        if p.start_s is not None
    ]
    lines = [",".join(names)]
    for when, values in zip(run.times, run.values, strict=True):
        t = _seconds(when, origin)
        active = ";".join(eid for eid, s, e in spans if s <= t <= e)
        cells = []
        for col in columns:
            if col.name == "timestamp":
                cells.append(iso_ms(when))
            elif col.name == "elapsed_s":
                cells.append(f"{t:.3f}")
            elif col.name == "active_events":
                cells.append(active)
            else:
                cells.append(_number(values.get(col.name), col.decimals))
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n", names


def run_origin(run: ImportedRun) -> datetime:
    """The run clock's zero: one interval before the first sample (as twin's own runs), or the
    first event if that is earlier."""
    starts = [e.start or e.planned_start for e in run.events]
    first = run.times[0] - timedelta(seconds=run.interval_s) if run.times else None
    candidates = [t for t in [first, *starts] if t is not None]
    return min(candidates)


def write_imported_run(run: ImportedRun, parent: Path) -> Path:
    """Write `run` as a new run directory under `parent`; return it."""
    origin = run_origin(run)
    placed = _place(run.events, origin)
    dataset, names = _render_dataset(run, origin, placed)
    last = _seconds(run.times[-1], origin) if run.times else 0.0
    ends = [p.event.end_s for p in placed] + [last]
    first_event = min((p.event.start_s for p in placed), default=max(ends))
    schedule = Schedule(
        name=run.name,
        mode="parallel",
        events=tuple(p.event for p in placed),
        total_s=max(ends),
        interval_s=run.interval_s,
        baseline_s=first_event,
        extra={"source": run.source},
    )
    run_dir = create_run_dir(parent, run.name, origin)
    try:
        write_atomic(run_dir / DATASET, dataset)
        write_atomic(
            run_dir / ANNOTATIONS,
            render_annotations([_annotation(p) for p in placed if p.start_s is not None]),
        )
        write_atomic(run_dir / SCHEDULE, schedule.dumps())
        if run.profile_toml is not None:
            write_atomic(run_dir / PROFILE_COPY, run.profile_toml)
        sha = (
            hashlib.sha256((run.profile_toml or "").encode()).hexdigest()
            if run.profile_toml
            else ""
        )
        manifest = Manifest(
            run_dir=run_dir,
            profile_name=run.name,
            profile_sha256=sha,
            interval_s=run.interval_s,
            planned_total_s=schedule.total_s,
            seed=None,
            started_at=iso_ms(origin),
            host={**run.host, "id": host_id(run.host)},
            status="completed",
            ended_at=iso_ms(run.times[-1]) if run.times else iso_ms(origin),
            exit_code=0,
            sample_count=len(run.times),
            columns=names,
        )
        write_json_atomic(run_dir / MANIFEST, {**manifest.to_json(), "source": run.source})
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return run_dir
