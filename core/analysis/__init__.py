"""Analysis of run bundles: data quality, event-aligned responses, EDA, plots, export.

Never imports Textual or Rich (terminal rendering lives in `tui/report.py`).
Entry points: `load_run`, `analyze_run` (writes `RUN_DIR/analysis/`),
`compute` (tables only), `compare_results`, `export_run`, `score_prediction`.
"""

from __future__ import annotations

from core.analysis.fidelity import score_prediction
from core.rundir.read import RunBundle, load_run

__all__ = ["RunBundle", "load_run", "score_prediction"]
