"""Experiment profiles (TOML): load, validate, resolve into a `Schedule`.

Minimal first version: the experiments issue extends validation (line numbers,
did-you-mean, safety) and `[generate]` designs behind the same API.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ProfileError
from core.schedule import Event, Schedule

DEFAULT_INTERVAL_S = 1.0
DEFAULT_BASELINE_S = 5.0
DEFAULT_GAP_S = 5.0


@dataclass(frozen=True)
class EventSpec:
    """An event as the profile writes it (before it is placed on the run clock)."""

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


def load_profile(path: Path) -> Profile:
    """Read and validate a profile file; raise `ProfileError` listing every problem."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ProfileError([f"{path}: cannot read: {exc.strerror}"]) from None
    return parse_profile(text, path)


def parse_profile(text: str, path: Path) -> Profile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError([f"{path}:{getattr(exc, 'lineno', 1)}: {exc}"]) from None
    problems: list[str] = []
    name = data.get("name")
    if not isinstance(name, str) or not name:
        problems.append(f"{path}:1: name: required, a non-empty string")
    sampling = data.get("sampling", {})
    run = data.get("run", {})
    interval = float(sampling.get("interval_s", DEFAULT_INTERVAL_S))
    if not 0.05 <= interval <= 60:
        problems.append(f"{path}:1: sampling.interval_s: must be between 0.05 and 60")
    events = tuple(
        EventSpec(
            stressor=str(e.get("stressor")),
            duration_s=float(e.get("duration_s", 10)),
            params=dict(e.get("params", {})),
            start_s=float(e.get("start_s", 0)),
            label=str(e.get("label", "")),
        )
        for e in data.get("events", [])
    )
    if problems:
        raise ProfileError(problems)
    return Profile(
        name=str(name),
        description=str(data.get("description", "")),
        interval_s=interval,
        mode=str(run.get("mode", "sequential")),
        baseline_s=float(run.get("baseline_s", DEFAULT_BASELINE_S)),
        gap_s=float(run.get("gap_s", DEFAULT_GAP_S)),
        events=events,
        generate=data.get("generate"),
        source=path,
        text=text,
    )


def event_ids(count: int) -> list[str]:
    width = max(2, len(str(count)))
    return [f"e{i:0{width}d}" for i in range(1, count + 1)]


def resolve_schedule(profile: Profile) -> Schedule:
    """Place the profile's events on the run clock (seconds since the run started)."""
    specs = profile.events
    ids = event_ids(len(specs))
    events: list[Event] = []
    if profile.mode == "parallel":
        for eid, spec in zip(ids, specs, strict=True):
            start = profile.baseline_s + spec.start_s
            events.append(Event(eid, spec.stressor, spec.params, start, spec.duration_s, spec.label))
    else:
        t = profile.baseline_s
        for eid, spec in zip(ids, specs, strict=True):
            events.append(Event(eid, spec.stressor, spec.params, t, spec.duration_s, spec.label))
            t += spec.duration_s + profile.gap_s
    last_end = max((e.end_s for e in events), default=0.0)
    total = last_end + profile.baseline_s if events else profile.baseline_s
    return Schedule(
        name=profile.name,
        mode=profile.mode,
        events=tuple(events),
        total_s=total,
        interval_s=profile.interval_s,
        baseline_s=profile.baseline_s,
        seed=profile.seed,
    )
