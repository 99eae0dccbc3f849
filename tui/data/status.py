"""What the status bar says: recording or not, run name, time, event now running, run dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunStatus:
    """A snapshot of the session for the status bar (replaced, never mutated)."""

    state: str = "starting"
    """starting | live | preparing | recording | stopping | quitting"""
    name: str = ""
    """The recorded run's name, or the loaded profile's when live."""
    elapsed_s: float = 0.0
    total_s: float = 0.0
    events_now: tuple[str, ...] = ()
    """Short descriptions of the events running now (`e02 cpu`)."""
    run_dir: Path | None = None
    last_run: Path | None = None
    """The directory of the last run this app recorded (shown when live)."""
    deviation: str = ""
    """The recorded run's latest `[steady_state]` deviation (`probe_api_p99_ms > 50 at 3.2 s`),
    kept until the run ends; "" while the hypothesis holds."""
    deviations: int = 0
    """How many deviations the recorded run has had."""

    @property
    def recording(self) -> bool:
        return self.state in ("recording", "stopping")

    @property
    def progress(self) -> float:
        return min(1.0, self.elapsed_s / self.total_s) if self.total_s > 0 else 0.0
