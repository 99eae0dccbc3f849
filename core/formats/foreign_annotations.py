"""A run directory whose `annotations.csv` is not twin's: read it as the seed project's file.

A user who copies the seed project's annotations into a run directory must get its events, or
one `FILE:LINE: reason` per unreadable line (exit 2), never a traceback and never an analysis
that silently finds no events. Twin's own files (header starting `event_id`) return None at the
cost of reading one line; everything else is imported only then.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from core.rundir.layout import ANNOTATION_COLUMNS, ANNOTATIONS, DATASET


def _first_line(path: Path) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            return f.readline().strip()
    except OSError:
        return ""


def _run_origin(run: Path) -> datetime | None:
    """Wall-clock time of the run clock's zero, from the dataset's first row."""
    try:
        with (run / DATASET).open(encoding="utf-8") as f:
            header = f.readline().strip().split(",")
            first = f.readline().strip().split(",")
        when = datetime.fromisoformat(first[header.index("timestamp")].replace("Z", "+00:00"))
        return when - timedelta(seconds=float(first[header.index("elapsed_s")]))
    except (OSError, ValueError, IndexError):
        return None


def foreign_annotation_rows(run: Path, t_last: float) -> list[dict[str, str]] | None:
    """The seed-style `annotations.csv` of `run` as twin annotation rows; None for twin's own.

    Raises `FormatError` (`FILE:LINE: reason` lines, exit 2) when a line cannot be read, or
    when the dataset gives no wall-clock time to place the events on the run clock.
    """
    path = run / ANNOTATIONS
    if _first_line(path).split(",")[0].strip() == ANNOTATION_COLUMNS[0]:
        return None
    from core.formats.imported import annotation_rows
    from core.formats.lines import LineProblems
    from core.formats.seed_events import read_seed_annotations, to_imported

    problems = LineProblems()
    origin = _run_origin(run)
    if origin is None:
        raise problems.fatal(path, 1, f"not twin's annotations, and {DATASET} has no first row")
    events = read_seed_annotations(path, problems, None)
    problems.raise_unless_skipping()
    end = origin + timedelta(seconds=t_last)
    return annotation_rows(to_imported(events, [], end), origin)
