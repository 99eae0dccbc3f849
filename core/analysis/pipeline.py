"""`analyze_run`: load, check, measure, describe, plot and write `RUN_DIR/analysis/`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from core.analysis import eda, plots
from core.analysis.fidelity import score_prediction
from core.analysis.quality import assess
from core.analysis.report import render_markdown
from core.analysis.responses import ResponseSettings, aggregate_responses, compute_responses
from core.analysis.result import AnalysisResult
from core.rundir.read import RunBundle, load_prediction, load_run


def compute(bundle: RunBundle, settings: ResponseSettings | None = None) -> AnalysisResult:
    """Every table of the analysis, nothing written."""
    clock: dict[str, float] = {}
    t0 = time.perf_counter()
    quality = assess(bundle)
    clock["quality"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    responses = compute_responses(bundle, settings=settings)
    aggregate = aggregate_responses(responses)
    clock["responses"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    summary = eda.summary_stats(bundle)
    corr = eda.correlation(bundle)
    pairs = eda.strongest_pairs(corr)
    clock["eda"] = time.perf_counter() - t0
    prediction = load_prediction(bundle.path)
    fidelity = score_prediction(bundle.dataset, prediction) if prediction is not None else None
    return AnalysisResult(
        bundle=bundle,
        quality=quality,
        responses=responses,
        aggregate=aggregate,
        summary=summary,
        correlation=corr,
        pairs=pairs,
        fidelity=fidelity,
        timings=clock,
    )


def write(result: AnalysisResult, out: Path, *, with_plots: bool = True) -> list[Path]:
    """Write the CSVs, plots and report into `out`; return the files written."""
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []

    def csv(frame: pd.DataFrame, name: str, index: bool = False) -> None:
        path = out / name
        frame.to_csv(path, index=index, lineterminator="\n")
        files.append(path)

    csv(result.responses, "responses.csv")
    csv(result.aggregate, "responses_by_param.csv")
    csv(result.summary, "summary.csv")
    csv(result.correlation, "correlation.csv", index=True)
    if result.fidelity is not None:
        csv(result.fidelity, "fidelity.csv")
    quality_path = out / "quality.json"
    quality_path.write_text(json.dumps(result.quality.to_dict(), indent=2, default=str) + "\n")
    files.append(quality_path)
    t0 = time.perf_counter()
    if with_plots:
        result.plots = plots.save_all(result.bundle, out, result.correlation, result.pairs)
        files.extend(result.plots)
    result.timings["plots"] = time.perf_counter() - t0
    report = out / "report.md"
    report.write_text(render_markdown(result))
    files.append(report)
    result.files = files
    return files


def analyze_run(
    run: Path | str,
    out: Path | None = None,
    *,
    with_plots: bool = True,
    settings: ResponseSettings | None = None,
) -> AnalysisResult:
    """Analyse RUN_DIR and write `out` (default `RUN_DIR/analysis/`)."""
    t0 = time.perf_counter()
    bundle = load_run(run)
    load_s = time.perf_counter() - t0
    result = compute(bundle, settings)
    result.timings = {"load": load_s, **result.timings}
    write(result, out if out is not None else bundle.path / "analysis", with_plots=with_plots)
    result.timings["total"] = time.perf_counter() - t0
    return result
