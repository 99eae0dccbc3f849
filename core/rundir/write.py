"""Writing a run directory: its creation, owner lock, manifest, annotations and dataset.

`RunDirectoryWriter` is the one writer of a recorded run: `ExperimentRun` decides what
happens and hands it every file (the plan, the profile copy, each sample, each event's start
and end, the final status); the writer knows the names, the formats and the full-disk rules.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from core import __version__
from core.errors import BadInput
from core.event_lifecycle import EventState
from core.host import host_fingerprint
from core.rundir.atomic import SpaceReserve, write_atomic, write_json_atomic
from core.rundir.layout import (
    ANNOTATION_COLUMNS,
    ANNOTATIONS,
    DATASET,
    MANIFEST,
    PROFILE_COPY,
    SCHEDULE,
    SCRATCH,
    TMP_MARK,
)
from core.schedule import Schedule
from core.telemetry.columns import Column
from core.telemetry.logger import RunClock, iso_ms, now_utc
from core.telemetry.sampler import Sample
from core.telemetry.writer import DatasetWriter

# Spare space for the last writes of a run on a full disk (see `SpaceReserve`).
RESERVE_MANIFEST = 32 << 10
RESERVE_ANNOTATIONS = 64 << 10
RESERVE_PER_EVENT = 1 << 10


def lock_run_dir(run_dir: Path) -> int | None:
    """Take the run directory's owner lock (flock on the directory); None if another holds it.

    The owning process holds it for the whole run; the kernel drops it when that process dies
    (kill -9 included), which is how recovery tells a live run from an abandoned one without
    trusting pids. Close the returned descriptor to release it.
    """
    fd = os.open(run_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:60] or "run"


def check_output_parent(parent: Path) -> Path:
    """Create the runs directory if needed and prove it is writable; BadInput if not."""
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".probe{TMP_MARK}") as probe:
            probe.write(b"\0" * 4096)  # creating a file is not enough: a full disk allows that
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        raise BadInput(f"{parent}: output directory is not usable: {exc.strerror or exc}") from None
    return parent


def create_run_dir(parent: Path, name: str, started: datetime) -> Path:
    """A fresh directory `<UTC time>-<name>`; mkdir is exclusive, so two runs never share one."""
    check_output_parent(parent)
    base = f"{started.strftime('%Y%m%dT%H%M%SZ')}-{slug(name)}"
    for n in range(1, 1000):
        candidate = parent / (base if n == 1 else f"{base}-{n}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise BadInput(f"{candidate}: cannot create run directory: {exc.strerror}") from None
        return candidate
    raise BadInput(f"{parent}: too many runs named {base}")


@dataclass
class Manifest:
    """`run.json`: written when the run starts and rewritten (atomically) when it ends."""

    run_dir: Path
    profile_name: str
    profile_sha256: str
    interval_s: float
    planned_total_s: float
    seed: int | None
    started_at: str
    host: dict[str, Any] = field(default_factory=host_fingerprint)
    status: str = "running"
    ended_at: str | None = None
    exit_code: int | None = None
    stop_reason: str = ""
    sample_count: int = 0
    columns: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    pid: int = field(default_factory=os.getpid)
    extra: dict[str, Any] = field(default_factory=dict)  # more keys, e.g. sampler_priority
    reserve: SpaceReserve | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": "server-twin",
            "tool_version": __version__,
            "run_id": self.run_dir.name,
            "profile_name": self.profile_name,
            "profile_sha256": self.profile_sha256,
            "seed": self.seed,
            "interval_s": self.interval_s,
            "planned_total_s": self.planned_total_s,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "status": self.status,
            "exit_code": self.exit_code,
            "stop_reason": self.stop_reason,
            "sample_count": self.sample_count,
            "messages": self.messages,
            "host": self.host,
            "pid": self.pid,
            "python_executable": sys.executable,
            "columns": self.columns,
            **self.extra,
        }

    def save(self) -> None:
        write_json_atomic(self.run_dir / MANIFEST, self.to_json(), self.reserve)


class AnnotationLog:
    """`annotations.csv`, rewritten atomically on every change.

    An event is written when it starts (status `running`) and again when it
    ends, so a run killed with `kill -9` still shows what was running.
    """

    def __init__(self, path: Path, reserve: SpaceReserve | None = None) -> None:
        self.path = path
        self.rows: dict[str, dict[str, str]] = {}
        self.reserve = reserve
        self._lock = threading.Lock()
        self._flush()

    def started(self, row: dict[str, str]) -> None:
        with self._lock:
            self.rows[row["event_id"]] = {c: row.get(c, "") for c in ANNOTATION_COLUMNS}
            self._flush()

    def finished(self, event_id: str, **updates: str) -> None:
        with self._lock:
            self.rows[event_id].update(updates)
            self._flush()

    def flush(self, final: bool = False) -> None:
        """Rewrite the file from the rows held in memory (after a failed write); `final` may
        use the space reserve."""
        with self._lock:
            self._flush(final)

    def _flush(self, final: bool = False) -> None:
        text = render_annotations(list(self.rows.values()))
        write_atomic(self.path, text, self.reserve if final else None)


def render_annotations(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=ANNOTATION_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


class RunDirectoryWriter:
    """Every file of one recorded run, from its creation to its final `run.json`.

    Created by `create` (the directory, its owner lock, the full-disk spares), then
    `write_plan` once the telemetry columns are known; afterwards each method is one thing that
    happened. A write that fails raises OSError (the caller stops the run as degraded); rows
    not written are kept and flushed by `finish`, which may use the spares.
    """

    def __init__(self, run_dir: Path, parent: Path) -> None:
        self.run_dir = run_dir
        self.scratch_dir = run_dir / SCRATCH
        self._parent = parent
        self._owner_fd: int | None = None
        self._reserve: SpaceReserve | None = None
        self._dataset: DatasetWriter | None = None
        self._annotations: AnnotationLog | None = None
        self._manifest: Manifest | None = None
        self._annotations_dirty = False
        self._clock: RunClock | None = None

    @classmethod
    def create(cls, parent: Path, schedule: Schedule, started: datetime) -> RunDirectoryWriter:
        """A fresh run directory under `parent`, locked and with its spares; BadInput if not."""
        files = cls(create_run_dir(parent, schedule.name, started), parent)
        with files.refusing():
            # Held for the whole run: recovery leaves a locked run directory alone.
            files._owner_fd = lock_run_dir(files.run_dir)
            annotations = RESERVE_ANNOTATIONS + RESERVE_PER_EVENT * len(schedule.events)
            files._reserve = SpaceReserve(
                files.run_dir, {MANIFEST: RESERVE_MANIFEST, ANNOTATIONS: annotations}
            )
            files.scratch_dir.mkdir(exist_ok=True)
        return files

    @contextlib.contextmanager
    def refusing(self) -> Iterator[None]:
        """While setting up: an OSError (a full disk) removes the directory and is BadInput."""
        try:
            yield
        except OSError as exc:
            self.release()
            shutil.rmtree(self.run_dir, ignore_errors=True)
            raise BadInput(
                f"{self._parent}: cannot write the run's files: {exc.strerror or exc}"
            ) from None

    def write_plan(
        self, schedule: Schedule, profile_text: str, columns: Sequence[Column], started: datetime
    ) -> None:
        """The files written before the run starts: schedule, profile copy, headers, manifest."""
        write_atomic(self.run_dir / SCHEDULE, schedule.dumps())
        if profile_text:
            write_atomic(self.run_dir / PROFILE_COPY, profile_text)
        self._annotations = AnnotationLog(self.run_dir / ANNOTATIONS, self._reserve)
        self._dataset = DatasetWriter(self.run_dir / DATASET, columns)
        self._manifest = Manifest(
            run_dir=self.run_dir,
            profile_name=schedule.name,
            profile_sha256=hashlib.sha256(profile_text.encode()).hexdigest(),
            interval_s=schedule.interval_s,
            planned_total_s=schedule.total_s,
            seed=schedule.seed,
            started_at=iso_ms(started),
            columns=[c.name for c in columns],
        )
        self._manifest.save()

    @property
    def manifest(self) -> Manifest:
        assert self._manifest is not None, "write_plan() first"
        return self._manifest

    @property
    def rows(self) -> int:
        return self._dataset.rows if self._dataset is not None else 0

    def note(self, message: str) -> None:
        """A line for `run.json` "messages" (saved with the next manifest write)."""
        self.manifest.messages.append(message)

    def clock_started(self, clock: RunClock) -> None:
        """The run clock started: `started_at` is its wall time, event times map through it."""
        self._clock = clock
        self.manifest.started_at = iso_ms(clock.wall0)
        self.manifest.save()

    def sample(self, sample: Sample) -> None:
        assert self._dataset is not None, "write_plan() first"
        self._dataset.write(sample)

    def event_started(self, state: EventState) -> None:
        """An event's row, status `running` (so a killed run still shows what ran)."""
        assert self._clock is not None, "clock_started() first"
        event, start = state.event, state.start_elapsed_s or 0.0
        planned_start = start if state.adhoc else event.start_s  # ad hoc: planned as it began
        row = {
            "event_id": event.id,
            "stressor": event.stressor,
            "label": event.label,
            "params": json.dumps(event.params, sort_keys=True),
            "planned_start_s": f"{planned_start:.3f}",
            "planned_end_s": f"{planned_start + event.duration_s:.3f}",
            "start_time": iso_ms(self._clock.wall_at(start)),
            "start_elapsed_s": f"{start:.3f}",
            "status": "running",
        }
        self._annotate(lambda log: log.started(row))

    def event_ended(self, state: EventState) -> None:
        """The event's row again, with its end, final status and message."""
        assert self._clock is not None, "clock_started() first"
        end = state.end_elapsed_s or 0.0
        updates = {
            "end_time": iso_ms(self._clock.wall_at(end)),
            "end_elapsed_s": f"{end:.3f}",
            "status": state.status,
            "message": state.message,
        }
        self._annotate(lambda log: log.finished(state.event.id, **updates))

    def _annotate(self, change: Callable[[AnnotationLog], None]) -> None:
        assert self._annotations is not None, "write_plan() first"
        try:
            change(self._annotations)
        except OSError:  # the row is kept in memory; the final flush may use the reserve
            self._annotations_dirty = True
            raise

    def finish(self, status: str, exit_code: int, message: str) -> str:
        """Close the dataset, flush what is pending, write the final `run.json`; release.

        Returns `message` with what could not be written appended."""
        if self._dataset is not None:
            self._dataset.close()
        if self._annotations is not None and self._annotations_dirty:
            try:
                self._annotations.flush(final=True)
            except OSError as exc:
                message = f"{message}; {ANNOTATIONS} not updated: {exc.strerror or exc}"
        if self._manifest is not None:
            self._manifest.status = status
            self._manifest.exit_code = exit_code
            self._manifest.stop_reason = message
            self._manifest.ended_at = iso_ms(now_utc())
            self._manifest.sample_count = self.rows
            self._manifest.reserve = self._reserve
            try:
                self._manifest.save()
            except OSError as exc:
                message = f"{message}; {MANIFEST} not updated: {exc.strerror or exc}"
        self.release()
        return message

    def release(self) -> None:
        """Drop the space reserve and the owner lock (the run's files are final)."""
        if self._reserve is not None:
            self._reserve.release()
        if self._owner_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._owner_fd)
            self._owner_fd = None
