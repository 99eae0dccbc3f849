"""`twin fleet report`: every host's bundle side by side, and the hosts that respond differently.

Responses are the engine's own (`core.analysis.responses`, as in `twin analyze`), computed per
host; a host is an *outlier* for an event, metric and measure when its value is more than
`MAD_K` median absolute deviations from the fleet's median (and further than the measure's
resolution: one sampling interval for times, the host's own noise threshold for a change, so a
fleet whose values are all equal does not flag a one-sample difference). At least 3 hosts with a
value are needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.analysis.export import joined
from core.analysis.report import md_table
from core.analysis.responses import ResponseSettings, compute_responses
from core.errors import BadInput
from core.fleet import COMPLETED, completed_runs, discover_runs, read_fleet
from core.rundir.read import RunBundle, load_run

FLEET_PARQUET = "fleet.parquet"
FLEET_EVENTS_PARQUET = "fleet_events.parquet"
FLEET_RESPONSES = "fleet_responses.csv"
FLEET_OUTLIERS = "fleet_outliers.csv"
FLEET_REPORT = "report.md"
MAD_K = 3.0
MIN_HOSTS = 3
# The responses the report shows per stressor kind (the full table is in fleet_responses.csv).
MAIN_RESPONSES: dict[str, tuple[str, ...]] = {
    "cpu": ("cpu_percent", "load_1m"),
    "memory": ("mem_used_bytes",),
    "disk": ("disk_write_bytes_per_s", "disk_read_bytes_per_s"),
    "network": ("net_sent_bytes_per_s",),
}
MEASURES = ("change", "onset_lag_s", "recovery_time_s")
FINGERPRINT = ("hostname", "cpu_model", "logical_cpus", "ram_bytes", "kernel", "id")


@dataclass
class FleetReport:
    fleet_dir: Path
    bundles: dict[str, RunBundle]
    hosts: pd.DataFrame
    responses: pd.DataFrame
    outliers: pd.DataFrame
    failed: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def load_fleet(fleet_dir: Path) -> tuple[dict[str, RunBundle], dict[str, str]]:
    """Every completed host's bundle (from fleet.json, else found on disk) and the failed hosts."""
    if not fleet_dir.is_dir():
        what = (
            "is a file, not a fleet directory" if fleet_dir.exists() else "no such fleet directory"
        )
        raise BadInput(f"{fleet_dir}: {what}")
    manifest = read_fleet(fleet_dir)
    runs = completed_runs(fleet_dir, manifest) if manifest else discover_runs(fleet_dir)
    failed = {
        str(host): str(entry.get("reason") or "failed")
        for host, entry in (manifest or {}).get("hosts", {}).items()
        if isinstance(entry, dict) and entry.get("status") != COMPLETED
    }
    if not runs:
        raise BadInput(f"{fleet_dir}: no completed host bundle (not a fleet directory?)")
    return {host: load_run(path) for host, path in sorted(runs.items())}, failed


def host_table(bundles: dict[str, RunBundle], fleet_dir: Path) -> pd.DataFrame:
    """One row per host: its fingerprint, run and outcome."""
    rows = []
    for host, bundle in bundles.items():
        print_ = bundle.manifest.get("host")
        finger = print_ if isinstance(print_, dict) else {}
        rows.append(
            {
                "host": host,
                **{k: finger.get(k) for k in FINGERPRINT},
                "run": str(bundle.path.relative_to(fleet_dir)),
                "status": bundle.manifest.get("status", ""),
                "samples": len(bundle.dataset),
            }
        )
    return pd.DataFrame(rows)


def fleet_responses(bundles: dict[str, RunBundle], settings: ResponseSettings) -> pd.DataFrame:
    """The engine's responses of every host, with a `host` column first."""
    frames = []
    for host, bundle in bundles.items():
        responses = compute_responses(bundle, settings=settings)
        responses["threshold"] = settings.k_sigma * responses["baseline_std"]
        responses["interval_s"] = bundle.interval_s
        responses.insert(0, "host", host)
        frames.append(responses)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def find_outliers(responses: pd.DataFrame, k: float = MAD_K) -> pd.DataFrame:
    """Hosts more than `k` MADs (and the measure's resolution) from the fleet median."""
    columns = ["event_id", "stressor", "metric", "measure", "host", "value", "median", "mad"]
    rows: list[dict[str, object]] = []
    if responses.empty:
        return pd.DataFrame(columns=[*columns, "mads"])
    for (event_id, metric), group in responses.groupby(["event_id", "metric"], sort=True):
        for measure in MEASURES:
            values = group[["host", measure, "threshold", "interval_s", "stressor"]].dropna(
                subset=[measure]
            )
            if len(values) < MIN_HOSTS:
                continue
            x = values[measure].to_numpy(dtype=float)
            median = float(np.median(x))
            mad = float(np.median(np.abs(x - median)))
            floor = values["threshold" if measure == "change" else "interval_s"].to_numpy(float)
            far = (np.abs(x - median) > k * mad) & (np.abs(x - median) > np.nan_to_num(floor))
            for (_, row), is_far, value in zip(values.iterrows(), far, x, strict=True):
                if is_far:
                    rows.append(
                        {
                            "event_id": event_id,
                            "stressor": row["stressor"],
                            "metric": metric,
                            "measure": measure,
                            "host": row["host"],
                            "value": value,
                            "median": median,
                            "mad": mad,
                            "mads": abs(value - median) / mad if mad > 0 else np.inf,
                        }
                    )
    return pd.DataFrame(rows, columns=[*columns, "mads"])


def fleet_frames(bundles: dict[str, RunBundle]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every host's dataset (export's joined view, `host` and `run` first) and events."""
    data, events = [], []
    for host, bundle in bundles.items():
        frame = joined(bundle)
        frame["timestamp"] = pd.to_datetime(
            frame["timestamp"], utc=True, format="ISO8601", errors="coerce"
        ).astype("datetime64[ms, UTC]")
        frame.insert(0, "run", bundle.name)
        frame.insert(0, "host", host)
        data.append(frame)
        ev = bundle.events.copy()
        ev.insert(0, "run", bundle.name)
        ev.insert(0, "host", host)
        events.append(ev)
    return pd.concat(data, ignore_index=True), pd.concat(events, ignore_index=True)


def event_table(responses: pd.DataFrame, hosts: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per event: hosts x main responses (change, onset, recovery) and the host fingerprint."""
    tables: dict[str, pd.DataFrame] = {}
    if responses.empty:
        return tables
    finger = hosts.set_index("host")[["hostname", "cpu_model", "logical_cpus", "id"]]
    for event_id, group in responses.groupby("event_id", sort=True):
        stressor = str(group["stressor"].iloc[0])
        metrics = MAIN_RESPONSES.get(stressor, ("cpu_percent",))
        shown = group.loc[group["metric"].isin(metrics)]
        if shown.empty:
            continue
        wide = shown.pivot_table(
            index="host", columns="metric", values=list(MEASURES), aggfunc="first", dropna=False
        )
        wide.columns = [f"{pair[1]} {pair[0]}" for pair in wide.columns]
        ordered = [f"{m} {s}" for m in metrics for s in MEASURES if f"{m} {s}" in wide.columns]
        table = finger.join(wide[ordered], how="inner").reset_index()
        label = str(group["label"].iloc[0] or "")
        tables[f"{event_id} {stressor}" + (f" ({label})" if label else "")] = table
    return tables


def render(report: FleetReport, plots: list[Path]) -> str:
    """report.md: hosts, per-event responses across hosts, outliers, failures, plots."""
    out = [f"# Fleet report: {report.fleet_dir.name}\n", "## Hosts\n", md_table(report.hosts)]
    if report.failed:
        out += ["\n## Failed hosts\n"]
        out += [f"- `{host}`: {reason}" for host, reason in sorted(report.failed.items())]
        out.append("")
    out.append("\n## Responses per event\n")
    for title, table in event_table(report.responses, report.hosts).items():
        out += [f"\n### {title}\n", md_table(table)]
    out.append(f"\n## Outliers (more than {MAD_K:g} MADs from the fleet median)\n")
    if len(report.bundles) < MIN_HOSTS:
        out.append(f"_Needs at least {MIN_HOSTS} hosts; this fleet has {len(report.bundles)}._\n")
    else:
        out.append(md_table(report.outliers))
    if plots:
        out.append("\n## Plots\n")
        out += [f"![{p.stem}]({p.name})" for p in plots]
    return "\n".join(out) + "\n"


def build_report(
    fleet_dir: Path, *, with_plots: bool = True, settings: ResponseSettings | None = None
) -> FleetReport:
    """Read every host's bundle and write the fleet files into FLEET_DIR."""
    from core.fleet import plots as fleet_plots

    bundles, failed = load_fleet(fleet_dir)
    cfg = settings or ResponseSettings()
    hosts = host_table(bundles, fleet_dir)
    responses = fleet_responses(bundles, cfg)
    report = FleetReport(fleet_dir, bundles, hosts, responses, find_outliers(responses), failed)
    data, events = fleet_frames(bundles)
    files = [fleet_dir / FLEET_PARQUET, fleet_dir / FLEET_EVENTS_PARQUET]
    data.to_parquet(files[0], engine="pyarrow", index=False)
    events.to_parquet(files[1], engine="pyarrow", index=False)
    responses.to_csv(fleet_dir / FLEET_RESPONSES, index=False, lineterminator="\n")
    report.outliers.to_csv(fleet_dir / FLEET_OUTLIERS, index=False, lineterminator="\n")
    files += [fleet_dir / FLEET_RESPONSES, fleet_dir / FLEET_OUTLIERS]
    plots = fleet_plots.save_fleet_plots(bundles, fleet_dir) if with_plots else []
    (fleet_dir / FLEET_REPORT).write_text(render(report, plots))
    report.files = [*files, *plots, fleet_dir / FLEET_REPORT]
    return report
