"""The run bundle: one directory per run, its manifest, annotations and atomic JSON.

Layout (names are a contract): `system_metrics_dataset.csv`, `annotations.csv`,
`schedule.json`, `run.json`, a copy of the profile, and `scratch/` for the
stressors while the run is live (removed at the end).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import hashlib
import io
import json
import os
import platform
import re
import socket
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from core import __version__
from core.errors import BadInput

DATASET = "system_metrics_dataset.csv"
ANNOTATIONS = "annotations.csv"
SCHEDULE = "schedule.json"
MANIFEST = "run.json"
PROFILE_COPY = "profile.toml"
SCRATCH = "scratch"
TMP_MARK = ".tmp-"
DEFAULT_RUNS_DIR = Path("data/runs")
DEFAULT_MODELS_DIR = DEFAULT_RUNS_DIR.parent / "models"  # models live beside the runs

ANNOTATION_COLUMNS = [
    "event_id",
    "stressor",
    "label",
    "params",
    "planned_start_s",
    "planned_end_s",
    "start_time",
    "end_time",
    "start_elapsed_s",
    "end_elapsed_s",
    "status",
    "message",
]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


_FULL = (errno.ENOSPC, errno.EDQUOT)


class SpaceReserve:
    """Spare files, allocated when a run starts, for the writes that must succeed on a full disk.

    A run directory's last writes (the final `annotations.csv` and `run.json`) would need new
    blocks and a new inode exactly when the filesystem has none left. Each spare is a
    pre-allocated (`posix_fallocate`) hidden file: a write that fails with ENOSPC/EDQUOT
    overwrites one in place, trims it, fsyncs it and renames it over the target, using no new
    space and no new inode, so the file is still replaced atomically. Spares match the
    temporary-file pattern, so a crashed run's are swept by recovery.
    """

    def __init__(self, directory: Path, sizes: dict[str, int]) -> None:
        self.spares: dict[str, Path] = {}
        self._lock = threading.Lock()
        for name, size in sizes.items():
            path = directory / f".{name}{TMP_MARK}reserve"
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                os.posix_fallocate(fd, 0, size)
            except BaseException:
                os.close(fd)
                with contextlib.suppress(OSError):
                    os.unlink(path)
                self.release()
                raise
            os.close(fd)
            self.spares[name] = path

    def write(self, path: Path, data: bytes) -> bool:
        """Replace `path` with `data` through its spare (if one is left); False if none is."""
        with self._lock:
            spare = self.spares.pop(path.name, None)
        if spare is None:
            return False
        fd = os.open(spare, os.O_RDWR | os.O_CLOEXEC)
        try:
            done = 0
            while done < len(data):
                done += os.pwrite(fd, data[done:], done)
            os.ftruncate(fd, len(data))
            os.fchmod(fd, 0o666 & ~_UMASK)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(spare, path)
        return True

    def release(self) -> None:
        """Delete the spares that were not needed."""
        with self._lock:
            spares, self.spares = list(self.spares.values()), {}
        for spare in spares:
            with contextlib.suppress(OSError):
                spare.unlink()


def write_atomic(path: Path, text: str, reserve: SpaceReserve | None = None) -> None:
    """Write a whole file via temp file + fsync + rename, so readers never see it torn.

    With `reserve`, a write that fails because the disk is full is retried through the
    reserve's spare file for `path` (see `SpaceReserve`)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}{TMP_MARK}")
    except OSError as exc:
        if reserve is not None and exc.errno in _FULL and reserve.write(path, text.encode()):
            return
        raise
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        full = isinstance(exc, OSError) and exc.errno in _FULL
        if full and reserve is not None and reserve.write(path, text.encode()):
            return
        raise


def write_json_atomic(path: Path, data: Any, reserve: SpaceReserve | None = None) -> None:
    write_atomic(path, json.dumps(data, indent=2) + "\n", reserve)


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


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def host_fingerprint() -> dict[str, Any]:
    """What identifies the machine a run or a model belongs to."""
    info: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "logical_cpus": psutil.cpu_count(logical=True) or 0,
        "physical_cpus": psutil.cpu_count(logical=False) or 0,
        "ram_bytes": psutil.virtual_memory().total,
        "kernel": platform.release(),
        "os": platform.system(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    stable = {k: info[k] for k in ("hostname", "cpu_model", "logical_cpus", "ram_bytes", "machine")}
    info["id"] = hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:16]
    return info


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


def read_annotations(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def now_utc() -> datetime:
    return datetime.now(UTC)
