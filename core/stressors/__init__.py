"""Stressors: CPU, memory, disk and network load that is exact, bounded and always cleaned up.

Each stressor is a separate process (`python -m core.stressors.child`) in its own process group,
killed by the kernel if the thread that started it dies (PR_SET_PDEATHSIG: start stressors from
one long-lived thread), with its own deadline as a last resort. It publishes its work once a
second; `StressorHandle.work()` returns the latest report.

`core.stressors.params` is the stressor table: the one definition of the kinds (`KINDS`) and of
every parameter's type, default, range, unit and help (`PARAMS`). Read it; never restate it.
"""

from __future__ import annotations

from core.stressors._proc import CONTENTION_MODES
from core.stressors.handle import (
    WORK_COLUMNS,
    StressorError,
    StressorExit,
    StressorHandle,
    check_stressor,
    start_stressor,
)
from core.stressors.params import KINDS, PARAMS, ParamSpec, param_problems, resolve_params
from core.stressors.safety import safety_problems

__all__ = [
    "CONTENTION_MODES",
    "KINDS",
    "PARAMS",
    "WORK_COLUMNS",
    "ParamSpec",
    "StressorError",
    "StressorExit",
    "StressorHandle",
    "check_stressor",
    "param_problems",
    "resolve_params",
    "safety_problems",
    "start_stressor",
]
