"""Probes (how well the node serves: http, tcp, sched, fsync, command) and the steady-state
hypothesis checked over the dataset's columns (issue 13; README "Profiles", `[[probes]]`).

- `spec`: the kinds, keys, defaults and types (`ProbeSpec`, `Tolerance`, `SteadyStateSpec`);
- `kinds`: one attempt of each kind;
- `engine`: `ProbeSet`, a thread per probe, aggregated per sampling interval;
- `steady_state`: `SteadyStateMonitor`, the tolerances checked at every sample, the verdict;
- `run_probes`: `RunProbes`, both as a run uses them (what the runner calls, exit code 3).
"""

from __future__ import annotations

from core.probes.engine import ProbeSet
from core.probes.run_probes import ABORT_REASON, RunProbes
from core.probes.spec import KINDS, ProbeSpec, SteadyStateSpec, Tolerance
from core.probes.steady_state import Deviation, SteadyStateMonitor

__all__ = [
    "ABORT_REASON",
    "KINDS",
    "Deviation",
    "ProbeSet",
    "ProbeSpec",
    "RunProbes",
    "SteadyStateMonitor",
    "SteadyStateSpec",
    "Tolerance",
]
