"""The run's own footprint: what launching stressors costs the machine beyond each event.

The runner grows once it launches its first stressor (`PRELAUNCH_S` before the first event
starts: the stressor machinery it imports, its buffers) and keeps that memory until the run
ends, whether events are running or not. One `session` pulse per run from then to the run's
end lets the fit learn that step like any other effect (feature `session`, which is 1), so it
is neither folded into the idle level nor into every event's own gain.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.event_lifecycle import PRELAUNCH_S
from core.model.response import KINDS, Pulse

SESSION = "session"


def with_session(pulses: Sequence[Pulse], end_s: float) -> list[Pulse]:
    """`pulses` plus the session pulse (none when the run has no stress event)."""
    starts = [p.start_s for p in pulses if p.kind in KINDS]
    if not starts:
        return list(pulses)
    begin = max(0.0, min(starts) - PRELAUNCH_S)
    if end_s <= begin:
        return list(pulses)
    return [*pulses, Pulse(SESSION, begin, end_s, {SESSION: 1.0})]
