"""A run's probes and hypothesis together: what `ExperimentRun` calls, in the order it runs.

Kept here so the runner only hands over each moment (start, a sample, the end), and the rules
of the probes live in one place: a `command` probe needs the operator's consent, the probes'
columns follow the telemetry's, and the verdict decides exit code 3 (1 wins over 3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from core.errors import EXIT_DEVIATED, EXIT_FAILED, EXIT_OK, BadInput
from core.event_lifecycle import EventState
from core.probes.engine import ProbeSet
from core.probes.spec import ProbeSpec, SteadyStateSpec
from core.probes.steady_state import Deviation, SteadyStateMonitor
from core.telemetry.columns import Column
from core.telemetry.sampler import Sample

ABORT_REASON = "steady state deviated ([steady_state] abort = true)"
"""The runner's stop reason when the hypothesis stops the run (exit 3, not 1)."""


class RunProbes:
    """The probes of one run and the monitor of its steady-state hypothesis."""

    def __init__(
        self,
        probes: Sequence[ProbeSpec] = (),
        steady_state: SteadyStateSpec | None = None,
        *,
        allow_commands: bool = False,
    ) -> None:
        commands = [p.name for p in probes if p.kind == "command"]
        if commands and not allow_commands:  # a profile alone never runs a program
            raise BadInput(
                f"probe {commands[0]}: a command probe runs a program: refused unless "
                "--allow-commands is given; nothing was started"
            )
        self.specs = tuple(probes)
        self.monitor = SteadyStateMonitor(steady_state)
        self.abort_on_deviation = steady_state is not None and steady_state.abort
        self._set: ProbeSet | None = None

    @property
    def columns(self) -> list[Column]:
        """The probes' dataset columns (fixed at run start, after the telemetry's)."""
        return [c for spec in self.specs for c in spec.columns]

    def start(self, directory: Path) -> None:
        """Start every probe's thread; `directory` is on the filesystem the run writes to."""
        if self.specs:
            self._set = ProbeSet(self.specs, directory)
            self._set.start()

    def collect(self, values: dict[str, float]) -> None:
        """The interval's probe columns into a sample's values (the sampler's thread)."""
        if self._set is not None:
            self._set.collect(values)

    def stop(self) -> None:
        if self._set is not None:
            self._set.stop()

    def after_sample(
        self, sample: Sample, report: Callable[[Deviation], None], stop: Callable[[str], None]
    ) -> None:
        """Check a written row: `report` each deviation it begins; `stop` the run if asked to."""
        for deviation in self.monitor.observe(
            sample.elapsed_s, sample.values, sample.active_events
        ):
            report(deviation)
        if self.abort_on_deviation and self.monitor.deviated:
            stop(ABORT_REASON)

    def exit_code(self, status: str, stop_reason: str, events: Iterable[EventState]) -> int:
        """The run's exit code: 0 completed, 1 failed or stopped, 3 the hypothesis deviated and
        the run completed or this hypothesis stopped it; 1 wins over 3 (a failed event too)."""
        code = EXIT_OK if status == "completed" else EXIT_FAILED
        if not self.monitor.deviated or any(e.status == "failed" for e in events):
            return code
        if status == "completed" or (status == "stopped" and stop_reason == ABORT_REASON):
            return EXIT_DEVIATED
        return code

    def record(self) -> dict[str, Any]:
        """run.json's `"steady_state"` (always: not-checked without tolerances) and `"probes"`."""
        out: dict[str, Any] = {"steady_state": self.monitor.to_json()}
        if self._set is not None:
            out["probes"] = self._set.summary()
        return out
