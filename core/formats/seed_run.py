"""Whole runs between twin and the seed project: `twin import seed` and `twin export --format seed`.

Import reads the seed files completely first (every unreadable line reported, or skipped and
counted under `skip_bad`), then writes one twin run bundle. Export writes the seed's dataset and
its header-less `START,END,KIND,COMMAND` annotations from a twin run.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.formats.imported import ImportedRun, write_imported_run
from core.formats.lines import LineProblems
from core.formats.seed import UNMAPPED, read_seed_dataset, render_seed_dataset, seed_rows
from core.formats.seed_events import (
    SeedEvent,
    command_params,
    read_seed_annotations,
    read_seed_schedule,
    render_seed_annotations,
    seed_command,
    to_imported,
)
from core.profile import DEFAULT_BASELINE_S, EventSpec, Profile, profile_to_toml
from core.rundir.atomic import write_atomic
from core.rundir.layout import ANNOTATIONS, DATASET
from core.rundir.read import RunBundle


@dataclass(frozen=True)
class SeedFiles:
    dataset: Path
    annotations: Path | None = None
    schedule: Path | None = None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def schedule_profile(name: str, scheduled: Sequence[SeedEvent]) -> Profile:
    """A parallel profile with exactly the schedule's events (starts from the first one)."""
    first = min(e.start for e in scheduled)
    specs = []
    for ev in sorted(scheduled, key=lambda e: e.start):
        params, _, _ = command_params(ev.stressor, ev.command)
        assert ev.duration_s is not None
        offset = round((ev.start - first).total_seconds(), 3)
        specs.append(EventSpec(ev.stressor, ev.duration_s, params, offset, ev.command))
    return Profile(
        name=name,
        description="the seed project's schedule.json, event for event",
        mode="parallel",
        baseline_s=DEFAULT_BASELINE_S,
        events=tuple(specs),
    )


def import_seed(
    files: SeedFiles, parent: Path, *, name: str, zone: tzinfo | None, skip_bad: bool
) -> tuple[Path, list[str]]:
    """Write a twin run from seed files; return the run directory and notes for the user."""
    problems = LineProblems(skip_bad=skip_bad)
    data = read_seed_dataset(files.dataset, problems, zone)
    annotated = (
        read_seed_annotations(files.annotations, problems, zone) if files.annotations else None
    )
    scheduled = read_seed_schedule(files.schedule, problems, zone) if files.schedule else []
    problems.raise_unless_skipping()
    if not data.times:
        raise BadInput(f"{files.dataset}: no readable samples")
    spacings = [v["sample_interval_s"] for v in data.values if "sample_interval_s" in v]
    interval = statistics.median(spacings) if spacings else 1.0
    events = to_imported(annotated, scheduled, data.times[-1])
    profile_toml = profile_to_toml(schedule_profile(name, scheduled)) if scheduled else None
    source: dict[str, Any] = {
        "format": "seed",
        "dataset": str(files.dataset.resolve()),
        "dataset_sha256": _sha256(files.dataset),
        "annotations": str(files.annotations.resolve()) if files.annotations else None,
        "schedule": str(files.schedule.resolve()) if files.schedule else None,
        "timezone": str(zone) if zone is not None else "local",
        "skipped_lines": problems.skipped,
        "not_imported": UNMAPPED,
        "absent": "per-core CPU, disk operations and load: the seed logger does not record them",
    }
    host = {
        "hostname": "unknown",
        "logical_cpus": data.logical_cpus,
        "physical_cpus": data.physical_cpus,
        "ram_bytes": data.ram_bytes,
    }
    run = ImportedRun(
        name=name,
        times=data.times,
        values=data.values,
        n_cpus=max(data.logical_cpus, 1),
        interval_s=interval,
        events=events,
        source=source,
        host=host,
        profile_toml=profile_toml,
    )
    return write_imported_run(run, parent), problems.summary()


def _run_origin(bundle: RunBundle) -> datetime:
    """Wall-clock time of the run clock's zero, from the first sample."""
    first = bundle.dataset.iloc[0]
    when = datetime.fromisoformat(str(first["timestamp"]).replace("Z", "+00:00"))
    return when - timedelta(seconds=float(first["elapsed_s"]))


def export_seed(bundle: RunBundle, out: Path | None, zone: tzinfo | None = None) -> list[Path]:
    """Write the run as the seed's dataset and annotations into `out` (default RUN/export/)."""
    target = out if out is not None else bundle.path / "export"
    if target.resolve() == bundle.path.resolve():
        raise BadInput(f"{target}: that is the run directory itself; give another -o DIR")
    if bundle.dataset.empty:
        raise BadInput(f"{bundle.path}: the dataset has no rows to export")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"{target}: cannot create output directory ({exc.strerror})") from None
    host = bundle.manifest.get("host") if isinstance(bundle.manifest.get("host"), dict) else {}
    rows = seed_rows(bundle.dataset, dict(host or {}), zone)
    origin = _run_origin(bundle)
    cores = [c for c in bundle.dataset.columns if c.startswith("cpu") and c[3:-8].isdigit()]
    cpus = int((host or {}).get("logical_cpus") or len(cores) or 1)
    events = []
    for ev in bundle.events.to_dict("records"):
        begin, finish = float(ev["start_s"]), float(ev["end_s"])
        if not math.isfinite(begin):  # never started
            continue
        known = bool(ev["end_known"])
        start = origin + timedelta(seconds=begin)
        end = origin + timedelta(seconds=finish) if known else None
        params = json.loads(str(ev["params"]) or "{}")
        planned = float(ev["planned_end_s"]) - float(ev["planned_start_s"])
        duration = planned if math.isfinite(planned) else finish - begin  # as it was asked for
        command = seed_command(str(ev["stressor"]), params, duration, cpus)
        events.append((start, end, str(ev["stressor"]), command))
    dataset_path, annotations_path = target / DATASET, target / ANNOTATIONS
    write_atomic(dataset_path, render_seed_dataset(rows))
    write_atomic(annotations_path, render_seed_annotations(events, zone))
    return [dataset_path, annotations_path]
