"""Where keys are in a TOML text: tomllib gives no positions, problems need `FILE:LINE`."""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.profile.spec import KeyPath

BARE_KEY = r"[A-Za-z0-9_-]+"
"""A TOML bare key: written without quotes (the writer quotes anything else)."""

_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_KEY_PART = rf"(?:{BARE_KEY}|{_QUOTED})"
_DOTTED = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_HEADER_RE = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_KEYVAL_RE = re.compile(rf"^\s*({_DOTTED})\s*=\s*(.*)$")
_INLINE_KEY_RE = re.compile(rf"(?:^|[{{,])\s*({BARE_KEY})\s*=")
_PART_RE = re.compile(_KEY_PART)


def _split_key(dotted: str) -> list[str]:
    parts = []
    for match in _PART_RE.finditer(dotted):
        part = match.group(0)
        if part[0] in "\"'":
            part = part[1:-1]
        parts.append(part)
    return parts


class KeyLines:
    """Maps key paths to the line (1-based) where the TOML text writes them.

    A scan of the text, not a parser: table headers (`[run]`, `[[events]]`,
    `[events.params]`), `key = value` lines (dotted keys too) and the keys of
    one-line inline tables. A path not written in the text maps to the line of
    its nearest written parent (a missing `duration_s` points at its
    `[[events]]` header), else line 1.
    """

    def __init__(self, text: str) -> None:
        self._lines: dict[KeyPath, int] = {}
        counts: dict[KeyPath, int] = {}
        table: KeyPath = ()
        in_string: str | None = None
        for number, raw in enumerate(text.splitlines(), 1):
            if in_string is not None:
                if raw.count(in_string) % 2 == 1:
                    in_string = None
                continue
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            header = _HEADER_RE.match(line)
            if header:
                parts = _split_key(header.group(2))
                if header.group(1) == "[[":
                    base = (*self._resolve(parts[:-1], counts), parts[-1])
                    counts[base] = counts.get(base, -1) + 1
                    self._lines.setdefault(base, number)
                    table = (*base, counts[base])
                else:
                    table = self._resolve(parts, counts)
                self._lines.setdefault(table, number)
                continue
            keyval = _KEYVAL_RE.match(line)
            if not keyval:
                continue
            key: KeyPath = (*table, *_split_key(keyval.group(1)))
            for end in range(len(table) + 1, len(key) + 1):
                self._lines.setdefault(key[:end], number)
            value = keyval.group(2)
            if value.startswith("{"):
                for inner in _INLINE_KEY_RE.finditer(value):
                    self._lines.setdefault((*key, inner.group(1)), number)
            for quote in ('"""', "'''"):
                if value.count(quote) % 2 == 1:
                    in_string = quote

    @staticmethod
    def _resolve(parts: Sequence[str], counts: dict[KeyPath, int]) -> KeyPath:
        path: KeyPath = ()
        for part in parts:
            path = (*path, part)
            if path in counts:
                path = (*path, counts[path])
        return path

    def line_of(self, path: KeyPath) -> int:
        for end in range(len(path), 0, -1):
            line = self._lines.get(path[:end])
            if line is not None:
                return line
        return 1
