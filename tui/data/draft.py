"""The timeline editor's working copy of a profile, checked by the engine's own rules.

A `Draft` is mutable (the editor changes it in place) and turns into the exact
TOML `twin --batch` reads (`toml()` is `core.profile.profile_to_toml`). `check()`
hands the draft's data (`core.profile.profile_to_data`) straight to the engine's
checker, once per change; only a draft with problems is written as TOML, so that
the editor shows the messages (and line numbers) a batch run of the saved file
would print.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.errors import ProfileError
from core.probes import ProbeSpec, SteadyStateSpec, Tolerance
from core.profile import (
    DEFAULT_BASELINE_S,
    DEFAULT_GAP_S,
    DEFAULT_INTERVAL_S,
    EventSpec,
    Problem,
    Profile,
    check_profile_data,
    event_specs,
    load_profile,
    profile_from_data,
    profile_to_data,
    profile_to_toml,
    resolve_schedule,
)
from core.schedule import Schedule

PROFILES_DIR = Path("profiles")
_EVENT_KEY = re.compile(r"^events\[(\d+)\]")
ALLOW_COMMANDS = True
"""The editor checks `command` probes as allowed: editing runs nothing, and the app asks the
operator (naming the argv) before a recording runs one (`tui.run_control`)."""


@dataclass(frozen=True)
class DraftCheck:
    """What the engine says of a draft: its problems, or the profile and plan it makes."""

    problems: list[Problem]
    profile: Profile | None
    """The validated profile (None when there are problems)."""
    events: tuple[EventSpec, ...]
    """The events the run would have (generated ones too, when the design is sound)."""
    schedule: Schedule | None
    """The run plan (None when there are problems)."""


@dataclass
class Draft:
    """A profile being edited."""

    name: str = "untitled"
    description: str = ""
    interval_s: float = DEFAULT_INTERVAL_S
    mode: str = "sequential"
    baseline_s: float = DEFAULT_BASELINE_S
    gap_s: float = DEFAULT_GAP_S
    events: list[EventSpec] = field(default_factory=list)
    generate: dict[str, Any] | None = None
    contention: str = "shared"
    probes: list[ProbeSpec] = field(default_factory=list)
    steady_state: SteadyStateSpec | None = None
    """`[steady_state]`; None: the profile has none (the verdict is not-checked)."""
    source: Path | None = None
    text: str = ""
    """The file as it was read (kept for runs of an unchanged profile: comments and all)."""
    dirty: bool = False
    _checked: tuple[object, DraftCheck] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    """The last `check()`: its input and its verdict."""

    # ---- building ------------------------------------------------------------------
    @classmethod
    def from_profile(cls, profile: Profile) -> Draft:
        return cls(
            name=profile.name,
            description=profile.description,
            interval_s=profile.interval_s,
            mode=profile.mode,
            baseline_s=profile.baseline_s,
            gap_s=profile.gap_s,
            events=list(profile.events),
            generate=dict(profile.generate) if profile.generate is not None else None,
            contention=profile.contention,
            probes=list(profile.probes),
            steady_state=profile.steady_state,
            source=profile.source,
            text=profile.text,
        )

    @classmethod
    def load(cls, path: Path) -> Draft:
        """Read a profile file (raises `ProfileError` with the engine's messages)."""
        return cls.from_profile(load_profile(path, allow_commands=ALLOW_COMMANDS))

    @property
    def is_blank(self) -> bool:
        """A new, untouched draft: nothing the user asked to run."""
        return self.source is None and not self.dirty

    @property
    def label(self) -> str:
        """What the status bar calls it: `name`, starred when unsaved ("" when blank)."""
        return "" if self.is_blank else f"{self.name}{'*' if self.dirty else ''}"

    def profile(self) -> Profile:
        """The draft as a `Profile` (not validated)."""
        return Profile(
            name=self.name,
            description=self.description,
            interval_s=self.interval_s,
            mode=self.mode,
            baseline_s=self.baseline_s,
            gap_s=self.gap_s,
            events=tuple(self.events),
            generate=self.generate,
            seed=_seed(self.generate),
            contention=self.contention,
            probes=tuple(self.probes),
            steady_state=self.steady_state,
            source=self.source,
            text=self.text,
        )

    # ---- text and checks --------------------------------------------------------------
    def data(self) -> dict[str, Any]:
        """The draft as the dict its TOML file holds (`core.profile.profile_to_data`)."""
        return profile_to_data(self.profile())

    def toml(self) -> str:
        """The TOML this draft saves as (what `twin --batch` reads)."""
        return profile_to_toml(self.profile())

    def run_text(self) -> str:
        """The profile text a run records: the file itself while unchanged."""
        return self.text if self.text and not self.dirty else self.toml()

    def check(self, scratch_dir: Path | None = None) -> DraftCheck:
        """The engine's verdict on the draft as it is now (computed once per change).

        The engine checks the draft's data directly. Only when it finds problems is the
        TOML written, so that each message names the line of the saved file it is about.
        """
        data = self.data()
        key = (repr(data), scratch_dir)
        if self._checked is not None and self._checked[0] == key:
            return self._checked[1]
        result = _check(self, data, scratch_dir)
        self._checked = (key, result)
        return result

    def problems(self, scratch_dir: Path | None = None) -> list[Problem]:
        """Every problem the engine finds, with its key (and line in `toml()`)."""
        return self.check(scratch_dir).problems

    def messages(self, scratch_dir: Path | None = None) -> list[str]:
        where = self.source if self.source is not None else "<unsaved profile>"
        return [p.format(where) for p in self.problems(scratch_dir)]

    def validated(self, scratch_dir: Path | None = None) -> Profile:
        """The profile as the engine reads it; raises `ProfileError`."""
        checked = self.check(scratch_dir)
        if checked.profile is None:
            raise ProfileError(self.messages(scratch_dir))
        return checked.profile

    def schedule(self, scratch_dir: Path | None = None) -> Schedule:
        """The resolved run plan; raises `ProfileError` listing every problem."""
        checked = self.check(scratch_dir)
        if checked.schedule is None:
            raise ProfileError(self.messages(scratch_dir) or ["the plan cannot be placed"])
        return checked.schedule

    def preview(self, scratch_dir: Path | None = None) -> tuple[list[EventSpec], Schedule | None]:
        """The events the run would have (generated ones too) and their schedule, if sound."""
        checked = self.check(scratch_dir)
        return list(checked.events), checked.schedule

    # ---- editing -------------------------------------------------------------------
    def touch(self) -> None:
        self.dirty = True

    def add(self, spec: EventSpec, index: int | None = None) -> int:
        at = len(self.events) if index is None else max(0, min(index, len(self.events)))
        self.events.insert(at, spec)
        self.touch()
        return at

    def replace_event(self, index: int, spec: EventSpec) -> None:
        self.events[index] = spec
        self.touch()

    def duplicate(self, index: int) -> int:
        return self.add(replace(self.events[index]), index + 1)

    def delete(self, index: int) -> None:
        del self.events[index]
        self.touch()

    def move(self, index: int, delta: int) -> int:
        """Move an event up (`delta` < 0) or down; returns its new index."""
        to = index + delta
        if not (0 <= index < len(self.events) and 0 <= to < len(self.events)):
            return index
        self.events[index], self.events[to] = self.events[to], self.events[index]
        self.touch()
        return to

    def expand(self) -> None:
        """Write a `[generate]` design out as events that can be edited one by one."""
        if self.generate is None:
            return
        events, _ = self.preview()
        self.events = events
        self.generate = None
        self.touch()

    # ---- probes and the steady-state hypothesis ------------------------------------------
    def set_probe(self, index: int | None, probe: ProbeSpec) -> int:
        """Replace probe `index`, or add `probe` at the end (None); returns its index."""
        if index is None or not 0 <= index < len(self.probes):
            self.probes.append(probe)
            index = len(self.probes) - 1
        else:
            self.probes[index] = probe
        self.touch()
        return index

    def delete_probe(self, index: int) -> None:
        del self.probes[index]
        self.touch()

    @property
    def tolerances(self) -> tuple[Tolerance, ...]:
        return self.steady_state.tolerances if self.steady_state is not None else ()

    def set_tolerance(self, old_column: str | None, tolerance: Tolerance) -> None:
        """Replace the tolerance on `old_column` (in place), or add one (None)."""
        # a column has one tolerance: another one on the new column is replaced by this one
        items = [
            t for t in self.tolerances if t.column == old_column or t.column != tolerance.column
        ]
        at = next((i for i, t in enumerate(items) if t.column == old_column), None)
        if at is None:
            items.append(tolerance)
        else:
            items[at] = tolerance
        self._set_steady_state(tuple(items))

    def delete_tolerance(self, column: str) -> None:
        self._set_steady_state(tuple(t for t in self.tolerances if t.column != column))

    def set_abort(self, abort: bool) -> None:
        self._set_steady_state(self.tolerances, abort)

    def _set_steady_state(
        self, tolerances: tuple[Tolerance, ...], abort: bool | None = None
    ) -> None:
        keep_abort = self.steady_state.abort if self.steady_state is not None else False
        abort = keep_abort if abort is None else abort
        self.steady_state = SteadyStateSpec(abort, tolerances) if tolerances or abort else None
        self.touch()

    def command_probes(self) -> list[ProbeSpec]:
        """The probes that run a program (the app asks before a recording runs them)."""
        return [p for p in self.probes if p.kind == "command"]

    def save(self, path: Path) -> None:
        text = self.toml()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.source, self.text, self.dirty = path, text, False


def _check(draft: Draft, data: dict[str, Any], scratch_dir: Path | None) -> DraftCheck:
    """One engine check of `data`; on problems, their lines in the TOML the draft saves as."""
    try:
        profile = profile_from_data(
            data, draft.source, scratch_dir=scratch_dir, allow_commands=ALLOW_COMMANDS
        )
    except ProfileError:
        try:
            text: str | None = draft.toml()
        except (ValueError, TypeError):  # the messages then come without line numbers
            text = None
        problems = check_profile_data(
            data, text, scratch_dir=scratch_dir, allow_commands=ALLOW_COMMANDS
        )
        events = tuple(draft.events) if draft.generate is None else ()
        return DraftCheck(problems, None, events, None)
    events = event_specs(profile)
    try:
        return DraftCheck([], profile, events, resolve_schedule(profile))
    except ProfileError as exc:  # not expected: the checker places the events too
        return DraftCheck([Problem("", "; ".join(exc.problems))], None, events, None)


def probes_problem(problem: Problem) -> bool:
    """Whether a problem is about `[[probes]]` or `[steady_state]` (the probes dialog shows it)."""
    return problem.key.startswith(("probes", "steady_state"))


def event_index(problem: Problem) -> int | None:
    """The event a problem is about (`events[2].duration_s` -> 2)."""
    match = _EVENT_KEY.match(problem.key)
    return int(match.group(1)) if match else None


def _seed(generate: dict[str, Any] | None) -> int | None:
    if generate is None:
        return None
    seed = generate.get("seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def profile_files(folder: Path = PROFILES_DIR) -> list[Path]:
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []
