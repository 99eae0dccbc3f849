"""The run's own footprint: what launching stressors costs the machine beyond each event.

The runner grows once it launches its first stressor (`PRELAUNCH_S` before the first event
starts: the stressor machinery it imports, its buffers) and keeps that memory until the run
ends, whether events are running or not. One `session` pulse per run from then to the run's
end lets the fit learn that step like any other effect (feature `session`, which is 1), so it
is neither folded into the idle level nor into every event's own gain.

Each stressor is also a process of its own, booted up to `PRELAUNCH_S` before its event and
gone at its end: some MiB of interpreter and buffers (10-25 MiB on the bench VM) while it
lives. A memory event's own `on` term holds its process; every other event gets a `footprint`
pulse (feature `footprint`, 1) from its launch to its end, one gain for them all: so two CPU
events at once add two footprints, which a plan of one event at a time cannot tell otherwise.

Booting that process costs CPU: an interpreter starting and importing its stressor, 0.1-0.2
core-seconds on the bench VM, in the sample after its launch (in the quiet gap before its
event, where the plan showed nothing). Every stress event gets a `boot` pulse (feature `boot`,
1) of `BOOT_S` from its launch, one gain for them all: the CPU-seconds a boot takes.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.event_lifecycle import PRELAUNCH_S
from core.model.response import KINDS, Pulse

SESSION = "session"
FOOTPRINT = "footprint"
BOOT = "boot"
BOOT_S = 0.25  # a boot's CPU, as a pulse this long from the launch (its gain: the CPU % during)
HELD_BY_OWN_TERM = ("memory",)  # kinds whose process memory their own `on` term learns


def with_session(pulses: Sequence[Pulse], end_s: float) -> list[Pulse]:
    """`pulses` plus the session pulse (none when the run has no stress event), one boot pulse
    per stress event and one footprint pulse per stress event whose kind has no memory term of
    its own."""
    starts = [p.start_s for p in pulses if p.kind in KINDS]
    if not starts:
        return list(pulses)
    footprints = [
        Pulse(FOOTPRINT, max(0.0, p.start_s - PRELAUNCH_S), p.end_s, {FOOTPRINT: 1.0})
        for p in pulses
        if p.kind in KINDS and p.kind not in HELD_BY_OWN_TERM and p.end_s > p.start_s
    ]
    boots = [
        Pulse(BOOT, launch, launch + BOOT_S, {BOOT: 1.0})
        for p in pulses
        if p.kind in KINDS and (launch := max(0.0, p.start_s - PRELAUNCH_S)) < p.start_s
    ]
    begin = max(0.0, min(starts) - PRELAUNCH_S)
    if end_s <= begin:
        return [*pulses, *footprints, *boots]
    return [*pulses, Pulse(SESSION, begin, end_s, {SESSION: 1.0}), *footprints, *boots]
