"""Atomic file writes, and spare space for the writes that must succeed on a full disk.

A run's JSON and CSV files are replaced whole (temp file + fsync + rename), so a reader, or a
run killed mid-write, never sees a torn one; temporary files carry `TMP_MARK`, so recovery can
sweep those a crash leaves behind.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from core.rundir.layout import TMP_MARK


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
