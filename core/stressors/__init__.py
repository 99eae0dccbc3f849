"""Stressors: CPU, memory, disk and network load that is exact, bounded and always cleaned up.

Each stressor is a separate process (`python -m core.stressors.child`) in its own process group,
killed by the kernel if the thread that started it dies (PR_SET_PDEATHSIG: start stressors from
one long-lived thread), with its own deadline as a last resort. It publishes its work once a
second; `StressorHandle.work()` returns the latest report.

`core.stressors.params` is the stressor table: the one definition of the kinds (`KINDS`) and of
every parameter's type, default, range, unit and help (`PARAMS`). Read it; never restate it.

The owner's side (`handle`: starting and stopping, with subprocess and tempfile behind it) loads
on first use: a stressor process imports this package first, and ~25 ms of its boot went to
modules only its owner uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from core.stressors._proc import CONTENTION_MODES
from core.stressors.params import KINDS, PARAMS, ParamSpec, param_problems, resolve_params

if TYPE_CHECKING:
    from core.stressors.handle import (
        WORK_COLUMNS,
        StressorError,
        StressorExit,
        StressorHandle,
        check_stressor,
        start_stressor,
    )
    from core.stressors.safety import safety_problems

_LAZY = {
    "WORK_COLUMNS": "core.stressors.handle",
    "StressorError": "core.stressors.handle",
    "StressorExit": "core.stressors.handle",
    "StressorHandle": "core.stressors.handle",
    "check_stressor": "core.stressors.handle",
    "start_stressor": "core.stressors.handle",
    "safety_problems": "core.stressors.safety",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


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
