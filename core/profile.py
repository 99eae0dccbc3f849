"""Experiment profiles (TOML): load, validate, resolve into a `Schedule`.

The profile keys are a contract (README, "Profiles"): users' files, the TUI's
timeline editor and `twin --batch` all rely on them. Validation reports every
problem at once, each as `FILE:LINE: key.path: reason`, where LINE is the line
of the TOML that holds the key (found by `KeyLines`, since tomllib gives no
positions). `ProfileError` carries the list; the CLI prints one per line and
exits 2.

Public API:
- `load_profile(path)`, `parse_profile(text, path)`: read and validate a file.
- `profile_from_data(data, path)`: the same from a parsed dict (the TUI).
- `validate_profile_data(data, path)` -> messages, `check_profile_data(data)`
  -> `Problem`s with key paths: the same checks without raising.
- `resolve_schedule(profile)` -> `Schedule` on the run clock.
- `expand_generate(profile)`: the `[generate]` design written out as events.
- `profile_to_data(profile)`, `profile_to_toml(profile)`: write a profile back;
  `parse_profile(profile_to_toml(p))` gives `p` again.

Stressor parameters and safety come from `core.stressors` (`PARAMS`,
`param_problems`, `safety_problems`); without them only stressor kinds are
checked.
"""

from __future__ import annotations

import difflib
import importlib
import math
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, cast

import tomli_w

from core.errors import ProfileError
from core.generate import (
    DESIGNS,
    MAX_COUNT,
    Choices,
    Design,
    Draft,
    Fixed,
    NumRange,
    ParamSpec,
    RandomDesign,
    SweepDesign,
)
from core.schedule import MODES, STRESSORS, Event, Schedule

DEFAULT_INTERVAL_S = 1.0
MAX_SECONDS = 365 * 24 * 3600  # no time in a profile is longer than a year
DEFAULT_BASELINE_S = 5.0
DEFAULT_GAP_S = 5.0
INTERVAL_RANGE = (0.05, 60.0)
DEFAULT_RANDOM_COUNT = 5
DEFAULT_RANDOM_DURATION = (5, 15)
DEFAULT_SWEEP_DURATION_S = 10.0
DEFAULT_SCRATCH_DIR = Path("data/runs")  # where runs (and disk stressors' files) go by default

TOP_KEYS = ("name", "description", "sampling", "run", "events", "generate")
SAMPLING_KEYS = ("interval_s",)
RUN_KEYS = ("mode", "baseline_s", "gap_s")
EVENT_KEYS = ("stressor", "duration_s", "start_s", "label", "params")
RANDOM_KEYS = ("design", "seed", "count", "weights", "duration_s", "gap_s", "overlap", "params")
SWEEP_KEYS = ("design", "seed", "stressor", "param", "values", "duration_s", "rest_s", "params")

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class EventSpec:
    """An event as the profile writes it (before it is placed on the run clock).

    `start_s` is an offset from the end of the baseline. In parallel mode every
    event starts there. In sequential mode 0 means "after the previous event
    and `gap_s`", and a positive value pins the start (it must not overlap the
    previous event).
    """

    stressor: str
    duration_s: float
    params: dict[str, Any] = field(default_factory=dict)
    start_s: float = 0.0
    label: str = ""


@dataclass(frozen=True)
class Profile:
    name: str
    description: str = ""
    interval_s: float = DEFAULT_INTERVAL_S
    mode: str = "sequential"
    baseline_s: float = DEFAULT_BASELINE_S
    gap_s: float = DEFAULT_GAP_S
    events: tuple[EventSpec, ...] = ()
    generate: dict[str, Any] | None = None
    seed: int | None = None
    source: Path | None = None
    text: str = ""


@dataclass(frozen=True)
class Problem:
    """One validation problem: `key` is a path such as `events[2].duration_s`."""

    key: str
    reason: str
    line: int | None = None

    def format(self, path: Path | str | None = None) -> str:
        where = "<profile>" if path is None else str(path)
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.key}: {self.reason}" if self.key else f"{where}: {self.reason}"


def format_key(path: KeyPath) -> str:
    """`("events", 2, "duration_s")` -> `events[2].duration_s`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


# --- where keys are in the text ---------------------------------------------------

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_KEY_PART = rf"(?:{_BARE}|{_QUOTED})"
_DOTTED = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_HEADER_RE = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_KEYVAL_RE = re.compile(rf"^\s*({_DOTTED})\s*=\s*(.*)$")
_INLINE_KEY_RE = re.compile(rf"(?:^|[{{,])\s*({_BARE})\s*=")
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


# --- the stressors' own checks (written by the stressors module) -------------------


def _stressors_attr(name: str) -> Any:
    """`core.stressors.<name>`, or None while that module does not provide it."""
    try:
        module = importlib.import_module("core.stressors")
    except ModuleNotFoundError as exc:
        if exc.name in ("core.stressors", "core"):
            return None
        raise
    return getattr(module, name, None)


def param_problems(kind: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """`(param, reason)` for each bad parameter of one event of stressor `kind`."""
    check = _stressors_attr("param_problems")
    if not callable(check):
        return []
    return [(str(p), str(r)) for p, r in check(kind, params)]


def safety_problems(events: Sequence[Event], scratch_dir: Path) -> list[tuple[int, str, str]]:
    """`(event_index, param, reason)` for memory or disk targets this machine can't take."""
    check = _stressors_attr("safety_problems")
    if not callable(check):
        return []
    return [(int(i), str(p), str(r)) for i, p, r in check(list(events), scratch_dir)]


def stressor_params(kind: str) -> dict[str, Any]:
    """The stressor's parameter table from `core.stressors.PARAMS` ({} when unknown)."""
    params = _stressors_attr("PARAMS")
    if isinstance(params, dict):
        table = params.get(kind)
        if isinstance(table, dict):
            return table
    return {}


# --- checking -------------------------------------------------------------------


def _type_name(value: Any) -> str:
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


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _hint(word: str, choices: Iterable[str]) -> str:
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f' (did you mean "{close[0]}"?)'
    return f"; expected one of: {', '.join(options)}"


class _Checker:
    """Collects `Problem`s, each placed on its line when the text is known."""

    def __init__(self, text: str | None) -> None:
        self._lines = KeyLines(text) if text else None
        self.problems: list[Problem] = []

    def add(self, path: KeyPath, reason: str) -> None:
        line = self._lines.line_of(path) if self._lines is not None else None
        problem = Problem(format_key(path), reason, line)
        if problem not in self.problems:
            self.problems.append(problem)

    def table(self, path: KeyPath, value: Any, allowed: Sequence[str]) -> dict[str, Any] | None:
        """A table with only `allowed` keys (unknown ones reported, then ignored)."""
        if not isinstance(value, dict):
            self.add(path, f"must be a table, not {_type_name(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.add((*path, key), f'unknown key "{key}"{_hint(key, allowed)}')
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
        if not _is_number(value):
            self.add(path, f"must be a number, not {_type_name(value)} ({_show(value)})")
            return None
        if not math.isfinite(value):
            self.add(path, f"must be a finite number, not {_show(value)}")
            return None
        if least is not None and most is not None and not least <= value <= most:
            self.add(path, f"must be between {_show(least)} and {_show(most)}, not {_show(value)}")
            return None
        if above is not None and value <= above:
            self.add(path, f"must be > {_show(above)}, not {_show(value)}")
            return None
        if least is not None and value < least:
            self.add(path, f"must be >= {_show(least)}, not {_show(value)}")
            return None
        if most is None and str(path[-1]).endswith("_s") and value > MAX_SECONDS:
            self.add(path, f"must be at most {MAX_SECONDS} s (a year), not {value:g}")
            return None
        return float(value)

    def integer(self, path: KeyPath, value: Any, *, least: int, most: int) -> int | None:
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(path, f"must be an integer, not {_type_name(value)} ({_show(value)})")
            return None
        if not least <= value <= most:
            self.add(path, f"must be between {least} and {most}, not {value}")
            return None
        return value

    def string(self, path: KeyPath, value: Any, default: str) -> str | None:
        if value is None:
            return default
        if not isinstance(value, str):
            self.add(path, f"must be a string, not {_type_name(value)} ({_show(value)})")
            return None
        return value

    def choice(self, path: KeyPath, value: Any, choices: Sequence[str], what: str) -> str | None:
        if not isinstance(value, str):
            self.add(path, f"must be a string, not {_type_name(value)} ({_show(value)})")
            return None
        if value not in choices:
            self.add(path, f'unknown {what} "{value}"{_hint(value, choices)}')
            return None
        return value

    def params(self, path: KeyPath, value: Any, kind: str | None) -> dict[str, Any] | None:
        """An event's `params` table, checked by the stressor when `kind` is known."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(
                path, f"must be a table such as {{ load_percent = 50 }}, not {_type_name(value)}"
            )
            return None
        ok = True
        for name, item in value.items():
            if isinstance(item, dict | list):
                self.add((*path, name), f"must be a single value, not {_type_name(item)}")
                ok = False
        if ok and kind is not None:
            for param, reason in param_problems(kind, value):
                self.add((*path, param) if param else path, reason)
                ok = False
        return dict(value) if ok else None


# --- reading a profile ----------------------------------------------------------


@dataclass
class _Read:
    """What validation could read: a profile, and whether its timing is sound."""

    profile: Profile
    design: Design | None
    timing_ok: bool


def _read(data: dict[str, Any], check: _Checker, path: Path | None, text: str) -> _Read:
    data = check.table((), data, TOP_KEYS) or {}
    name = data.get("name")
    if name is None:
        check.add(("name",), 'required: a short name for the experiment, e.g. name = "smoke"')
    elif not isinstance(name, str):
        check.add(("name",), f"must be a string, not {_type_name(name)} ({_show(name)})")
        name = None
    elif not name.strip():
        check.add(("name",), "must not be empty")
        name = None
    elif any(c in name for c in "/\\\n\r\t"):
        check.add(("name",), "must not contain '/', '\\' or line breaks")
        name = None
    description = check.string(("description",), data.get("description"), "")

    interval = DEFAULT_INTERVAL_S
    if "sampling" in data:
        sampling = check.table(("sampling",), data["sampling"], SAMPLING_KEYS) or {}
        lo, hi = INTERVAL_RANGE
        interval = (
            check.number(
                ("sampling", "interval_s"), sampling.get("interval_s"), interval, least=lo, most=hi
            )
            or DEFAULT_INTERVAL_S
        )

    mode: str | None = "sequential"
    baseline: float | None = DEFAULT_BASELINE_S
    gap: float | None = DEFAULT_GAP_S
    if "run" in data:
        run = check.table(("run",), data["run"], RUN_KEYS) or {}
        if "mode" in run:
            mode = check.choice(("run", "mode"), run["mode"], MODES, "mode")
        baseline = check.number(
            ("run", "baseline_s"), run.get("baseline_s"), DEFAULT_BASELINE_S, least=0
        )
        gap = check.number(("run", "gap_s"), run.get("gap_s"), DEFAULT_GAP_S, least=0)
    timing_ok = mode is not None and baseline is not None and gap is not None

    specs: list[EventSpec] = []
    if "events" in data:
        raw = data["events"]
        if not isinstance(raw, list):
            check.add(("events",), "must be an array of tables: write each event as [[events]]")
            timing_ok = False
        else:
            for index, item in enumerate(raw):
                spec = _read_event(check, index, item)
                if spec is None:
                    timing_ok = False
                else:
                    specs.append(spec)

    design: Design | None = None
    generate: dict[str, Any] | None = None
    seed: int | None = None
    if "generate" in data:
        if "events" in data:
            check.add(
                ("generate",),
                "give either [[events]] or a [generate] table, not both",
            )
            timing_ok = False
        raw_generate = data["generate"]
        generate = dict(raw_generate) if isinstance(raw_generate, dict) else None
        design = _read_design(check, raw_generate, mode or "sequential", gap or DEFAULT_GAP_S)
        if design is None:
            timing_ok = False
        if generate is not None:
            raw_seed = generate.get("seed")
            if isinstance(raw_seed, int) and not isinstance(raw_seed, bool):
                seed = raw_seed

    if timing_ok and not specs and design is None and baseline == 0:
        check.add(("run", "baseline_s"), "must be > 0 when there are no events: nothing to record")

    profile = Profile(
        name=name if isinstance(name, str) else "",
        description=description or "",
        interval_s=interval,
        mode=mode or "sequential",
        baseline_s=DEFAULT_BASELINE_S if baseline is None else baseline,
        gap_s=DEFAULT_GAP_S if gap is None else gap,
        events=tuple(specs),
        generate=generate,
        seed=seed,
        source=path,
        text=text,
    )
    return _Read(profile, design, timing_ok)


def _read_event(check: _Checker, index: int, item: Any) -> EventSpec | None:
    """The event, or None when its timing (stressor, duration, start) is unusable.

    An event with bad params or label is still returned (its problems are
    reported), so overlaps and safety are checked across all events.
    """
    path: KeyPath = ("events", index)
    event = check.table(path, item, EVENT_KEYS)
    if event is None:
        return None
    kind: str | None = None
    if "stressor" not in event:
        check.add((*path, "stressor"), f"required: one of {', '.join(STRESSORS)}")
    else:
        kind = check.choice((*path, "stressor"), event["stressor"], STRESSORS, "stressor")
    duration: float | None = None
    if "duration_s" not in event:
        check.add((*path, "duration_s"), "required: the event's length in seconds, > 0")
    else:
        duration = check.number((*path, "duration_s"), event["duration_s"], 0.0, above=0)
    start = check.number((*path, "start_s"), event.get("start_s"), 0.0, least=0)
    label = check.string((*path, "label"), event.get("label"), "")
    raw_params = event.get("params")
    params = check.params((*path, "params"), raw_params, kind)
    if kind is None or duration is None or start is None:
        return None
    if params is None:
        params = dict(raw_params) if isinstance(raw_params, dict) else {}
    return EventSpec(kind, duration, params, start, label or "")


def _range(
    check: _Checker, path: KeyPath, value: Any, *, positive: bool | None, hint: str = ""
) -> NumRange | None:
    """`[lo, hi]` (or one number: a fixed value) as a `NumRange`."""
    if _is_number(value):
        value = [value, value]
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(_is_number(v) and math.isfinite(v) for v in value)
    ):
        check.add(path, f"must be a range [min, max] of two numbers{hint}, not {_show(value)}")
        return None
    lo, hi = value
    if lo > hi:
        check.add(path, f"min must be <= max, not [{_show(lo)}, {_show(hi)}]")
        return None
    if positive is True and lo <= 0:
        check.add(path, f"must be > 0, not {_show(lo)}")
        return None
    if positive is False and lo < 0:
        check.add(path, f"must be >= 0, not {_show(lo)}")
        return None
    integer = all(isinstance(v, int) for v in value)
    return NumRange(float(lo), float(hi), integer)


def _param_spec(
    check: _Checker, path: KeyPath, kind: str, name: str, value: Any
) -> ParamSpec | None:
    """One `[generate.params.KIND]` entry: value, `[min, max]` or `{ choices = [...] }`."""
    samples: list[Any]
    spec: ParamSpec
    if isinstance(value, dict):
        table = check.table(path, value, ("choices",))
        choices = (table or {}).get("choices")
        if not isinstance(choices, list) or not choices:
            check.add(path, "must be { choices = [a, b, ...] } with at least one value")
            return None
        samples, spec = list(choices), Choices(tuple(choices))
    elif isinstance(value, list):
        num = _range(check, path, value, positive=None, hint=" (or { choices = [...] })")
        if num is None:
            return None
        lo = int(num.lo) if num.integer else num.lo
        hi = int(num.hi) if num.integer else num.hi
        samples, spec = [lo, hi], num
    else:
        samples, spec = [value], Fixed(value)
    known = stressor_params(kind)
    if known and name not in known:
        samples = samples[:1]  # an unknown name: say so once
    ok = True
    for sample in samples:
        for param, reason in param_problems(kind, {name: sample}):
            prefix = "" if isinstance(spec, Fixed) or name not in known else f"{_show(sample)}: "
            check.add(path if param == name else (*path[:-1], param), prefix + reason)
            ok = False
    return spec if ok else None


def _read_design(check: _Checker, value: Any, mode: str, run_gap: float) -> Design | None:
    path: KeyPath = ("generate",)
    if not isinstance(value, dict):
        check.add(path, f"must be a table, not {_type_name(value)}")
        return None
    design = value.get("design", "random")
    if check.choice((*path, "design"), design, DESIGNS, "design") is None:
        check.table(path, value, (*RANDOM_KEYS, *SWEEP_KEYS))
        return None
    if design == "sweep":
        return _read_sweep(check, value, run_gap)
    return _read_random(check, value, mode, run_gap)


def _read_random(
    check: _Checker, value: dict[str, Any], mode: str, run_gap: float
) -> Design | None:
    path: KeyPath = ("generate",)
    table = check.table(path, value, RANDOM_KEYS)
    if table is None:
        return None
    ok = True
    seed: int | None = None
    if "seed" not in table:
        check.add((*path, "seed"), "required for a random design: an integer, e.g. seed = 42")
        ok = False
    else:
        seed = check.integer((*path, "seed"), table["seed"], least=0, most=2**63 - 1)
    count = check.integer(
        (*path, "count"), table.get("count", DEFAULT_RANDOM_COUNT), least=1, most=MAX_COUNT
    )
    weights: list[tuple[str, float]] = [(kind, 1.0) for kind in STRESSORS]
    if "weights" in table:
        raw = check.table((*path, "weights"), table["weights"], STRESSORS)
        if raw is None:
            ok = False
        else:
            weights = []
            for kind in STRESSORS:
                if kind in raw:
                    w = check.number((*path, "weights", kind), raw[kind], 0.0, least=0)
                    if w is None:
                        ok = False
                    elif w > 0:
                        weights.append((kind, w))
            if ok and not weights:
                check.add((*path, "weights"), "at least one stressor needs a weight > 0")
                ok = False
    duration = _range(
        check,
        (*path, "duration_s"),
        table.get("duration_s", list(DEFAULT_RANDOM_DURATION)),
        positive=True,
    )
    gap = _range(check, (*path, "gap_s"), table.get("gap_s", run_gap), positive=False)
    overlap = check.number((*path, "overlap"), table.get("overlap"), 0.0, least=0, most=1)
    if overlap and mode != "parallel":
        check.add(
            (*path, "overlap"),
            "only used in parallel mode: sequential events never overlap "
            '(set [run] mode = "parallel")',
        )
        ok = False
    params: dict[str, dict[str, ParamSpec]] = {}
    if "params" in table:
        raw_params = check.table((*path, "params"), table["params"], STRESSORS)
        if raw_params is None:
            ok = False
        for kind, specs in (raw_params or {}).items():
            kind_path: KeyPath = (*path, "params", kind)
            if not isinstance(specs, dict):
                check.add(kind_path, f"must be a table of parameters, not {_type_name(specs)}")
                ok = False
                continue
            params[kind] = {}
            for name, raw_spec in specs.items():
                spec = _param_spec(check, (*kind_path, name), kind, name, raw_spec)
                if spec is None:
                    ok = False
                else:
                    params[kind][name] = spec
    if not ok or seed is None or count is None or duration is None or gap is None:
        return None
    if overlap is None:
        return None
    return RandomDesign(seed, count, tuple(weights), duration, gap, overlap, params)


def _read_sweep(check: _Checker, value: dict[str, Any], run_gap: float) -> Design | None:
    path: KeyPath = ("generate",)
    table = check.table(path, value, SWEEP_KEYS)
    if table is None:
        return None
    ok = True
    if "seed" in table:
        ok = check.integer((*path, "seed"), table["seed"], least=0, most=2**63 - 1) is not None
    kind: str | None = None
    if "stressor" not in table:
        check.add((*path, "stressor"), f"required for a sweep: one of {', '.join(STRESSORS)}")
    else:
        kind = check.choice((*path, "stressor"), table["stressor"], STRESSORS, "stressor")
    param = table.get("param")
    if param is None:
        check.add(
            (*path, "param"), 'required for a sweep: the parameter to step, e.g. "load_percent"'
        )
    elif not isinstance(param, str) or not param:
        check.add((*path, "param"), f"must be a parameter name, not {_show(param)}")
        param = None
    values = table.get("values")
    if values is None:
        check.add(
            (*path, "values"), "required for a sweep: the values to step through, e.g. [25, 50]"
        )
    elif not isinstance(values, list) or not values:
        check.add((*path, "values"), f"must be a non-empty array of values, not {_show(values)}")
        values = None
    elif any(isinstance(v, dict | list) for v in values):
        check.add((*path, "values"), "must hold single values, not tables or arrays")
        values = None
    duration = check.number(
        (*path, "duration_s"), table.get("duration_s"), DEFAULT_SWEEP_DURATION_S, above=0
    )
    rest = check.number((*path, "rest_s"), table.get("rest_s"), run_gap, least=0)
    fixed = check.params((*path, "params"), table.get("params"), kind)
    if kind is not None and isinstance(param, str) and values is not None:
        for index, step in enumerate(values):
            for bad, reason in param_problems(kind, {**(fixed or {}), param: step}):
                where: KeyPath = (
                    (*path, "values", index) if bad == param else (*path, "params", bad)
                )
                check.add(where, f"{_show(step)}: {reason}" if bad == param else reason)
                ok = False
    if not ok or kind is None or param is None or values is None or fixed is None:
        return None
    if duration is None or rest is None:
        return None
    return SweepDesign(kind, str(param), tuple(values), duration, rest, fixed)


# --- placing events on the run clock -----------------------------------------------


def event_ids(count: int) -> list[str]:
    width = max(2, len(str(count)))
    return [f"e{i:0{width}d}" for i in range(1, count + 1)]


def _place(
    specs: Sequence[EventSpec], mode: str, baseline: float, gap: float
) -> tuple[list[Event], list[tuple[int, str]]]:
    """Events on the run clock, and `(index, reason)` for sequential overlaps."""
    events: list[Event] = []
    overlaps: list[tuple[int, str]] = []
    previous_end = baseline
    for index, (eid, spec) in enumerate(zip(event_ids(len(specs)), specs, strict=True)):
        if mode == "parallel":
            start = baseline + spec.start_s
        elif spec.start_s > 0:
            start = baseline + spec.start_s
            if start < previous_end:
                overlaps.append(
                    (
                        index,
                        f"{_show(spec.start_s)} overlaps events[{index - 1}], which runs until "
                        f"{_show(round(previous_end - baseline, 6))} s after the baseline: "
                        "sequential events run one at a time "
                        '(use a later start_s, or [run] mode = "parallel")',
                    )
                )
        else:
            start = previous_end + gap if index else baseline
        event = Event(eid, spec.stressor, dict(spec.params), start, spec.duration_s, spec.label)
        events.append(event)
        previous_end = max(previous_end, event.end_s) if mode == "parallel" else event.end_s
    return events, overlaps


def _drafts_to_specs(drafts: Iterable[Draft]) -> tuple[EventSpec, ...]:
    return tuple(EventSpec(d.stressor, d.duration_s, d.params, d.start_s, d.label) for d in drafts)


def _schedule(
    profile: Profile, specs: Sequence[EventSpec]
) -> tuple[Schedule, list[tuple[int, str]]]:
    events, overlaps = _place(specs, profile.mode, profile.baseline_s, profile.gap_s)
    last_end = max((e.end_s for e in events), default=0.0)
    total = last_end + profile.baseline_s if events else profile.baseline_s
    schedule = Schedule(
        name=profile.name,
        mode=profile.mode,
        events=tuple(events),
        total_s=total,
        interval_s=profile.interval_s,
        baseline_s=profile.baseline_s,
        seed=profile.seed,
    )
    return schedule, overlaps


def _check(
    data: dict[str, Any], text: str | None, path: Path | None, scratch_dir: Path | None
) -> tuple[_Read, list[Problem]]:
    check = _Checker(text)
    read = _read(data, check, path, text or "")
    if read.timing_ok:
        profile = read.profile
        specs = profile.events
        if read.design is not None:
            specs = _drafts_to_specs(read.design.drafts(profile.mode))
        schedule, overlaps = _schedule(profile, specs)
        for index, reason in overlaps:
            check.add(("events", index, "start_s"), reason)
        if not overlaps:
            scratch = DEFAULT_SCRATCH_DIR if scratch_dir is None else scratch_dir
            for index, param, reason in safety_problems(schedule.events, scratch):
                if read.design is None:
                    check.add(("events", index, "params", param), reason)
                else:
                    event = schedule.events[index] if 0 <= index < len(schedule.events) else None
                    where = f"generated event {event.id} ({event.stressor})" if event else "event"
                    key: KeyPath = ("generate", "params")
                    if event is not None:
                        key = (*key, event.stressor, param)
                    check.add(key, f"{where}: {param}: {reason}")
    problems = sorted(check.problems, key=lambda p: p.line or 0)
    return read, problems


# --- public API ------------------------------------------------------------------


def check_profile_data(
    data: dict[str, Any], text: str | None = None, *, scratch_dir: Path | None = None
) -> list[Problem]:
    """Every problem in a parsed profile (`text` gives line numbers)."""
    return _check(data, text, None, scratch_dir)[1]


def validate_profile_data(
    data: dict[str, Any],
    path: Path | str | None,
    text: str | None = None,
    *,
    scratch_dir: Path | None = None,
) -> list[str]:
    """Every problem as `FILE:LINE: key: reason` (`FILE: key: reason` without `text`)."""
    return [p.format(path) for p in check_profile_data(data, text, scratch_dir=scratch_dir)]


def profile_from_data(
    data: dict[str, Any],
    path: Path | None = None,
    text: str = "",
    *,
    scratch_dir: Path | None = None,
) -> Profile:
    """Validate a parsed profile and build it; raise `ProfileError` listing every problem."""
    read, problems = _check(data, text or None, path, scratch_dir)
    if problems:
        raise ProfileError([p.format(path) for p in problems])
    return read.profile


_TOML_LINE_RE = re.compile(r"\s*\(at line (\d+), column \d+\)$")


def parse_profile(text: str, path: Path, *, scratch_dir: Path | None = None) -> Profile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_LINE_RE.search(message)
        line = match.group(1) if match else "1"
        raise ProfileError(
            [f"{path}:{line}: invalid TOML: {_TOML_LINE_RE.sub('', message)}"]
        ) from None
    return profile_from_data(data, path, text, scratch_dir=scratch_dir)


def load_profile(path: Path, *, scratch_dir: Path | None = None) -> Profile:
    """Read and validate a profile file; raise `ProfileError` listing every problem.

    `scratch_dir` is where disk stressors will write (free space is checked
    there); `data/runs` (the default runs directory) when not given.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise ProfileError([f"{path}: cannot read: not UTF-8 text"]) from None
    return parse_profile(text, path, scratch_dir=scratch_dir)


def _design(profile: Profile) -> Design | None:
    if profile.generate is None:
        return None
    check = _Checker(profile.text or None)
    design = _read_design(check, profile.generate, profile.mode, profile.gap_s)
    if design is None:
        raise ProfileError([p.format(profile.source) for p in check.problems])
    return design


def event_specs(profile: Profile) -> tuple[EventSpec, ...]:
    """The profile's events: as written, or generated from its `[generate]` design."""
    design = _design(profile)
    if design is None:
        return profile.events
    return _drafts_to_specs(design.drafts(profile.mode))


def expand_generate(profile: Profile) -> Profile:
    """The same profile with its `[generate]` design written out as `[[events]]`."""
    if profile.generate is None:
        return profile
    return replace(profile, events=event_specs(profile), generate=None)


def resolve_schedule(profile: Profile) -> Schedule:
    """Place the profile's events on the run clock (seconds since the run started).

    Sequential: the first event starts when the baseline ends, each next one
    `gap_s` after the previous ends (or at its own positive `start_s`).
    Parallel: each event at `baseline_s + start_s`. The run ends `baseline_s`
    after the last event (with no events: `baseline_s`).
    """
    schedule, overlaps = _schedule(profile, event_specs(profile))
    if overlaps:
        check = _Checker(profile.text or None)
        for index, reason in overlaps:
            check.add(("events", index, "start_s"), reason)
        raise ProfileError([p.format(profile.source) for p in check.problems])
    return schedule


def _number_out(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def profile_to_data(profile: Profile) -> dict[str, Any]:
    """The profile as the dict a TOML file holds (defaults written out)."""
    data: dict[str, Any] = {"name": profile.name}
    if profile.description:
        data["description"] = profile.description
    data["sampling"] = {"interval_s": _number_out(profile.interval_s)}
    data["run"] = {
        "mode": profile.mode,
        "baseline_s": _number_out(profile.baseline_s),
        "gap_s": _number_out(profile.gap_s),
    }
    if profile.generate is not None:
        data["generate"] = profile.generate
    elif profile.events:
        events = []
        for spec in profile.events:
            event: dict[str, Any] = {
                "stressor": spec.stressor,
                "duration_s": _number_out(spec.duration_s),
            }
            if spec.start_s or profile.mode == "parallel":
                event["start_s"] = _number_out(spec.start_s)
            if spec.label:
                event["label"] = spec.label
            if spec.params:
                event["params"] = dict(spec.params)
            events.append(event)
        data["events"] = events
    return data


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return f"{{ {items} }}"
    return tomli_w.dumps({"v": value})[4:].rstrip("\n")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(_BARE, key) else tomli_w.dumps({key: 0}).split(" = ")[0]


def _emit_table(header: str, table: dict[str, Any], out: list[str], *, array: bool = False) -> None:
    """`[header]` then its values; tables of tables become `[header.sub]` sections."""
    subtables = {
        k: v
        for k, v in table.items()
        if isinstance(v, dict) and any(isinstance(x, dict) for x in v.values())
    }
    out.append("")
    out.append(f"[[{header}]]" if array else f"[{header}]")
    out.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items() if k not in subtables)
    for key, sub in subtables.items():
        _emit_table(f"{header}.{_toml_key(key)}", sub, out)


def profile_to_toml(profile: Profile) -> str:
    """The profile as TOML that `load_profile` reads back to the same profile."""
    data = profile_to_data(profile)
    out: list[str] = []
    for key, value in data.items():
        if not isinstance(value, dict | list) or key == "description":
            out.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key in ("sampling", "run", "generate"):
        if key in data:
            _emit_table(key, cast(dict[str, Any], data[key]), out)
    for event in data.get("events", []):
        _emit_table("events", event, out, array=True)
    text = "\n".join(out) + "\n"
    tomllib.loads(text)  # never write a file we could not read back
    return text
