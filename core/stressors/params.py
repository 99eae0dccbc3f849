"""The stressor table: the one source of stressor kinds (`KINDS`) and of each one's parameters
(`PARAMS`: type, default, range, unit, help). Profile validation, `twin stress` flags, `twin plan`,
the model's features and the TUI forms all read it; nothing else defines a kind or a default.

Profile `params` names are an API: never rename one. Sizes are MiB (`_mb`), rates per second.
This module imports nothing from the engine (but `core.shapes`, a leaf), so anything may import it.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Any, NamedTuple

from core.shapes import LEVEL_PARAMS, ShapeError, is_shape, parse_shape

KINDS = ("cpu", "memory", "disk", "network")


class ParamSpec(NamedTuple):
    """One parameter of one stressor kind.

    `default` None means "not set" (an optional cap) or "automatic" (see `help`). `min`/`max`
    bound numbers (inclusive); `choices` lists the allowed strings.
    """

    type: type
    default: Any
    min: float | None
    max: float | None
    help: str
    unit: str = ""
    choices: tuple[str, ...] = ()


PARAMS: dict[str, dict[str, ParamSpec]] = {
    "cpu": {
        "load_percent": ParamSpec(
            float, 100.0, 1, 100, "CPU load to hold, percent of each worker's core", "%"
        ),
        "workers": ParamSpec(
            int, None, 1, 1024, "worker processes (default: the number of logical CPUs)"
        ),
        "target": ParamSpec(
            str,
            "self",
            None,
            None,
            "self: each worker holds load_percent of its core; system: hold the machine's total "
            "CPU use at load_percent, counting other load",
            choices=("self", "system"),
        ),
    },
    "memory": {
        "size_mb": ParamSpec(int, 256, 1, 1 << 24, "memory to allocate, touch and hold", "MiB"),
        "ramp_s": ParamSpec(float, 0.0, 0, 86400, "seconds to reach size_mb (0: at once)", "s"),
    },
    "disk": {
        "mode": ParamSpec(
            str, "write", None, None, "write, read or mixed", choices=("write", "read", "mixed")
        ),
        "file_mb": ParamSpec(int, 256, 1, 1 << 24, "working-set file size", "MiB"),
        "block_kb": ParamSpec(int, 1024, 4, 65536, "I/O block size", "KiB"),
        "fsync": ParamSpec(
            bool,
            True,
            None,
            None,
            "true: fdatasync after every written block; false: buffered, fdatasync once per pass",
        ),
        "rate_mb_s": ParamSpec(float, None, 0.1, 1e6, "throughput cap (default: none)", "MiB/s"),
        "direct": ParamSpec(bool, False, None, None, "O_DIRECT: bypass the page cache"),
    },
    "network": {
        "rate_mbit_s": ParamSpec(
            float, None, 0.1, 1e6, "loopback TCP rate cap (default: none)", "Mbit/s"
        ),
        "block_kb": ParamSpec(int, 64, 1, 4096, "bytes per send() call", "KiB"),
    },
}


def _type_name(kind: type) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}[kind]


def _coerce(spec: ParamSpec, value: Any) -> tuple[Any, str]:
    """Return (value converted to spec.type, "") or (None, reason)."""
    want = spec.type
    if want is bool:
        if isinstance(value, bool):
            return value, ""
        return None, f"must be {_type_name(bool)}, not {value!r}"
    if isinstance(value, bool):
        return None, f"must be {_type_name(want)}, not {value!r}"
    if want is int:
        if isinstance(value, int):
            return value, ""
        if isinstance(value, float) and value.is_integer():
            return int(value), ""
        return None, f"must be {_type_name(int)}, not {value!r}"
    if want is float:
        if isinstance(value, int | float):
            return float(value), ""
        return None, f"must be {_type_name(float)}, not {value!r}"
    if isinstance(value, str):
        return value, ""
    return None, f"must be {_type_name(str)}, not {value!r}"


def param_problems(kind: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Static validation of one event's params: `[(param_name, reason)]`, empty when valid.

    Covers unknown kinds, unknown names (with a did-you-mean), types, ranges and choices. It does
    not look at the machine: `safety_problems` does.
    """
    if kind not in PARAMS:
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (one of {', '.join(KINDS)})"
        return [("stressor", f"unknown stressor '{kind}'{hint}")]
    specs = PARAMS[kind]
    problems: list[tuple[str, str]] = []
    for name, value in params.items():
        spec = specs.get(name)
        if spec is None:
            close = difflib.get_close_matches(name, list(specs), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(specs)})"
            problems.append((name, f"unknown parameter '{name}'{hint}"))
            continue
        if value is None and spec.default is None:
            continue
        if is_shape(value):
            problems.extend((name, reason) for reason in _shape_problems(kind, name, spec, value))
            continue
        converted, reason = _coerce(spec, value)
        if reason:
            problems.append((name, reason))
            continue
        if spec.choices and converted not in spec.choices:
            close = difflib.get_close_matches(converted, spec.choices, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append((name, f"must be one of {', '.join(spec.choices)}{hint}"))
        if isinstance(converted, int | float) and not isinstance(converted, bool):
            low, high = spec.min, spec.max
            if (low is not None and converted < low) or (high is not None and converted > high):
                unit = f" {spec.unit}" if spec.unit else ""
                problems.append((name, f"must be between {_num(low)} and {_num(high)}{unit}"))
    if kind == "memory" and is_shape(params.get("size_mb")) and params.get("ramp_s"):
        problems.append(("ramp_s", "must be 0 with a shaped size_mb: the shape says how it grows"))
    if kind == "disk" and not problems:
        block = int(params.get("block_kb", specs["block_kb"].default))
        if params.get("direct") and block % 4:
            problems.append(("block_kb", "must be a multiple of 4 with direct = true"))
        if block > int(params.get("file_mb", specs["file_mb"].default)) * 1024:
            problems.append(("block_kb", "must not be larger than file_mb"))
    return problems


def _shape_problems(kind: str, name: str, spec: ParamSpec, value: Any) -> list[str]:
    """A shaped value (core.shapes): only a level param takes one; every point in range."""
    if LEVEL_PARAMS.get(kind) != name:
        return [f"must be a single value, not a table (a shape is for {LEVEL_PARAMS[kind]})"]
    try:
        shape = parse_shape(value)
    except ShapeError as exc:
        return [str(exc)]
    low, high = spec.min, spec.max
    unit = f" {spec.unit}" if spec.unit else ""
    return [
        f"{where} = {point:g} must be between {_num(low)} and {_num(high)}{unit}"
        for where, point in shape.checked_points()
        if (low is not None and point < low) or (high is not None and point > high)
    ][:3]


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else str(value)


def resolve_params(
    kind: str, params: Mapping[str, Any], *, cpus: int | None = None
) -> dict[str, Any]:
    """Valid params with every default filled in and types converted (call after validation).

    `cpus` is the machine the event is planned for: CPU `workers` defaults to it (to this
    machine's logical CPUs when not given).
    """
    out: dict[str, Any] = {}
    for name, spec in PARAMS[kind].items():
        value = params.get(name, spec.default)
        if value is not None and not is_shape(value):  # a shape stays its JSON form
            value, _ = _coerce(spec, value)
        out[name] = value
    if kind == "cpu" and out["workers"] is None:
        out["workers"] = cpus or os.cpu_count() or 1
    return out


def default(kind: str, name: str) -> Any:
    """The table's default of one parameter (None: not set, automatic, or not in the table)."""
    spec = PARAMS.get(kind, {}).get(name)
    return None if spec is None else spec.default
