"""When a run could not hold its plan: an event that started late, a target it never reached.

A machine that is too busy cannot start every event on time, nor fill memory or write at the
rate asked for within a short event. The run must say so where a user looks: the event's
`message` in annotations.csv, a count in run.json (`plan_misses`) and a line on stderr, so a
dataset is never read as the planned load when it was not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.schedule import Event
from core.shapes import peak_level

LATE_START_S = 0.1  # the start promise: a planned event's load begins within this of plan
MEMORY_REACHED = 0.95  # of the target's bytes: the stressor's own resident report
DISK_REACHED = 0.9  # of rate_mb_s: the best per-second rate the stressor reported
MIB = 1 << 20
DISK_WORK = ("stress_disk_read_bytes_per_s", "stress_disk_write_bytes_per_s")


def late_start(event: Event, start_s: float) -> str:
    """The note for a planned event that began more than `LATE_START_S` after its plan."""
    late = round(start_s - event.start_s, 3)  # to the ms annotations.csv keeps
    if late <= LATE_START_S:
        return ""
    return f"started {late * 1000:.0f} ms late (the promise is +{LATE_START_S * 1000:.0f} ms)"


def target_of(event: Event) -> tuple[str, float] | None:
    """(what, bytes or bytes/s) the event's stressor must reach, or None (nothing to check)."""
    params = event.params
    if event.stressor == "memory":
        size = float(peak_level(params.get("size_mb", 256))) * MIB
        ramp = float(params.get("ramp_s") or 0.0)
        if ramp > event.duration_s:  # planned to reach only part of its size in the event
            size *= event.duration_s / ramp
        return "memory", size
    if event.stressor == "disk" and params.get("rate_mb_s") is not None:
        return "disk", float(peak_level(params["rate_mb_s"])) * MIB
    return None


@dataclass
class TargetWatch:
    """The best the stressor of one live event reported (polled by the control thread)."""

    target: tuple[str, float]
    best: float = 0.0
    reported: bool = False  # a stressor that reports no such work (a test's fake) is not judged
    limited: str = ""  # why the stressor itself stopped growing (memory safety), if it said

    def observe(self, work: dict[str, float], status: dict[str, Any]) -> None:
        names = ("stress_mem_resident_bytes",) if self.target[0] == "memory" else DISK_WORK
        if any(name in work for name in names):
            self.reported = True
            self.best = max(self.best, sum(work.get(name, 0.0) for name in names))
        if status.get("limited"):
            self.limited = str(status["limited"])

    def missed(self) -> str:
        """The note when the target was not reached, else ""."""
        what, goal = self.target
        if not self.reported:
            return ""
        if what == "memory" and self.best < MEMORY_REACHED * goal:
            note = f"memory target missed: reached {self.best / MIB:.0f} of {goal / MIB:.0f} MiB"
        elif what == "disk" and self.best < DISK_REACHED * goal:
            note = (
                f"disk target missed: best {self.best / MIB:.1f} of {goal / MIB:.1f} MiB/s "
                "in any second"
            )
        else:
            return ""
        return f"{note} ({self.limited})" if self.limited else note


@dataclass
class PlanMisses:
    """The run's counts, for run.json (`plan_misses`) and the summary line."""

    late_starts: int = 0
    targets_missed: int = 0

    def record(self) -> dict[str, int]:
        return {"late_starts": self.late_starts, "targets_missed": self.targets_missed}


def summary(misses: dict[str, Any]) -> str:
    """One line for stderr when the run missed its plan, else ""."""
    late, missed = int(misses.get("late_starts", 0)), int(misses.get("targets_missed", 0))
    if not late and not missed:
        return ""
    return (
        f"twin: the run did not hold its plan: {late} event(s) started more than "
        f"{LATE_START_S * 1000:.0f} ms late, {missed} missed their memory/disk target "
        "(see the message column of annotations.csv)"
    )
