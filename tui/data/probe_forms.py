"""Probe and tolerance forms as text: what the fields show, and back to a `ProbeSpec` or a
`Tolerance`, checked by the engine's own profile checker (`core.profile.check_profile_data`).

The forms only turn text into typed values; ranges, URLs, addresses and column names are the
engine's rules, asked for by checking a one-probe profile, so the form says what
`twin --batch` would say of the same entry.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from core.probes import ProbeSpec, Tolerance
from core.probes.spec import DEFAULT_EVERY_S, DEFAULT_TIMEOUT_S, TARGET_KEY
from core.profile import check_profile_data
from core.profile.read_probes import probes_to_data
from tui.data.draft import ALLOW_COMMANDS
from tui.data.forms import show_value

TARGET_HELP = {
    "url": "http(s)://host:port/path: GET, 2xx/3xx is a success",
    "address": "host:port: the latency is the connect time",
    "argv": "program and arguments, as a shell splits them (no shell runs)",
}
KIND_HELP = {
    "http": "GET a URL",
    "tcp": "connect to host:port",
    "sched": "wake-up latency at nice 0 (no target)",
    "fsync": "write + fdatasync 4 KiB where the run writes (no target)",
    "command": "run a program: the TUI asks before a recording runs it",
}


def probe_texts(probe: ProbeSpec) -> dict[str, str]:
    """The form's field texts for `probe`."""
    return {
        "name": probe.name,
        "target": probe.url or probe.address or (shlex.join(probe.argv) if probe.argv else ""),
        "every_s": show_value(probe.every_s),
        "timeout_s": show_value(probe.timeout_s),
        "expect_status": show_value(probe.expect_status),
    }


def _number(texts: Mapping[str, str], key: str, default: float, problems: list[str]) -> float:
    raw = texts.get(key, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        problems.append(f"{key}: must be a number, not {raw!r}")
        return default


def parse_probe(kind: str, texts: Mapping[str, str]) -> tuple[ProbeSpec | None, list[str]]:
    """A probe from the form's texts, and every problem (the engine's among them)."""
    problems: list[str] = []
    every = _number(texts, "every_s", DEFAULT_EVERY_S, problems)
    timeout = _number(texts, "timeout_s", DEFAULT_TIMEOUT_S, problems)
    target = texts.get("target", "").strip()
    url = address = ""
    argv: tuple[str, ...] = ()
    key = TARGET_KEY.get(kind)
    if key == "url":
        url = target
    elif key == "address":
        address = target
    elif key == "argv":
        try:
            argv = tuple(shlex.split(target))
        except ValueError as exc:
            problems.append(f"argv: {exc}")
    expect: int | None = None
    raw_expect = texts.get("expect_status", "").strip()
    if kind == "http" and raw_expect:
        try:
            expect = int(raw_expect)
        except ValueError:
            problems.append(f"expect_status: must be an integer, not {raw_expect!r}")
    if problems:
        return None, problems
    name = texts.get("name", "").strip()
    probe = ProbeSpec(name, kind, every, timeout, url, address, argv, expect)
    problems = [_short(p) for p in _engine_problems([probe], {}) if p.startswith("probes[0]")]
    return (None, problems) if problems else (probe, [])


def tolerance_texts(tolerance: Tolerance | None) -> dict[str, str]:
    if tolerance is None:
        return {"column": "", "max": "", "min": ""}
    return {
        "column": tolerance.column,
        "max": show_value(tolerance.max),
        "min": show_value(tolerance.min),
    }


def parse_tolerance(
    texts: Mapping[str, str], probes: Sequence[ProbeSpec]
) -> tuple[Tolerance | None, list[str]]:
    """A tolerance from the form's texts; the column must be one the run will write."""
    column = texts.get("column", "").strip()
    problems: list[str] = [] if column else ["column: required: a dataset column"]
    bounds: dict[str, float] = {}
    for key in ("max", "min"):
        raw = texts.get(key, "").strip()
        if raw:
            try:
                bounds[key] = float(raw)
            except ValueError:
                problems.append(f"{key}: must be a number, not {raw!r}")
    if not problems and not bounds:
        problems.append("give max, min or both")
    if problems:
        return None, problems
    tolerance = Tolerance(column, bounds.get("max"), bounds.get("min"))
    where = "steady_state.tolerances"
    found = _engine_problems(list(probes), {column: tolerance.bounds()})
    problems = [_short(p) for p in found if p.startswith(where)]
    return (None, problems) if problems else (tolerance, [])


def _engine_problems(probes: list[ProbeSpec], tolerances: dict[str, Any]) -> list[str]:
    """What the engine's checker says of these probes and tolerances in a minimal profile."""
    data: dict[str, Any] = {"name": "form", "probes": probes_to_data(tuple(probes))}
    if tolerances:
        data["steady_state"] = {"tolerances": tolerances}
    found = check_profile_data(data, allow_commands=ALLOW_COMMANDS)
    return [f"{p.key}: {p.reason}" if p.key else p.reason for p in found]


def _short(problem: str) -> str:
    """`probes[0].url: reason` -> `url: reason` (the form is about one entry)."""
    head, _, reason = problem.partition(": ")
    if head.startswith("probes[0]"):
        head = head.removeprefix("probes[0]").lstrip(".") or "probe"
    elif head.startswith("steady_state.tolerances."):
        head = head.removeprefix("steady_state.tolerances.")
    return f"{head}: {reason}"
