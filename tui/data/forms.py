"""Stressor parameter forms, built from `core.stressors.PARAMS`.

The dashboard's stressor panel shows each stressor's main parameters; the
editor's event dialog shows all of them. Text typed into a field becomes a
typed value here, and `problems` returns the stressor's own validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.shapes import DEFAULT_TIME_COLUMN, LEVEL_PARAMS, ShapeError, is_shape, parse_shape
from core.stressors import KINDS as STRESSORS
from core.stressors import PARAMS, param_problems

MAIN_PARAMS: dict[str, tuple[str, ...]] = {
    "cpu": ("load_percent",),
    "memory": ("size_mb",),
    "disk": ("mode", "file_mb"),
    "network": ("rate_mbit_s",),
}
"""The parameters the dashboard's stressor panel lets you set (the rest keep defaults)."""

LABELS: dict[str, str] = {"cpu": "CPU", "memory": "Memory", "disk": "Disk", "network": "Network"}
DEFAULT_DURATION_S = 30.0


@dataclass(frozen=True)
class Field:
    """One parameter field: what it is called, what it holds, how to show it."""

    stressor: str
    name: str
    kind: type
    default: Any
    help: str
    unit: str = ""
    choices: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name

    @property
    def placeholder(self) -> str:
        return "auto" if self.default is None else show_value(self.default)


def fields(stressor: str, main_only: bool = False) -> list[Field]:
    table = PARAMS.get(stressor, {})
    names = MAIN_PARAMS.get(stressor, ()) if main_only else tuple(table)
    out = []
    for name in names:
        spec = table.get(name)
        if spec is not None:
            out.append(
                Field(
                    stressor,
                    name,
                    spec.type,
                    spec.default,
                    spec.help,
                    spec.unit,
                    tuple(spec.choices),
                )
            )
    return out


def show_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def parse_value(field: Field, text: str) -> tuple[Any, str]:
    """`(value, "")`, `(None, "")` for an empty field, or `(None, reason)`."""
    text = text.strip()
    if not text:
        return None, ""
    if field.kind is bool:
        low = text.lower()
        if low in ("true", "yes", "on", "1"):
            return True, ""
        if low in ("false", "no", "off", "0"):
            return False, ""
        return None, "must be true or false"
    if field.kind is int:
        try:
            return int(text), ""
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return None, "must be an integer"
            return (int(number), "") if number.is_integer() else (None, "must be an integer")
    if field.kind is float:
        try:
            return float(text), ""
        except ValueError:
            return None, "must be a number"
    return text, ""


def parse_params(
    stressor: str, texts: Mapping[str, str], shaped: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Typed params from field texts (empty fields left out) and every problem found;
    `shaped`: a level param's shape (`parse_shape_texts`), in place of its text."""
    by_name = {f.name: f for f in fields(stressor)}
    params: dict[str, Any] = {}
    problems: list[str] = []
    for name, text in texts.items():
        spec = by_name.get(name)
        if spec is None:
            continue
        value, reason = parse_value(spec, text)
        if reason:
            problems.append(f"{name}: {reason}")
        elif value is not None:
            params[name] = value
    params.update(shaped or {})
    if not problems:
        problems += [f"{name}: {reason}" for name, reason in param_problems(stressor, params)]
    return params, problems


def summary(stressor: str, params: Mapping[str, Any]) -> str:
    """A short description of an event's params: `load_percent=ramp(10..90) workers=2`."""
    return " ".join(
        f"{name}={parse_shape(value).describe() if is_shape(value) else show_value(value)}"
        for name, value in params.items()
    )


# ---- shaped levels (core.shapes): the event form's shape fields ---------------------------
CONSTANT = "constant"
SHAPE_FIELDS: dict[str, tuple[str, ...]] = {
    CONSTANT: (),
    "ramp": ("from", "to"),
    "steps": ("values",),
    "sine": ("mean", "amplitude", "period_s"),
    "square": ("low", "high", "period_s", "duty"),
    "trace": ("file", "column", "time_column"),
}
"""The fields of each shape the form offers, in order (`constant`: the plain value field)."""
SHAPE_HELP = {
    CONSTANT: "one level over the event",
    "ramp": "linear from the first to the second level",
    "steps": "equal-length steps, e.g. 20, 60, 90",
    "sine": "mean ± amplitude, one cycle per period_s",
    "square": "high for duty of each period_s, then low",
    "trace": "a CSV (relative to the profile): time_column s, column level",
}


def level_param(stressor: str) -> str | None:
    """The param of `stressor` that takes a shape (`load_percent` for cpu)."""
    return LEVEL_PARAMS.get(stressor)


def shape_texts(value: Any) -> tuple[str, dict[str, str]]:
    """The form's shape and its field texts for a param value (a number: `constant`)."""
    if not is_shape(value):
        return CONSTANT, {}
    shape = parse_shape(value)  # a loaded profile's shape holds its rows: nothing is read
    spec = shape.spec
    body = spec.get(shape.kind)
    if shape.kind == "ramp":
        return "ramp", {"from": show_value(body[0]), "to": show_value(body[1])}
    if shape.kind == "steps":
        return "steps", {"values": ", ".join(show_value(v) for v in body)}
    if shape.kind in ("sine", "square"):
        return shape.kind, {k: show_value(v) for k, v in body.items()}
    texts = {"file": spec["trace"], "column": spec["column"], "time_column": spec["time_column"]}
    return "trace", texts


def parse_shape_texts(
    kind: str, texts: Mapping[str, str], base_dir: Path | None = None
) -> tuple[dict[str, Any] | None, str]:
    """A shape table from the form's fields, checked by `core.shapes` (a trace read from
    `base_dir`, the profile's folder); `(None, reason)` when it cannot be used."""
    raw = {k: texts.get(k, "").strip() for k in SHAPE_FIELDS[kind]}

    def number(key: str, default: float | None = None) -> float:
        if not raw[key] and default is not None:
            return default
        try:
            return float(raw[key])
        except ValueError:
            raise ShapeError(f"{key}: must be a number, not {raw[key]!r}") from None

    try:
        table: dict[str, Any]
        if kind == "ramp":
            table = {"ramp": [number("from"), number("to")]}
        elif kind == "steps":
            parts = [p for p in raw["values"].replace(",", " ").split() if p]
            raw.update({f"step {i + 1}": p for i, p in enumerate(parts)})
            table = {"steps": [number(f"step {i + 1}") for i in range(len(parts))]}
        elif kind in ("sine", "square"):
            table = {kind: {k: number(k, 0.5 if k == "duty" else None) for k in raw}}
        else:
            table = {"trace": raw["file"], "column": raw["column"]}
            table["time_column"] = raw["time_column"] or DEFAULT_TIME_COLUMN
        return parse_shape(table, base_dir).to_json(), ""
    except ShapeError as exc:
        return None, str(exc)


__all__ = [
    "LABELS",
    "MAIN_PARAMS",
    "SHAPE_FIELDS",
    "STRESSORS",
    "Field",
    "fields",
    "level_param",
    "parse_params",
    "parse_shape_texts",
    "shape_texts",
    "summary",
]
