"""What a profile is: its types (`Profile`, `EventSpec`, `Problem`), its keys and its defaults.

The keys are a contract (README, "Profiles"): extend them, never rename one. A new top-level table
adds its name to `TOP_KEYS`, its own `*_KEYS` tuple here, a field to `Profile` and a reader in
`core.profile.read`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.probes.spec import ProbeSpec, SteadyStateSpec
from core.rundir.layout import DEFAULT_RUNS_DIR
from core.schedule import Schedule

DEFAULT_INTERVAL_S = 1.0
MAX_SECONDS = 365 * 24 * 3600  # no time in a profile is longer than a year
DEFAULT_BASELINE_S = 5.0
DEFAULT_GAP_S = 5.0
INTERVAL_RANGE = (0.05, 60.0)
DEFAULT_RANDOM_COUNT = 5
DEFAULT_RANDOM_DURATION = (5, 15)
DEFAULT_SWEEP_DURATION_S = 10.0
DEFAULT_SCRATCH_DIR = DEFAULT_RUNS_DIR  # where runs (and disk stressors' files) go by default

TOP_KEYS = (
    "name",
    "description",
    "sampling",
    "run",
    "events",
    "generate",
    "probes",
    "steady_state",
)
SAMPLING_KEYS = ("interval_s",)
RUN_KEYS = ("mode", "baseline_s", "gap_s", "contention")
EVENT_KEYS = ("stressor", "duration_s", "start_s", "label", "params")
RANDOM_KEYS = (
    "design",
    "seed",
    "count",
    "weights",
    "duration_s",
    "gap_s",
    "gap_from",
    "overlap",
    "pair",
    "params",
)
GAP_FROM = ("end", "start")
"""What a random design measures `gap_s` from: the end of all events so far, or the last start."""
SWEEP_KEYS = ("design", "seed", "stressor", "param", "values", "duration_s", "rest_s", "params")

KeyPath = tuple[str | int, ...]
"""Where a value sits in the profile: `("events", 2, "duration_s")`."""


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
class Placed:
    """A checked profile's events (generated ones written out) and their schedule.

    Validation has to place the events anyway (to find overlaps and unsafe targets), so a
    profile that passed keeps the result and `resolve_schedule` does not build it again.
    """

    events: tuple[EventSpec, ...]
    schedule: Schedule


@dataclass(frozen=True)
class Profile:
    """An experiment: sampling, run settings and its events (or a `[generate]` design)."""

    name: str
    description: str = ""
    interval_s: float = DEFAULT_INTERVAL_S
    mode: str = "sequential"
    baseline_s: float = DEFAULT_BASELINE_S
    gap_s: float = DEFAULT_GAP_S
    contention: str = "shared"  # core.stressors.CONTENTION_MODES: how the load competes
    events: tuple[EventSpec, ...] = ()
    generate: dict[str, Any] | None = None
    seed: int | None = None
    probes: tuple[ProbeSpec, ...] = ()
    """`[[probes]]` (core.probes): how well the node serves, measured beside the load."""
    steady_state: SteadyStateSpec | None = None
    """`[steady_state]`: tolerances on dataset columns; None: the verdict is not-checked."""
    source: Path | None = None
    text: str = ""
    placed: Placed | None = field(default=None, init=False, repr=False, compare=False)
    """Set only by validation; `dataclasses.replace` gives a copy without it (it may differ)."""


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
