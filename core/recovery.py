"""Repair runs left behind by a `twin` that was killed (kill -9, power cut, OOM).

Run at every start of `twin` over the runs directory it uses: a run whose
manifest still says `running` but whose process is gone is marked
`interrupted`, its open events too, a torn last dataset line is cut off, and
stale temporary files are swept. JSON files are only ever replaced atomically,
so they are never torn themselves.

"Whose process is gone" is decided by the run directory's owner lock (see
`core.rundir.write.lock_run_dir`), not by the pid in `run.json`: a live run, even
one started a moment ago by another `twin` into the same parent, holds it;
the kernel drops it when its process dies, `kill -9` included. The repair
itself holds the lock, so two `twin`s starting together never repair the same
run twice.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from core.rundir.atomic import write_atomic, write_json_atomic
from core.rundir.layout import ANNOTATIONS, DATASET, MANIFEST, SCRATCH, TMP_MARK
from core.rundir.read import read_annotation_rows, read_manifest
from core.rundir.write import lock_run_dir, render_annotations
from core.telemetry.logger import iso_ms, now_utc


def repair_dataset(path: Path) -> bool:
    """Cut a torn (unterminated) last line; True if something was cut."""
    if not path.is_file():
        return False
    with path.open("rb+") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if size == 0:
            return False
        f.seek(max(0, size - 65536))
        tail = f.read()
        if tail.endswith(b"\n"):
            return False
        cut = tail.rfind(b"\n")
        keep = size - len(tail) + cut + 1 if cut >= 0 else 0
        f.truncate(keep)
        return True


def count_rows(path: Path) -> int:
    with path.open("rb") as f:
        return max(0, sum(1 for _ in f) - 1)


def sweep_temporary(run_dir: Path) -> int:
    swept = 0
    for tmp in run_dir.glob(f".*{TMP_MARK}*"):
        with contextlib.suppress(OSError):
            tmp.unlink()
            swept += 1
    return swept


def recover_run(run_dir: Path) -> list[str]:
    """Repair one run directory if its owner died; returns what was done."""
    manifest = read_manifest(run_dir)
    if manifest is None or manifest.get("status") != "running":
        return []
    try:
        lock = lock_run_dir(run_dir)
    except OSError:
        return []
    if lock is None:  # its owner is alive (or another twin is repairing it right now)
        return []
    try:
        manifest = read_manifest(run_dir)  # again under the lock: the owner may have finished
        if manifest is None or manifest.get("status") != "running":
            return []
        return _repair(run_dir, manifest)
    finally:
        os.close(lock)


def _repair(run_dir: Path, manifest: dict[str, Any]) -> list[str]:
    notes: list[str] = []
    dataset = run_dir / DATASET
    if repair_dataset(dataset):
        notes.append("cut a torn last line from the dataset")
    ann_path = run_dir / ANNOTATIONS
    if ann_path.is_file():
        rows = read_annotation_rows(run_dir)
        opened = [r for r in rows if r.get("status") == "running"]
        for row in opened:
            row["status"] = "interrupted"
            row["message"] = "twin was killed while this event ran"
        if opened:
            write_atomic(ann_path, render_annotations(rows))
            notes.append(f"marked {len(opened)} open event(s) interrupted")
    swept = sweep_temporary(run_dir)
    if swept:
        notes.append(f"swept {swept} temporary file(s)")
    shutil.rmtree(run_dir / SCRATCH, ignore_errors=True)
    manifest["status"] = "interrupted"
    manifest["exit_code"] = None
    manifest["stop_reason"] = "twin was killed; repaired by a later start of twin"
    manifest["sample_count"] = count_rows(dataset) if dataset.is_file() else 0
    manifest["recovered_at"] = iso_ms(now_utc())
    write_json_atomic(run_dir / MANIFEST, manifest)
    notes.append("marked the run interrupted")
    return notes


def recover_runs(parent: Path) -> dict[Path, list[str]]:
    """Repair every interrupted run under `parent`: {run dir: what was done}."""
    done: dict[Path, list[str]] = {}
    if not parent.is_dir():
        return done
    for run_dir in sorted(p for p in parent.iterdir() if p.is_dir()):
        notes = recover_run(run_dir)
        if notes:
            done[run_dir] = notes
    return done
