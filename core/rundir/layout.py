"""What a run directory holds, by name: the bundle contract (README "Run bundle").

Every module that names a bundle file, the annotation columns or the default runs and models
directories takes it from here; the names never change (extend, never rename).
"""

from __future__ import annotations

from pathlib import Path

DATASET = "system_metrics_dataset.csv"
ANNOTATIONS = "annotations.csv"
SCHEDULE = "schedule.json"
MANIFEST = "run.json"
PROFILE_COPY = "profile.toml"
PREDICTION = "prediction.csv"
# the stressors' scratch files while the run is live (removed when it ends)
SCRATCH = "scratch"
# the mark of a temporary file (atomic writes, space spares): recovery sweeps them
TMP_MARK = ".tmp-"

DEFAULT_RUNS_DIR = Path("data/runs")
DEFAULT_MODELS_DIR = DEFAULT_RUNS_DIR.parent / "models"  # models live beside the runs

ANNOTATION_COLUMNS = [
    "event_id",
    "stressor",
    "label",
    "params",
    "planned_start_s",
    "planned_end_s",
    "start_time",
    "end_time",
    "start_elapsed_s",
    "end_elapsed_s",
    "status",
    "message",
]


def is_run_dir(path: Path) -> bool:
    """Whether `path` looks like a run directory (it holds a dataset)."""
    return (path / DATASET).is_file()
