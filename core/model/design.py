"""The training runs as one design: their samples stacked, and the response columns per kind.

`Design` stacks the runs' clocks, run indices and interval regimes once, and caches one
response column block per (kind, time constants, averaging) (`response.kind_columns`): the fit
tries many constants and every metric shares the blocks. Knows nothing of run directories: a
run is anything with `t`, `data`, `pulses` and `interval_s` (`SampledRun`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from core.model.intervals import after_release, regimes
from core.model.response import Array, BoolArray, Pulse, kind_columns


class SampledRun(Protocol):
    """What fitting needs of a training run: its samples, its events, its clock and its CPUs."""

    @property
    def data(self) -> pd.DataFrame: ...

    @property
    def pulses(self) -> list[Pulse]: ...

    @property
    def interval_s(self) -> float: ...

    @property
    def t(self) -> Array: ...

    @property
    def n_cpus(self) -> int: ...


class Design:
    """Response columns for every (kind, taus, averaging), stacked over runs and cached."""

    def __init__(self, runs: Sequence[SampledRun], features: dict[str, list[str]]) -> None:
        self.runs = runs
        self.features = features
        self._cache: dict[tuple[str, float, float, bool], Array] = {}
        self.n = sum(len(run.data) for run in runs)
        self.run_index = np.concatenate([np.full(len(r.data), i) for i, r in enumerate(runs)])
        self.t: Array = np.concatenate([run.t for run in runs])  # each sample's run clock
        # Facts of the runs, not of a metric: each sample's interval regime (`intervals.regimes`)
        # and whether it comes soon after a memory release (`intervals.after_release`)
        self.regime: Array = np.concatenate(
            [regimes(run.t, run.pulses, run.interval_s) for run in runs]
        )
        self.released: BoolArray = np.concatenate(
            [after_release(run.t, run.pulses, run.interval_s) for run in runs]
        )

    def columns(self, kind: str, tau_rise: float, tau_fall: float, average: bool) -> Array:
        key = (kind, tau_rise, tau_fall, average)
        cols = self._cache.get(key)
        if cols is None:
            parts = [
                kind_columns(
                    run.t,
                    [p for p in run.pulses if p.kind == kind],
                    self.features[kind],
                    tau_rise,
                    tau_fall,
                    run.interval_s,
                    average,
                )
                for run in self.runs
            ]
            cols = np.vstack(parts)
            self._cache[key] = cols
        return cols
