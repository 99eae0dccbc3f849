"""`AnalysisResult`: every table of one run's analysis, shared by the pipeline and the renderers.

Its own module so that the pipeline (which builds it) and the report, the comparison and the
terminal printer (which read it) all import it downward, without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.analysis.quality import Quality
from core.rundir.read import RunBundle


@dataclass
class AnalysisResult:
    """A run's analysis: quality, responses, EDA tables, fidelity, and what was written."""

    bundle: RunBundle
    quality: Quality
    responses: pd.DataFrame
    aggregate: pd.DataFrame
    summary: pd.DataFrame
    correlation: pd.DataFrame
    pairs: pd.DataFrame
    fidelity: pd.DataFrame | None = None
    plots: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
