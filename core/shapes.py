"""Shaped levels: a stressor's level parameter that changes over its event (issue 15).

A level param (`LEVEL_PARAMS`: cpu `load_percent`, memory `size_mb`, disk `rate_mb_s`, network
`rate_mbit_s`) is a number or one table: `{ ramp = [a, b] }`, `{ steps = [...] }`,
`{ sine = { mean, amplitude, period_s } }`, `{ square = { low, high, period_s, duty } }` or
`{ trace = "file.csv", column = "...", time_column = "elapsed_s" }`. `parse_shape` checks one
(reading a trace file relative to the profile) and `Shape.to_json` gives the self-contained form
the schedule, the annotations and the stressor child carry: a trace's rows are embedded as
`points`, so nothing after the profile check reads the file again. `level_at(t, duration_s)`
evaluates it `t` seconds after the event started.

This module imports nothing from the engine, so the stressor table and the child may import it.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHAPE_KINDS = ("ramp", "steps", "sine", "square", "trace")
LEVEL_PARAMS = {
    "cpu": "load_percent",
    "memory": "size_mb",
    "disk": "rate_mb_s",
    "network": "rate_mbit_s",
}
DEFAULT_TIME_COLUMN = "elapsed_s"
_TABLE_KEYS = {
    "sine": ("mean", "amplitude", "period_s"),
    "square": ("low", "high", "period_s", "duty"),
}
_TRACE_KEYS = ("trace", "column", "time_column", "points")


class ShapeError(ValueError):
    """A shape that cannot be used; the message is the reason a profile line shows."""


def is_shape(value: Any) -> bool:
    """Whether a param value is a shape table (rather than a single value)."""
    return isinstance(value, Mapping)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ShapeError(f"{what} must be a finite number, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class Shape:
    """One checked shape; `spec` is its JSON form (see the module docstring)."""

    kind: str
    spec: dict[str, Any]

    def level_at(self, t: float, duration_s: float) -> float:
        """The level `t` s after the event started (an event of `duration_s` s)."""
        spec = self.spec
        if self.kind == "ramp":
            low, high = spec["ramp"]
            frac = min(max(t / duration_s, 0.0), 1.0) if duration_s > 0 else 1.0
            return float(low + (high - low) * frac)
        if self.kind == "steps":
            values = spec["steps"]
            index = int(t / duration_s * len(values)) if duration_s > 0 else 0
            return float(values[min(max(index, 0), len(values) - 1)])
        if self.kind == "sine":
            s = spec["sine"]
            return float(s["mean"] + s["amplitude"] * math.sin(2 * math.pi * t / s["period_s"]))
        if self.kind == "square":
            q = spec["square"]
            phase = (t / q["period_s"]) % 1.0
            return float(q["high"] if phase < q["duty"] else q["low"])
        return _interpolate(spec["points"], t)

    def checked_points(self) -> list[tuple[str, float]]:
        """Every value the shape can take, named as the profile writes it (for range checks)."""
        spec = self.spec
        if self.kind in ("ramp", "steps"):
            return [(f"{self.kind}[{i}]", float(v)) for i, v in enumerate(spec[self.kind])]
        if self.kind == "sine":
            s = spec["sine"]
            return [
                ("sine mean - amplitude", s["mean"] - abs(s["amplitude"])),
                ("sine mean + amplitude", s["mean"] + abs(s["amplitude"])),
            ]
        if self.kind == "square":
            return [("square.low", spec["square"]["low"]), ("square.high", spec["square"]["high"])]
        column = spec["column"]
        return [
            (f"{spec['trace']} {column} row {i + 1}", v) for i, (_, v) in enumerate(spec["points"])
        ]

    def peak(self) -> float:
        """The highest level the shape reaches (what safety checks and planned load use)."""
        return max(v for _, v in self.checked_points())

    def sample(self, duration_s: float, count: int = 60) -> list[float]:
        """`count` levels evenly over the event (mid-points): for sparklines and predictions."""
        step = duration_s / count
        return [self.level_at((i + 0.5) * step, duration_s) for i in range(count)]

    def to_json(self) -> dict[str, Any]:
        return dict(self.spec)

    def describe(self) -> str:
        """A short text for plans and tables: `ramp(10..90)`, `trace(load.csv:cpu_percent)`."""
        spec = self.spec
        if self.kind == "ramp":
            return f"ramp({_g(spec['ramp'][0])}..{_g(spec['ramp'][1])})"
        if self.kind == "steps":
            return "steps(" + ",".join(_g(v) for v in spec["steps"]) + ")"
        if self.kind in _TABLE_KEYS:
            return (
                f"{self.kind}(" + ",".join(f"{k}={_g(v)}" for k, v in spec[self.kind].items()) + ")"
            )
        return f"trace({spec['trace']}:{spec['column']}, {len(spec['points'])} rows)"


def _g(value: float) -> str:
    return f"{value:g}"


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], low: float | None = None, high: float | None = None) -> str:
    """Values as block characters between `low` and `high` (default: their own range)."""
    if not values:
        return ""
    lo = min(values) if low is None else low
    hi = max(values) if high is None else high
    span = hi - lo
    top = len(SPARK) - 1
    return "".join(
        SPARK[min(max(round((v - lo) / span * top), 0), top)] if span > 0 else SPARK[top // 2]
        for v in values
    )


def _interpolate(points: Sequence[Sequence[float]], t: float) -> float:
    """Linear between rows; the first value before the first row, the last after the last."""
    if t <= points[0][0]:
        return float(points[0][1])
    lo, hi = 0, len(points) - 1
    if t >= points[hi][0]:
        return float(points[hi][1])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if points[mid][0] <= t:
            lo = mid
        else:
            hi = mid
    (t0, v0), (t1, v1) = points[lo], points[hi]
    return float(v0 + (v1 - v0) * (t - t0) / (t1 - t0)) if t1 > t0 else float(v1)


def parse_shape(value: Any, base_dir: Path | None = None) -> Shape:
    """Check one shape table; a trace is read from `base_dir` (the profile's directory).

    Raises `ShapeError` with the reason. A trace that already holds its `points` (the JSON form
    a schedule carries) is taken as it is, without reading the file.
    """
    if not isinstance(value, Mapping):
        raise ShapeError(f"a shape must be a table, not {value!r}")
    kinds = [k for k in SHAPE_KINDS if k in value]
    if len(kinds) != 1:
        unknown = [k for k in value if k not in _TRACE_KEYS]
        if not kinds and unknown:
            raise ShapeError(
                f"unknown shape {unknown[0]!r}: one of {', '.join(SHAPE_KINDS)}, or a number"
            )
        raise ShapeError(f"give exactly one shape of {', '.join(SHAPE_KINDS)}")
    kind = kinds[0]
    if kind == "trace":
        return _parse_trace(value, base_dir)
    if len(value) != 1:
        extra = next(k for k in value if k != kind)
        raise ShapeError(f"unknown key {extra!r} beside {kind}")
    body = value[kind]
    if kind in ("ramp", "steps"):
        if not isinstance(body, list) or not body:
            raise ShapeError(f"{kind} must be an array of numbers, e.g. {kind} = [10, 90]")
        if kind == "ramp" and len(body) != 2:
            raise ShapeError("ramp must be [start, end]: two numbers")
        values = [_number(v, f"{kind}[{i}]") for i, v in enumerate(body)]
        return Shape(kind, {kind: values})
    keys = _TABLE_KEYS[kind]
    if not isinstance(body, Mapping):
        raise ShapeError(f"{kind} must be a table of {', '.join(keys)}")
    for key in body:
        if key not in keys:
            raise ShapeError(f"{kind}.{key}: unknown key (known: {', '.join(keys)})")
    table = {
        key: _number(body.get(key, 0.5 if key == "duty" else None), f"{kind}.{key}") for key in keys
    }
    if table["period_s"] <= 0:
        raise ShapeError(f"{kind}.period_s must be > 0, not {table['period_s']:g}")
    if kind == "square" and not 0 < table["duty"] < 1:
        raise ShapeError(f"square.duty must be between 0 and 1 (exclusive), not {table['duty']:g}")
    return Shape(kind, {kind: table})


def _parse_trace(value: Mapping[str, Any], base_dir: Path | None) -> Shape:
    for key in value:
        if key not in _TRACE_KEYS:
            raise ShapeError(
                f"unknown key {key!r} beside trace (known: trace, column, time_column)"
            )
    name, column = value.get("trace"), value.get("column")
    time_column = value.get("time_column", DEFAULT_TIME_COLUMN)
    for what, item in (("trace", name), ("column", column), ("time_column", time_column)):
        if not isinstance(item, str) or not item:
            raise ShapeError(f"{what} must be a non-empty string, not {item!r}")
    spec: dict[str, Any] = {"trace": name, "column": column, "time_column": time_column}
    if "points" in value:
        spec["points"] = [[float(t), float(v)] for t, v in value["points"]]
    else:
        path = Path(str(name))
        spec["points"] = read_trace(
            path if path.is_absolute() else (base_dir or Path.cwd()) / path,
            str(column),
            str(time_column),
        )
    if not spec["points"]:
        raise ShapeError(f"trace {name} has no rows")
    return Shape("trace", spec)


def read_trace(path: Path, column: str, time_column: str) -> list[list[float]]:
    """`[[t, value], ...]` from a CSV with a header; rows with an empty value are skipped."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            for want in (time_column, column):
                if want not in header:
                    raise ShapeError(f"trace {path.name} has no column {want!r}")
            points: list[list[float]] = []
            for row in reader:
                raw_t, raw_v = row.get(time_column) or "", row.get(column) or ""
                if not raw_v.strip() or not raw_t.strip():
                    continue
                where = f"trace {path.name} line {reader.line_num}"
                try:
                    t, v = float(raw_t), float(raw_v)
                except ValueError:
                    raise ShapeError(f"{where}: not a number: {raw_t!r}, {raw_v!r}") from None
                if not (math.isfinite(t) and math.isfinite(v)):
                    raise ShapeError(f"{where}: not a finite number")
                if points and t <= points[-1][0]:
                    raise ShapeError(f"{where}: {time_column} must increase")
                points.append([t, v])
            return points
    except OSError as exc:
        raise ShapeError(f"cannot read trace {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ShapeError(f"cannot read trace {path}: not UTF-8 text") from None


def peak_level(value: Any) -> Any:
    """A param value's highest level: the shape's peak, or the value itself."""
    return parse_shape(value).peak() if is_shape(value) else value


def level_function(value: Any, duration_s: float) -> Callable[[float], float]:
    """`t -> level` for a stressor: constant for a number, the shape's `level_at` otherwise."""
    if is_shape(value):
        shape = parse_shape(value)
        return lambda t: shape.level_at(t, duration_s)
    constant = float(value)
    return lambda t: constant


class ShapedPacer:
    """Paces work (bytes) to a rate that follows a shape.

    Credit accrues at `level(t) * unit` per second and is banked for at most `burst_s`, so after
    a slow stretch (a low step, a busy device) the stressor does not burst to catch up: the
    rate follows the shape rather than its running average.
    """

    def __init__(
        self, level: Callable[[float], float], unit: float, start: float, burst_s: float = 0.25
    ) -> None:
        self.level = level
        self.unit = unit
        self.start = start
        self.burst_s = burst_s
        self.last = start
        self.allowed = 0.0

    def wait_s(self, done: float, now: float) -> float:
        """Seconds to wait before doing more, having done `done` units so far (0: go on)."""
        rate = max(self.level(now - self.start), 0.0) * self.unit
        self.allowed = min(self.allowed + rate * (now - self.last), done + rate * self.burst_s)
        self.last = now
        if done < self.allowed:
            return 0.0
        return min((done - self.allowed) / rate, 0.05) if rate > 0 else 0.05
