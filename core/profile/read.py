"""Reading a profile: TOML text or a parsed dict in, a checked `Profile` (or every problem) out.

`_read` reads each top-level table with its own reader, in file order; a new table (say
`[steady_state]` or `[[probes]]`) gets its keys in `spec.py`, a `_read_<table>` here and one
line in `_read`. After reading, `_check` places the events (`core.profile.placement`) to find
overlaps and targets this machine cannot take.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ProfileError
from core.profile.check import Checker, show, type_name
from core.profile.designs import Design
from core.profile.placement import build_schedule, design_specs, keep_placed
from core.profile.read_generate import read_design
from core.profile.read_probes import read_probes, read_steady_state
from core.profile.spec import (
    DEFAULT_BASELINE_S,
    DEFAULT_GAP_S,
    DEFAULT_INTERVAL_S,
    DEFAULT_SCRATCH_DIR,
    EVENT_KEYS,
    INTERVAL_RANGE,
    RUN_KEYS,
    SAMPLING_KEYS,
    TOP_KEYS,
    EventSpec,
    KeyPath,
    Placed,
    Problem,
    Profile,
)
from core.schedule import MODES
from core.stressors import CONTENTION_MODES, KINDS, safety_problems


@dataclass
class _Read:
    """What validation could read: a profile, its design, and whether its timing is sound."""

    profile: Profile
    design: Design | None
    timing_ok: bool
    placed: Placed | None = None


@dataclass
class _Run:
    """The `[run]` settings; None where the value was bad."""

    mode: str | None = "sequential"
    baseline_s: float | None = DEFAULT_BASELINE_S
    gap_s: float | None = DEFAULT_GAP_S
    contention: str | None = "shared"


def _read_name(check: Checker, name: Any) -> str | None:
    if name is None:
        check.add(("name",), 'required: a short name for the experiment, e.g. name = "smoke"')
    elif not isinstance(name, str):
        check.add(("name",), f"must be a string, not {type_name(name)} ({show(name)})")
    elif not name.strip():
        check.add(("name",), "must not be empty")
    elif any(c in name for c in "/\\\n\r\t"):
        check.add(("name",), "must not contain '/', '\\' or line breaks")
    else:
        return name
    return None


def _read_sampling(check: Checker, data: dict[str, Any]) -> float:
    if "sampling" not in data:
        return DEFAULT_INTERVAL_S
    sampling = check.table(("sampling",), data["sampling"], SAMPLING_KEYS) or {}
    lo, hi = INTERVAL_RANGE
    interval = check.number(
        ("sampling", "interval_s"),
        sampling.get("interval_s"),
        DEFAULT_INTERVAL_S,
        least=lo,
        most=hi,
    )
    return interval or DEFAULT_INTERVAL_S


def _read_run(check: Checker, data: dict[str, Any]) -> _Run:
    run = _Run()
    if "run" not in data:
        return run
    table = check.table(("run",), data["run"], RUN_KEYS) or {}
    if "mode" in table:
        run.mode = check.choice(("run", "mode"), table["mode"], MODES, "mode")
    run.baseline_s = check.number(
        ("run", "baseline_s"), table.get("baseline_s"), DEFAULT_BASELINE_S, least=0
    )
    run.gap_s = check.number(("run", "gap_s"), table.get("gap_s"), DEFAULT_GAP_S, least=0)
    if "contention" in table:
        run.contention = check.choice(
            ("run", "contention"), table["contention"], CONTENTION_MODES, "contention"
        )
    return run


def _read_events(check: Checker, data: dict[str, Any]) -> tuple[list[EventSpec], bool]:
    """The `[[events]]` as written, and whether every one has a usable timing."""
    if "events" not in data:
        return [], True
    raw = data["events"]
    if not isinstance(raw, list):
        check.add(("events",), "must be an array of tables: write each event as [[events]]")
        return [], False
    specs: list[EventSpec] = []
    timing_ok = True
    for index, item in enumerate(raw):
        spec = _read_event(check, index, item)
        if spec is None:
            timing_ok = False
        else:
            specs.append(spec)
    return specs, timing_ok


def _read_event(check: Checker, index: int, item: Any) -> EventSpec | None:
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
        check.add((*path, "stressor"), f"required: one of {', '.join(KINDS)}")
    else:
        kind = check.choice((*path, "stressor"), event["stressor"], KINDS, "stressor")
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


def _read(
    data: dict[str, Any], check: Checker, path: Path | None, text: str, allow_commands: bool
) -> _Read:
    data = check.table((), data, TOP_KEYS) or {}
    name = _read_name(check, data.get("name"))
    description = check.string(("description",), data.get("description"), "")
    interval = _read_sampling(check, data)
    run = _read_run(check, data)
    timing_ok = run.mode is not None and run.baseline_s is not None and run.gap_s is not None
    specs, events_ok = _read_events(check, data)
    timing_ok = timing_ok and events_ok

    design: Design | None = None
    generate: dict[str, Any] | None = None
    seed: int | None = None
    if "generate" in data:
        if "events" in data:
            check.add(("generate",), "give either [[events]] or a [generate] table, not both")
            timing_ok = False
        raw_generate = data["generate"]
        generate = dict(raw_generate) if isinstance(raw_generate, dict) else None
        run_gap = DEFAULT_GAP_S if run.gap_s is None else run.gap_s
        design = read_design(check, raw_generate, run.mode or "sequential", run_gap)
        if design is None:
            timing_ok = False
        if generate is not None:
            raw_seed = generate.get("seed")
            if isinstance(raw_seed, int) and not isinstance(raw_seed, bool):
                seed = raw_seed

    if timing_ok and not specs and design is None and run.baseline_s == 0:
        check.add(("run", "baseline_s"), "must be > 0 when there are no events: nothing to record")
    probes = read_probes(check, data, allow_commands)
    steady_state = read_steady_state(check, data, probes)

    profile = Profile(
        name=name or "",
        description=description or "",
        interval_s=interval,
        mode=run.mode or "sequential",
        baseline_s=DEFAULT_BASELINE_S if run.baseline_s is None else run.baseline_s,
        gap_s=DEFAULT_GAP_S if run.gap_s is None else run.gap_s,
        contention=run.contention or "shared",
        events=tuple(specs),
        generate=generate,
        seed=seed,
        probes=tuple(probes),
        steady_state=steady_state,
        source=path,
        text=text,
    )
    return _Read(profile, design, timing_ok)


def _check(
    data: dict[str, Any],
    text: str | None,
    path: Path | None,
    scratch_dir: Path | None,
    allow_commands: bool = False,
) -> tuple[_Read, list[Problem]]:
    check = Checker(text)
    check.base_dir = path.parent if path is not None else None  # shape traces
    read = _read(data, check, path, text or "", allow_commands)
    if read.timing_ok:
        profile = read.profile
        specs = profile.events
        if read.design is not None:
            specs = design_specs(read.design, profile.mode)
        schedule, overlaps = build_schedule(profile, specs)
        for overlap_key, reason in overlaps:
            check.add(overlap_key, reason)
        if not overlaps:
            read.placed = Placed(specs, schedule)
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
    data: dict[str, Any],
    text: str | None = None,
    *,
    scratch_dir: Path | None = None,
    allow_commands: bool = False,
) -> list[Problem]:
    """Every problem in a parsed profile (`text` gives line numbers).

    `allow_commands`: the operator allowed `command` probes (`--allow-commands`, or the TUI
    after asking); without it a profile that has one is refused."""
    return _check(data, text, None, scratch_dir, allow_commands)[1]


def validate_profile_data(
    data: dict[str, Any],
    path: Path | str | None,
    text: str | None = None,
    *,
    scratch_dir: Path | None = None,
    allow_commands: bool = False,
) -> list[str]:
    """Every problem as `FILE:LINE: key: reason` (`FILE: key: reason` without `text`)."""
    problems = check_profile_data(
        data, text, scratch_dir=scratch_dir, allow_commands=allow_commands
    )
    return [p.format(path) for p in problems]


def profile_from_data(
    data: dict[str, Any],
    path: Path | None = None,
    text: str = "",
    *,
    scratch_dir: Path | None = None,
    allow_commands: bool = False,
) -> Profile:
    """Validate a parsed profile and build it; raise `ProfileError` listing every problem."""
    read, problems = _check(data, text or None, path, scratch_dir, allow_commands)
    if problems:
        raise ProfileError([p.format(path) for p in problems])
    if read.placed is None:
        return read.profile
    return keep_placed(read.profile, read.placed)


_TOML_LINE_RE = re.compile(r"\s*\(at line (\d+), column \d+\)$")


def parse_profile(
    text: str, path: Path, *, scratch_dir: Path | None = None, allow_commands: bool = False
) -> Profile:
    """Read and validate profile text; `path` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_LINE_RE.search(message)
        line = match.group(1) if match else "1"
        raise ProfileError(
            [f"{path}:{line}: invalid TOML: {_TOML_LINE_RE.sub('', message)}"]
        ) from None
    return profile_from_data(
        data, path, text, scratch_dir=scratch_dir, allow_commands=allow_commands
    )


def load_profile(
    path: Path, *, scratch_dir: Path | None = None, allow_commands: bool = False
) -> Profile:
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
    return parse_profile(text, path, scratch_dir=scratch_dir, allow_commands=allow_commands)
