"""The checker: checks one value at a time and collects every `Problem`, placed on its line.

Readers (`core.profile.read`, `core.profile.read_generate`) call it for each key, so every
profile message is worded here once: a type, a range, an unknown key with a did-you-mean.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from core.errors import ProfileError
from core.profile.spec import MAX_SECONDS, KeyPath, Problem, format_key
from core.profile.toml_lines import KeyLines
from core.shapes import ShapeError, parse_shape
from core.stressors import param_problems


def type_name(value: Any) -> str:
    """`a string`, `an integer`, ...: how a message names what the user wrote."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime | date | time):
        return "a date/time"
    return type(value).__name__


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def show(value: Any) -> str:
    """A value as TOML writes it, for messages (`"x"`, `true`, `5` rather than `5.0`)."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def hint(word: str, choices: Iterable[str]) -> str:
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f' (did you mean "{close[0]}"?)'
    return f"; expected one of: {', '.join(options)}"


class Checker:
    """Collects `Problem`s, each placed on its line when the text is known.

    Each check returns the usable value (or a default when absent) and None when the value is
    bad, after reporting why; so a reader goes on and every problem is reported at once.
    """

    def __init__(self, text: str | None) -> None:
        self._lines = KeyLines(text) if text else None
        self.problems: list[Problem] = []
        self.base_dir: Path | None = None
        """Where relative paths in the profile (shape traces) are read from; None: the cwd."""

    def add(self, path: KeyPath, reason: str) -> None:
        line = self._lines.line_of(path) if self._lines is not None else None
        problem = Problem(format_key(path), reason, line)
        if problem not in self.problems:
            self.problems.append(problem)

    def error(self, source: Path | None) -> ProfileError:
        """The problems so far as the exception the commands print (in the order found)."""
        return ProfileError([p.format(source) for p in self.problems])

    def table(self, path: KeyPath, value: Any, allowed: Sequence[str]) -> dict[str, Any] | None:
        """A table with only `allowed` keys (unknown ones reported, then ignored)."""
        if not isinstance(value, dict):
            self.add(path, f"must be a table, not {type_name(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.add((*path, key), f'unknown key "{key}"{hint(key, allowed)}')
        return {k: v for k, v in value.items() if k in allowed}

    def number(
        self,
        path: KeyPath,
        value: Any,
        default: float,
        *,
        above: float | None = None,
        least: float | None = None,
        most: float | None = None,
    ) -> float | None:
        """A finite number within bounds: the value, `default` if absent, None if bad."""
        if value is None:
            return default
        if not is_number(value):
            self.add(path, f"must be a number, not {type_name(value)} ({show(value)})")
            return None
        if not math.isfinite(value):
            self.add(path, f"must be a finite number, not {show(value)}")
            return None
        if least is not None and most is not None and not least <= value <= most:
            self.add(path, f"must be between {show(least)} and {show(most)}, not {show(value)}")
            return None
        if above is not None and value <= above:
            self.add(path, f"must be > {show(above)}, not {show(value)}")
            return None
        if least is not None and value < least:
            self.add(path, f"must be >= {show(least)}, not {show(value)}")
            return None
        if most is None and str(path[-1]).endswith("_s") and value > MAX_SECONDS:
            self.add(path, f"must be at most {MAX_SECONDS} s (a year), not {value:g}")
            return None
        return float(value)

    def integer(self, path: KeyPath, value: Any, *, least: int, most: int) -> int | None:
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(path, f"must be an integer, not {type_name(value)} ({show(value)})")
            return None
        if not least <= value <= most:
            self.add(path, f"must be between {least} and {most}, not {value}")
            return None
        return value

    def string(self, path: KeyPath, value: Any, default: str) -> str | None:
        if value is None:
            return default
        if not isinstance(value, str):
            self.add(path, f"must be a string, not {type_name(value)} ({show(value)})")
            return None
        return value

    def choice(self, path: KeyPath, value: Any, choices: Sequence[str], what: str) -> str | None:
        if not isinstance(value, str):
            self.add(path, f"must be a string, not {type_name(value)} ({show(value)})")
            return None
        if value not in choices:
            self.add(path, f'unknown {what} "{value}"{hint(value, choices)}')
            return None
        return value

    def params(self, path: KeyPath, value: Any, kind: str | None) -> dict[str, Any] | None:
        """An event's `params` table, checked by the stressor table when `kind` is known."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(
                path, f"must be a table such as {{ load_percent = 50 }}, not {type_name(value)}"
            )
            return None
        checked = {name: self.param_value((*path, name), item) for name, item in value.items()}
        ok = all(item is not _BAD for item in checked.values())
        if ok and kind is not None:
            for param, reason in param_problems(kind, checked):
                self.add((*path, param) if param else path, reason)
                ok = False
        return checked if ok else None

    def param_value(self, path: KeyPath, value: Any) -> Any:
        """One param's value in the form the stressor table checks; `_BAD` after a problem.

        A shaped value (a table such as `{ ramp = [...] }`, core.shapes) is checked here and
        becomes its JSON form (a trace's rows read from `base_dir`); the table then checks that
        it belongs to a level param and that every point is in range.
        """
        if isinstance(value, dict):
            try:
                return parse_shape(value, self.base_dir).to_json()
            except ShapeError as exc:
                self.add(path, str(exc))
                return _BAD
        if isinstance(value, list):
            self.add(path, f"must be a single value, not {type_name(value)}")
            return _BAD
        return value


_BAD = object()
"""A param value that was reported bad (None is a valid value: "not set")."""
