"""Export a run (dataset joined with its annotations) for other tools.

- parquet: `dataset.parquet` (timestamp as UTC timestamp[ms], plus per-row
  `event_stressors` / `event_labels`) and `events.parquet` (one row per event).
- jsonl: `dataset.jsonl` and `events.jsonl`, one JSON object per line (null for
  an empty cell).
- influx: `dataset.lp`, InfluxDB line protocol: measurement `server_twin`,
  tags `host`, `run` and, while events run, `event` and `stressor`; every
  metric a float field; nanosecond timestamps.
- prometheus: `dataset.om.txt`, OpenMetrics text: one gauge family per metric
  (`server_twin_<column>`, `# TYPE`, `# UNIT` where the name ends in a unit,
  `# HELP`), labels `host`, `run` and `event` while events run, timestamps in
  seconds, ending in `# EOF`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import BadInput
from core.rundir.read import RunBundle
from core.telemetry import metric_lists

MEASUREMENT = "server_twin"
UNITS = ("bytes_per_s", "ops_per_s", "per_s", "percent", "bytes", "ms", "s")


def joined(bundle: RunBundle) -> pd.DataFrame:
    """The dataset plus `event_stressors` and `event_labels` (`;`-separated, like active_events)."""
    data = bundle.dataset.copy()
    ev = bundle.events.set_index("event_id")
    stressor = {str(k): str(v) for k, v in ev["stressor"].items()}
    label = {str(k): str(v) for k, v in ev["label"].items()}
    uniq = pd.unique(data["active_events"].astype(str))

    def look(table: dict[str, str]) -> dict[str, str]:
        return {
            key: ";".join(table.get(i, "") for i in key.split(";")) if key else "" for key in uniq
        }

    data["event_stressors"] = data["active_events"].map(look(stressor))
    data["event_labels"] = data["active_events"].map(look(label))
    return data


def _parse_time(data: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(data["timestamp"], utc=True, format="ISO8601", errors="coerce")


def to_parquet(bundle: RunBundle, out: Path) -> list[Path]:
    data = joined(bundle)
    data["timestamp"] = _parse_time(data).astype("datetime64[ms, UTC]")
    path = out / "dataset.parquet"
    data.to_parquet(path, engine="pyarrow", index=False)
    events_path = out / "events.parquet"
    bundle.events.to_parquet(events_path, engine="pyarrow", index=False)
    return [path, events_path]


def to_jsonl(bundle: RunBundle, out: Path) -> list[Path]:
    path = out / "dataset.jsonl"
    joined(bundle).to_json(path, orient="records", lines=True, double_precision=15)
    events_path = out / "events.jsonl"
    bundle.events.to_json(events_path, orient="records", lines=True, double_precision=15)
    return [path, events_path]


def _escape_tag(value: pd.Series) -> pd.Series:
    return (
        value.astype(str)
        .str.replace("\\", "\\\\", regex=False)
        .str.replace(",", "\\,", regex=False)
        .str.replace("=", "\\=", regex=False)
        .str.replace(" ", "\\ ", regex=False)
    )


def _numbers(col: pd.Series) -> pd.Series:
    """Shortest round-trip text of each float, empty for NaN."""
    return col.astype("float64").astype(str).where(col.notna(), "")


def _metric_cols(data: pd.DataFrame) -> list[str]:
    return [c for c in data.columns if c not in metric_lists.NON_METRIC]


def _stamp_ns(data: pd.DataFrame) -> np.ndarray:
    stamps = _parse_time(data)
    if stamps.isna().any():
        raise BadInput("dataset has timestamps that are not ISO 8601; cannot export with time")
    return np.asarray(stamps.astype("datetime64[ns, UTC]").astype("int64"))


def influx_lines(data: pd.DataFrame, host: str, run: str) -> list[str]:
    """The line protocol of `data` (a `joined` frame): one home for the `.lp` export and
    for live writes to InfluxDB (core.live), so both key every point the same way."""
    ns = _stamp_ns(data)
    tags = f"{MEASUREMENT},host={_escape_tag(pd.Series([host]))[0]}"
    tags += f",run={_escape_tag(pd.Series([run]))[0]}"
    active = data["active_events"].astype(str)
    event_tag = np.where(active != "", ",event=" + _escape_tag(active), "")
    stress_tag = np.where(
        active != "", ",stressor=" + _escape_tag(data["event_stressors"].astype(str)), ""
    )
    fields = [c for c in _metric_cols(data) if c not in ("event_stressors", "event_labels")]
    parts = [np.where(data[c].notna(), c + "=" + _numbers(data[c]), "") for c in fields]
    field_text = [",".join(filter(None, row)) for row in zip(*parts, strict=True)]
    return [
        f"{tags}{e}{s} {f} {n}"
        for e, s, f, n in zip(event_tag, stress_tag, field_text, ns.tolist(), strict=True)
        if f
    ]


def to_influx(bundle: RunBundle, out: Path) -> list[Path]:
    lines = influx_lines(joined(bundle), bundle.host, bundle.name)
    path = out / "dataset.lp"
    path.write_text("\n".join(lines) + ("\n" if lines else ""))
    return [path]


def _unit(column: str) -> str:
    for unit in UNITS:
        if column.endswith("_" + unit):
            return unit
    return ""


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_openmetrics(bundle: RunBundle, out: Path) -> list[Path]:
    data = bundle.dataset
    ns = _stamp_ns(data)
    secs = pd.Series(np.char.mod("%.3f", ns / 1e9), index=data.index)
    base = f'host="{_label_value(bundle.host)}",run="{_label_value(bundle.name)}"'
    active = data["active_events"].astype(str)
    labels = pd.Series(
        np.where(
            active != "",
            "{" + base + ',event="' + active.map(_label_value) + '"}',
            "{" + base + "}",
        ),
        index=data.index,
    )
    order = pd.factorize(labels)[0]
    path = out / "dataset.om.txt"
    with path.open("w") as fh:
        for col in _metric_cols(data):
            name = f"{MEASUREMENT}_{col}"
            unit = _unit(col)
            fh.write(f"# TYPE {name} gauge\n")
            if unit:
                fh.write(f"# UNIT {name} {unit}\n")
            fh.write(f"# HELP {name} {col} from server-twin run {bundle.name}\n")
            ok = data[col].notna()
            if ok.any():
                lines = (
                    name + labels.astype(str)[ok] + " " + _numbers(data[col])[ok] + " " + secs[ok]
                )
                # one label set after another (each in time order), as OpenMetrics wants
                lines = lines.iloc[np.argsort(order[ok.to_numpy()], kind="stable")]
                fh.write("\n".join(lines.tolist()) + "\n")
        fh.write("# EOF\n")
    return [path]


WRITERS: dict[str, Callable[[RunBundle, Path], list[Path]]] = {
    "parquet": to_parquet,
    "jsonl": to_jsonl,
    "prometheus": to_openmetrics,
    "influx": to_influx,
}
"""Every file format `twin export --format` writes: add a writer here to add a format."""
FORMATS = tuple(WRITERS)


def export_run(bundle: RunBundle, fmt: str, out: Path | None = None) -> list[Path]:
    """Write `bundle` in `fmt` into `out` (default `RUN_DIR/export/`); return the files."""
    if fmt not in WRITERS:
        raise BadInput(f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")
    target = out if out is not None else bundle.path / "export"
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"{target}: cannot create output directory ({exc.strerror})") from exc
    return WRITERS[fmt](bundle, target)
