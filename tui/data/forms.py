"""Stressor parameter forms, built from `core.stressors.PARAMS`.

The dashboard's stressor panel shows each stressor's main parameters; the
editor's event dialog shows all of them. Text typed into a field becomes a
typed value here, and `problems` returns the stressor's own validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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


def parse_params(stressor: str, texts: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Typed params from field texts (empty fields left out) and every problem found."""
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
    if not problems:
        problems += [f"{name}: {reason}" for name, reason in param_problems(stressor, params)]
    return params, problems


def summary(stressor: str, params: Mapping[str, Any]) -> str:
    """A short description of an event's params: `load_percent=50 workers=2`."""
    return " ".join(f"{name}={show_value(value)}" for name, value in params.items())


__all__ = ["LABELS", "MAIN_PARAMS", "STRESSORS", "Field", "fields", "parse_params", "summary"]
