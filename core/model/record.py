"""The fidelity record: every scored prediction on this host, one JSON line per metric.

`fidelity.jsonl` sits beside the models (`data/models/fidelity.jsonl`). Each run that holds a
`prediction.csv` appends, when it ends, one line per predicted metric: `time`, `model` (the
model file that made the prediction), `run`, `metric`, `n`, `mae`, `bias` (predicted -
measured) and `coverage` (share of measured samples inside the interval; null without one).
`twin model show` prints the trend (`trend_lines`), so the twin's accuracy on this host is
something one can watch, not a claim.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.analysis.fidelity import score_prediction
from core.rundir.layout import DEFAULT_MODELS_DIR
from core.rundir.read import load_prediction, load_run
from core.telemetry import metric_lists
from core.telemetry.logger import now_utc

FIDELITY_LOG = "fidelity.jsonl"


def log_path(models_dir: Path = DEFAULT_MODELS_DIR) -> Path:
    return models_dir / FIDELITY_LOG


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def record_fidelity(run_dir: Path, model_name: str, models_dir: Path = DEFAULT_MODELS_DIR) -> int:
    """Score `run_dir`'s prediction against what it measured; append the lines; how many."""
    prediction = load_prediction(run_dir)
    if prediction is None:
        return 0
    scores = score_prediction(load_run(run_dir).dataset, prediction)
    stamp = now_utc().isoformat(timespec="seconds").replace("+00:00", "Z")
    lines = [
        json.dumps(
            {
                "time": stamp,
                "model": model_name,
                "run": run_dir.name,
                "metric": str(row["metric"]),
                "n": int(row["n"]),
                "mae": _number(row["mae"]),
                "bias": _number(row["bias"]),
                "coverage": _number(row["coverage"]),
            }
        )
        for row in scores.to_dict("records")
    ]
    if lines:
        models_dir.mkdir(parents=True, exist_ok=True)
        with log_path(models_dir).open("a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    return len(lines)


def read_records(models_dir: Path = DEFAULT_MODELS_DIR) -> list[dict[str, Any]]:
    """Every readable line of the record (a torn last line, from a kill, is skipped)."""
    path = log_path(models_dir)
    if not path.is_file():
        return []
    out: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and "metric" in rec:
            out.append(rec)
    return out


def _unit(metric: str, value: float) -> str:
    if metric.endswith("_percent"):
        return f"{value:.2f} points"
    if metric.endswith("_bytes"):
        return f"{value / 1024**2:.0f} MiB"
    if metric.endswith("_bytes_per_s"):
        return f"{value / 1024**2:.2f} MiB/s"
    return f"{value:.3g}"


def trend_lines(records: Iterable[dict[str, Any]]) -> list[str]:
    """Per headline metric: how many runs, the first and the latest MAE, the latest coverage."""
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        by_metric.setdefault(str(rec["metric"]), []).append(rec)
    lines: list[str] = []
    for metric in metric_lists.SUMMARY_METRICS:
        recs = [r for r in by_metric.get(metric, []) if r.get("mae") is not None]
        if not recs:
            continue
        recs.sort(key=lambda r: str(r.get("time", "")))
        first, last = recs[0], recs[-1]
        cover = last.get("coverage")
        cover_text = f", coverage {cover:.0%}" if isinstance(cover, int | float) else ""
        lines.append(
            f"{metric:<24} {len(recs)} run(s): MAE {_unit(metric, first['mae'])} (first) -> "
            f"{_unit(metric, last['mae'])} ({last.get('run', '?')}){cover_text}"
        )
    return lines


def record_run(run_dir: Path, models_dir: Path = DEFAULT_MODELS_DIR) -> int:
    """`record_fidelity` for a run that just ended, named after this host's newest model
    (the one `predict_into_run` used when the run started)."""
    from core.host import host_fingerprint
    from core.model.store import find_model

    path = find_model(str(host_fingerprint()["id"]), models_dir)
    return record_fidelity(run_dir, path.name if path else "?", models_dir)


def record_run_safely(run_dir: Path) -> None:
    """`record_run` for the runner: a record is a bonus, like the prediction, and never fails
    the run whose outcome is already written."""
    try:
        record_run(run_dir)
    except Exception:  # a bad prediction file, a read-only models dir: the run stands
        return
