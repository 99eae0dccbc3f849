"""Reading a run directory: `load_run(path) -> RunBundle`, the one reader of a run.

Analysis, the model's training loader, the TUI and `twin export` load runs through it; recovery
uses its light readers (`read_manifest`, `read_annotation_rows`). pandas is imported only by the
functions that build frames: recovery runs at every start of `twin` and must not pay for it.

The loader is tolerant where a killed run leaves damage (a truncated last line,
a missing `end_elapsed_s`) and strict where the input is not a run at all: a
missing directory or dataset raises `BadInput` (exit 2, one line), and a line
damaged in the middle of the dataset or annotations is `FILE:LINE: reason`
(`core.rundir.damage`, exit 2), never a parser traceback.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import BadInput
from core.rundir.damage import annotation_records, damaged, dataset_damage
from core.rundir.layout import ANNOTATIONS, DATASET, MANIFEST, PREDICTION, SCHEDULE
from core.schedule import Schedule

if TYPE_CHECKING:
    import pandas as pd

NON_METRIC = ("timestamp", "elapsed_s", "active_events")
EVENT_COLUMNS = [
    "event_id",
    "stressor",
    "label",
    "params",
    "status",
    "planned_start_s",
    "planned_end_s",
    "start_s",
    "end_s",
    "end_known",
]


@dataclass
class RunBundle:
    """One run directory, loaded.

    `dataset` has the CSV's columns (numeric ones as float64, `timestamp` and
    `active_events` as strings, empty string when no event is active).
    `events` has one row per event (`EVENT_COLUMNS`): actual times on the run
    clock from annotations.csv, planned times from schedule.json; `start_s` is
    NaN for an event that never started, `end_s` is the last sample inside the
    planned window when the event never recorded an end (`end_known` False).
    """

    path: Path
    dataset: pd.DataFrame
    events: pd.DataFrame
    schedule: Schedule | None
    manifest: dict[str, Any]
    interval_s: float
    truncated_last_row: bool = False
    bad_values: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def host(self) -> str:
        host = self.manifest.get("host")
        if isinstance(host, dict):
            return str(host.get("hostname") or host.get("name") or "unknown")
        return str(host or self.manifest.get("hostname") or "unknown")

    @property
    def profile(self) -> str:
        name = self.manifest.get("profile") or self.manifest.get("profile_name")
        if isinstance(name, dict):
            name = name.get("name")
        if not name and self.schedule is not None:
            name = self.schedule.name
        return str(name or "")

    def prediction(self) -> pd.DataFrame | None:
        """The run's `prediction.csv` (`load_prediction`), read when asked for."""
        return load_prediction(self.path)

    @property
    def metric_columns(self) -> list[str]:
        """Every numeric column except the clock."""
        return [c for c in self.dataset.columns if c not in NON_METRIC]


def _read_dataset(path: Path) -> tuple[pd.DataFrame, bool, int]:
    """Read the CSV, dropping a last line a kill cut short.

    Returns (frame, truncated, bad): `bad` counts skipped lines plus cells that
    were not numbers (read as NaN).
    """
    import pandas as pd

    data = path.read_bytes()
    if not data.strip():
        raise BadInput(f"{path}: empty dataset (not a run bundle)")
    header_end = data.find(b"\n")
    first_line = data[: header_end if header_end >= 0 else len(data)]
    header = first_line.decode(errors="replace").strip().split(",")
    if header[:2] != ["timestamp", "elapsed_s"] or "active_events" not in header:
        raise BadInput(f"{path}: not a run dataset (header starts {','.join(header[:3])!r})")
    truncated = False
    body_end = len(data)
    if header_end < 0:
        body = b""
    else:
        if not data.endswith(b"\n"):
            truncated = True
            body_end = data.rfind(b"\n") + 1
        else:
            last_start = data.rfind(b"\n", 0, len(data) - 1) + 1
            if last_start > header_end and data[last_start:].count(b",") != len(header) - 1:
                truncated = True
                body_end = last_start
        body = data[:body_end]
    if not body or body_end <= header_end + 1:
        frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in header})
        frame["timestamp"] = frame["timestamp"].astype(object)
        frame["active_events"] = frame["active_events"].astype(object)
        return frame, truncated, 0
    text_cols = {"timestamp": "string", "active_events": "string"}
    bad = 0
    try:
        frame = pd.read_csv(io.BytesIO(body), engine="pyarrow", dtype=text_cols)
    except Exception:  # refused: a damaged middle line is FILE:LINE, exit 2, never a guess
        problems = dataset_damage(body, len(header))
        if problems:
            raise damaged(path, problems) from None
        try:  # refused for another reason: the forgiving path, skipped lines counted
            frame = pd.read_csv(
                io.BytesIO(body), dtype=str, on_bad_lines="skip", keep_default_na=False
            )
        except (ValueError, UnicodeDecodeError) as exc:  # pandas' ParserError is a ValueError
            raise BadInput(f"{path}: not a readable CSV ({' '.join(str(exc).split())})") from None
        bad = body.count(b"\n") - 1 - len(frame)
    for col in frame.columns:
        if col in ("timestamp", "active_events"):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), "")
        elif frame[col].dtype != "float64":
            raw = frame[col].astype(object)
            num = pd.to_numeric(raw, errors="coerce").astype("float64")
            given = raw.notna() & raw.astype(str).str.strip().ne("")
            bad += int((num.isna() & given).sum())
            frame[col] = num
    frame = frame.loc[frame["elapsed_s"].notna()].reset_index(drop=True)
    return frame, truncated, bad


def _read_events(run: Path, schedule: Schedule | None, t_last: float) -> pd.DataFrame:
    """One row per event (`EVENT_COLUMNS`): annotations.csv's, then the planned never started."""
    import pandas as pd

    planned: dict[str, tuple[float, float, str, str, str]] = {}
    if schedule is not None:
        for ev in schedule.events:
            params = json.dumps(ev.params, sort_keys=True)
            planned[ev.id] = (ev.start_s, ev.end_s, ev.stressor, ev.label, params)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    if (run / ANNOTATIONS).is_file():
        from core.formats.foreign_annotations import foreign_annotation_rows  # seed-style file

        for rec in foreign_annotation_rows(run, t_last) or read_annotation_rows(run, strict=True):
            eid = rec.get("event_id", "")
            if not eid or eid in seen:
                continue
            seen.add(eid)
            p_start, p_end, *_ = planned.get(eid, (math.nan, math.nan, "", "", "{}"))
            try:
                params = json.dumps(json.loads(rec.get("params") or "{}"), sort_keys=True)
            except ValueError:
                params = rec.get("params", "")
            start = _num(rec.get("start_elapsed_s"))
            end = _num(rec.get("end_elapsed_s"))
            plan_start = _num(rec.get("planned_start_s"), p_start)
            plan_end = _num(rec.get("planned_end_s"), p_end)
            end_known = math.isfinite(end)
            if not end_known and math.isfinite(start):
                end = assumed_end_s(start, plan_start, plan_end, t_last)
            rows.append(
                {
                    "event_id": eid,
                    "stressor": rec.get("stressor", ""),
                    "label": rec.get("label", ""),
                    "params": params,
                    "status": rec.get("status", "") or "unknown",
                    "planned_start_s": plan_start,
                    "planned_end_s": plan_end,
                    "start_s": start,
                    "end_s": end,
                    "end_known": end_known,
                }
            )
    for eid, (p_start, p_end, stressor, label, params) in planned.items():
        if eid not in seen:
            rows.append(
                {
                    "event_id": eid,
                    "stressor": stressor,
                    "label": label,
                    "params": params,
                    "status": "not started",
                    "planned_start_s": p_start,
                    "planned_end_s": p_end,
                    "start_s": math.nan,
                    "end_s": math.nan,
                    "end_known": False,
                }
            )
    events = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    for col in ("planned_start_s", "planned_end_s", "start_s", "end_s"):
        events[col] = events[col].astype("float64")
    events["end_known"] = events["end_known"].astype(bool)
    return events


def assumed_end_s(
    start_s: float, planned_start_s: float, planned_end_s: float, t_last: float
) -> float:
    """Where an event that never recorded its end is taken to have ended.

    The runner ends an event its planned duration after its actual start; a killed run's
    event ran at most to the last sample."""
    if math.isfinite(planned_start_s) and math.isfinite(planned_end_s):
        return min(start_s + planned_end_s - planned_start_s, t_last)
    return t_last


def _num(text: object, default: float = math.nan) -> float:
    try:
        return float(str(text)) if str(text).strip() else default
    except ValueError:
        return default


def load_run(path: Path | str) -> RunBundle:
    """Load RUN_DIR; raise `BadInput` if it is missing or not a run bundle."""
    run = Path(path)
    if not run.exists():
        raise BadInput(f"{run}: no such run directory")
    if not run.is_dir():
        raise BadInput(f"{run}: not a directory (give a run directory)")
    if not (run / DATASET).is_file():
        raise BadInput(f"{run}: not a run bundle (no {DATASET})")
    notes: list[str] = []
    manifest = read_manifest(run)
    if manifest is None:
        notes.append(
            f"{MANIFEST} is not valid JSON; ignored"
            if (run / MANIFEST).is_file()
            else f"no {MANIFEST}"
        )
        manifest = {}
    schedule: Schedule | None = None
    if (run / SCHEDULE).is_file():
        try:
            schedule = Schedule.load(run / SCHEDULE)
        except (ValueError, KeyError, TypeError) as exc:
            notes.append(f"{SCHEDULE} unreadable ({exc}); planned times unknown")
    else:
        notes.append(f"no {SCHEDULE}")
    if not (run / ANNOTATIONS).is_file():
        notes.append(f"no {ANNOTATIONS}: events have no recorded times")
    dataset, truncated, bad = _read_dataset(run / DATASET)
    interval = _interval(manifest, schedule, dataset)
    t_last = float(dataset["elapsed_s"].iloc[-1]) if len(dataset) else 0.0
    events = _read_events(run, schedule, t_last)
    return RunBundle(
        path=run,
        dataset=dataset,
        events=events,
        schedule=schedule,
        manifest=manifest,
        interval_s=interval,
        truncated_last_row=truncated,
        bad_values=bad,
        notes=notes,
    )


def _interval(manifest: dict[str, Any], schedule: Schedule | None, data: pd.DataFrame) -> float:
    for value in (manifest.get("interval_s"), schedule.interval_s if schedule else None):
        try:
            if value is not None and float(value) > 0:
                return float(value)
        except (TypeError, ValueError):
            pass
    if len(data) > 1:
        step = float(data["elapsed_s"].diff().median())
        if step > 0:
            return step
    return 1.0


def load_prediction(run: Path) -> pd.DataFrame | None:
    """`RUN_DIR/prediction.csv` if the twin wrote one (issue 7), else None."""
    import pandas as pd

    path = run / PREDICTION
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as exc:  # ParserError, EmptyDataError: ValueErrors
        raise BadInput(f"{path}: not a readable CSV ({' '.join(str(exc).split())})") from None
    if "elapsed_s" not in frame.columns:
        raise BadInput(f"{path}: no elapsed_s column")
    return frame


def read_manifest(run: Path) -> dict[str, Any] | None:
    """`run.json` as a dict; None when it is missing or not a JSON object."""
    try:
        loaded = json.loads((run / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def read_annotation_rows(run: Path, *, strict: bool = False) -> list[dict[str, str]]:
    """`annotations.csv` as rows of strings (a missing cell reads as ""); [] if absent.

    `strict` (analysis): a damaged middle line raises `DamagedFile` (FILE:LINE, exit 2).
    Recovery reads leniently: it runs at every start of twin and must not stop on one run.
    """
    if strict:
        try:
            text = (run / ANNOTATIONS).read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return []
        return annotation_records(run / ANNOTATIONS, text)
    try:
        with (run / ANNOTATIONS).open(newline="") as f:
            return [
                {k: v or "" for k, v in row.items() if k is not None} for row in csv.DictReader(f)
            ]
    except FileNotFoundError:
        return []
