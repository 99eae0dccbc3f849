"""Writing a profile back as TOML: `parse_profile(profile_to_toml(p))` gives `p` again."""

from __future__ import annotations

import re
import tomllib
from typing import Any, cast

import tomli_w

from core.profile.read_probes import probes_to_data, steady_state_to_data
from core.profile.spec import Profile
from core.profile.toml_lines import BARE_KEY


def _number_out(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _as_written(value: Any) -> Any:
    """A param as the profile writes it: a trace shape names its file, not its rows."""
    if isinstance(value, dict) and "trace" in value:
        return {k: v for k, v in value.items() if k != "points"}
    return value


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
    if profile.contention != "shared":
        data["run"]["contention"] = profile.contention
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
                event["params"] = {k: _as_written(v) for k, v in spec.params.items()}
            events.append(event)
        data["events"] = events
    if profile.probes:
        data["probes"] = probes_to_data(profile.probes)
    if profile.steady_state is not None:
        data["steady_state"] = steady_state_to_data(profile.steady_state)
    return data


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return f"{{ {items} }}"
    if isinstance(value, list) and not any(isinstance(v, dict | list) for v in value):
        return f"[{', '.join(_toml_value(v) for v in value)}]"  # one line, as people write it
    return tomli_w.dumps({"v": value})[4:].rstrip("\n")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(BARE_KEY, key) else tomli_w.dumps({key: 0}).split(" = ")[0]


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
    for probe in data.get("probes", []):
        _emit_table("probes", probe, out, array=True)
    if "steady_state" in data:
        _emit_table("steady_state", data["steady_state"], out)
    text = "\n".join(out) + "\n"
    tomllib.loads(text)  # never write a file we could not read back
    return text
