"""Where a run's CSV files are damaged in the middle: `FILE:LINE: reason`, never a parser trace.

A kill leaves at most a torn *last* line (the loader drops it); a line damaged anywhere else
(a stray `"`, a torn field, an edit gone wrong) means the file is not what twin wrote, and
analysis must not guess around it. These scans run only when the fast reader has refused the
file (the dataset) or are a single `csv` pass (annotations, a few rows), so a whole file costs
nothing extra.
"""

from __future__ import annotations

import csv
from pathlib import Path

from core.errors import ProfileError

MAX_SHOWN = 10  # a file with thousands of damaged lines is reported by its first ones and a count


class DamagedFile(ProfileError):
    """Lines of a run file that cannot be read: each printed bare, `FILE:LINE: reason`, exit 2."""


def damaged(path: Path, problems: list[tuple[int, str]]) -> DamagedFile:
    """One `FILE:LINE: reason` per problem (the first `MAX_SHOWN` and a count of the rest)."""
    lines = [f"{path}:{line}: {reason}" for line, reason in problems[:MAX_SHOWN]]
    if len(problems) > MAX_SHOWN:
        lines.append(f"{path}: ... and {len(problems) - MAX_SHOWN} more damaged lines")
    return DamagedFile(lines)


def _fields(line: str) -> tuple[int, str | None]:
    """(field count, reason the line is unreadable or None) of one physical CSV line."""
    if '"' not in line:
        return line.count(",") + 1, None
    try:
        cells = next(csv.reader([line], strict=True), [])
    except csv.Error:
        return 0, 'unbalanced quote (a stray ")'
    return len(cells), None


def dataset_damage(body: bytes, n_fields: int) -> list[tuple[int, str]]:
    """(line number, reason) of every damaged line of a dataset body (header = line 1).

    The dataset writer never quotes and never puts a newline in a cell, so each physical
    line is one row: a line with the wrong number of fields or an unbalanced quote is damage.
    """
    problems: list[tuple[int, str]] = []
    for number, raw in enumerate(body.split(b"\n")[1:], start=2):
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append((number, "not UTF-8 text"))
            continue
        count, reason = _fields(line)
        if reason is None and count != n_fields:
            reason = f"{count} fields where the header has {n_fields} (a torn line?)"
        if reason is not None:
            problems.append((number, reason))
    return problems


def annotation_records(path: Path, text: str) -> list[dict[str, str]]:
    """`annotations.csv` text as rows of strings; raises `DamagedFile` for a damaged middle line.

    A quoted cell may span lines (a message with a newline), so records are counted by the
    csv module's line numbers. Only the last record may be short, and only when the file does
    not end with a newline (a torn tail): it is dropped, as the dataset's is.
    """
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    problems: list[tuple[int, str]] = []
    header: list[str] = []
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            if not header:
                header = cells
            elif cells:
                records.append((start, cells))
            start = reader.line_num + 1
    except csv.Error:
        problems.append((start, 'unbalanced quote (a stray ")'))
    torn_tail = bool(text) and not text.endswith("\n")
    rows: list[dict[str, str]] = []
    for index, (line, cells) in enumerate(records):
        if len(cells) != len(header):
            if torn_tail and index == len(records) - 1 and not problems:
                continue
            problems.append(
                (line, f"{len(cells)} fields where the header has {len(header)} (a torn line?)")
            )
            continue
        rows.append(dict(zip(header, cells, strict=True)))
    if problems:
        raise damaged(path, sorted(problems))
    return rows
