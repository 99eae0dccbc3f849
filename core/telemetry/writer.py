"""Crash-safe CSV: header once, each row a single append-mode write.

A reader sees at most one partial line even after `kill -9`, because each row
goes out in one `write(2)` on an O_APPEND descriptor; a short write (disk full)
is rolled back with ftruncate so the file stays whole rows.
"""

from __future__ import annotations

import contextlib
import errno
import math
import operator
import os
from collections.abc import Sequence
from pathlib import Path

from core.telemetry.columns import Column
from core.telemetry.logger import iso_ms
from core.telemetry.sampler import Sample


class DatasetWriter:
    """Appends samples to `system_metrics_dataset.csv` with a fixed column set."""

    def __init__(self, path: Path, columns: Sequence[Column]) -> None:
        self.path = path
        self.columns = list(columns)
        text_columns: tuple[str, ...] = ("timestamp", "elapsed_s", "active_events")
        self._names = [c.name for c in self.columns]
        # Optional columns (probe latencies) are formatted per row: NaN is an empty cell.
        self._optional = {c.name: f"%.{c.decimals}f" for c in self.columns if c.optional}
        text_columns += tuple(self._optional)
        # One %-format string for the whole row: far cheaper than formatting field by field,
        # and than str.format (which parses its specs again at every row).
        self._template = (
            ",".join(
                "%s" if n in text_columns else f"%.{c.decimals}f"
                for n, c in zip(self._names, self.columns, strict=True)
            )
            + "\n"
        )
        # Every cell in column order from one merged dict: a missing value is 0 (C-level work,
        # where a per-column lookup was a sixth of a tick).
        self._zeros = dict.fromkeys(self._names, 0.0)
        self._cells = operator.itemgetter(*self._names)
        self._fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644
        )
        self._size = 0
        self.rows = 0
        self._append(",".join(c.name for c in self.columns) + "\n")

    def format_row(self, sample: Sample) -> str:
        fixed = {
            "timestamp": iso_ms(sample.timestamp),
            "elapsed_s": f"{sample.elapsed_s:.3f}",
            "active_events": ";".join(sample.active_events),
        }
        get = sample.values.get
        for name, spec in self._optional.items():
            value = get(name, math.nan)
            fixed[name] = "" if math.isnan(value) else spec % value
        cells: tuple[object, ...] = self._cells({**self._zeros, **sample.values, **fixed})
        return self._template % cells

    def write(self, sample: Sample) -> None:
        self._append(self.format_row(sample))
        self.rows += 1

    def _append(self, line: str) -> None:
        data = line.encode()
        try:
            written = os.write(self._fd, data)
        except OSError:
            os.ftruncate(self._fd, self._size)
            raise
        if written != len(data):
            os.ftruncate(self._fd, self._size)
            raise OSError(
                errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (short write)", str(self.path)
            )
        self._size += written

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
