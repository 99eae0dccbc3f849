"""Placing a profile's events on the run clock: the one place a `Schedule` is built.

Validation builds it (overlaps and this machine's limits are checked on the placed events) and a
profile that passed carries it (`Profile.placed`), so `resolve_schedule` hands that same schedule
to the run, `twin plan` and the TUI. A profile built by hand is placed here on demand.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from core.profile.check import Checker, show
from core.profile.designs import Design, Draft
from core.profile.read_generate import read_design
from core.profile.spec import EventSpec, KeyPath, Placed, Profile
from core.schedule import Event, Schedule

Overlap = tuple[KeyPath, str]
"""A sequential event pinned before the previous one ends: where (`events[i].start_s`), why."""


def event_ids(count: int) -> list[str]:
    """`e01`, `e02`, ... (wider when there are 100 or more events)."""
    width = max(2, len(str(count)))
    return [f"e{i:0{width}d}" for i in range(1, count + 1)]


def place(
    specs: Sequence[EventSpec], mode: str, baseline: float, gap: float
) -> tuple[list[Event], list[Overlap]]:
    """Events on the run clock, and the sequential overlaps found on the way."""
    events: list[Event] = []
    overlaps: list[Overlap] = []
    previous_end = baseline
    for index, (eid, spec) in enumerate(zip(event_ids(len(specs)), specs, strict=True)):
        if mode == "parallel":
            start = baseline + spec.start_s
        elif spec.start_s > 0:
            start = baseline + spec.start_s
            if start < previous_end:
                overlaps.append(
                    (
                        ("events", index, "start_s"),
                        f"{show(spec.start_s)} overlaps events[{index - 1}], which runs until "
                        f"{show(round(previous_end - baseline, 6))} s after the baseline: "
                        "sequential events run one at a time "
                        '(use a later start_s, or [run] mode = "parallel")',
                    )
                )
        else:
            start = previous_end + gap if index else baseline
        event = Event(eid, spec.stressor, dict(spec.params), start, spec.duration_s, spec.label)
        events.append(event)
        previous_end = max(previous_end, event.end_s) if mode == "parallel" else event.end_s
    return events, overlaps


def build_schedule(profile: Profile, specs: Sequence[EventSpec]) -> tuple[Schedule, list[Overlap]]:
    """The schedule of `specs` under the profile's settings; sound only without overlaps.

    Sequential: the first event starts when the baseline ends, each next one
    `gap_s` after the previous ends (or at its own positive `start_s`).
    Parallel: each event at `baseline_s + start_s`. The run ends `baseline_s`
    after the last event (with no events: `baseline_s`).
    """
    events, overlaps = place(specs, profile.mode, profile.baseline_s, profile.gap_s)
    last_end = max((e.end_s for e in events), default=0.0)
    total = last_end + profile.baseline_s if events else profile.baseline_s
    schedule = Schedule(
        name=profile.name,
        mode=profile.mode,
        events=tuple(events),
        total_s=total,
        interval_s=profile.interval_s,
        baseline_s=profile.baseline_s,
        seed=profile.seed,
        # Only when not the default, so the schedules of existing profiles stay as they were.
        extra={} if profile.contention == "shared" else {"contention": profile.contention},
    )
    return schedule, overlaps


def design_specs(design: Design, mode: str) -> tuple[EventSpec, ...]:
    """A design's generated events, written as the profile would write them."""
    return _drafts_to_specs(design.drafts(mode))


def _drafts_to_specs(drafts: Iterable[Draft]) -> tuple[EventSpec, ...]:
    return tuple(EventSpec(d.stressor, d.duration_s, d.params, d.start_s, d.label) for d in drafts)


def keep_placed(profile: Profile, placed: Placed) -> Profile:
    """The checked profile, carrying its placed events so nothing places them again."""
    object.__setattr__(profile, "placed", placed)  # frozen: set once, here, before anyone sees it
    return profile


def event_specs(profile: Profile) -> tuple[EventSpec, ...]:
    """The profile's events: as written, or generated from its `[generate]` design."""
    if profile.placed is not None:
        return profile.placed.events
    if profile.generate is None:
        return profile.events
    check = Checker(profile.text or None)
    design = read_design(check, profile.generate, profile.mode, profile.gap_s)
    if design is None:
        raise check.error(profile.source)
    return design_specs(design, profile.mode)


def expand_generate(profile: Profile) -> Profile:
    """The same profile with its `[generate]` design written out as `[[events]]`."""
    if profile.generate is None:
        return profile
    return replace(profile, events=event_specs(profile), generate=None)


def resolve_schedule(profile: Profile) -> Schedule:
    """The profile's events on the run clock (seconds since the run started).

    Raises `ProfileError` for a design or sequential overlaps a hand-built profile may have;
    a profile read by `load_profile` was checked and placed already.
    """
    if profile.placed is not None:
        return profile.placed.schedule
    schedule, overlaps = build_schedule(profile, event_specs(profile))
    if overlaps:
        check = Checker(profile.text or None)
        for key, reason in overlaps:
            check.add(key, reason)
        raise check.error(profile.source)
    return schedule
