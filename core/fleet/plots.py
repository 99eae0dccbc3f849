"""One metric across the fleet: every host's series on the run clock, events shaded."""

from __future__ import annotations

from pathlib import Path

from core.analysis.plots import STRESSOR_COLORS, event_spans, have_matplotlib
from core.rundir.read import RunBundle

FLEET_PLOT_METRICS = ("cpu_percent", "mem_used_bytes", "load_1m")


def save_fleet_plots(bundles: dict[str, RunBundle], out: Path) -> list[Path]:
    """`fleet_<metric>.png` per metric every host has; nothing without matplotlib."""
    if not have_matplotlib() or not bundles:
        return []
    from matplotlib.figure import Figure

    paths: list[Path] = []
    first = next(iter(bundles.values()))
    for metric in FLEET_PLOT_METRICS:
        if not all(metric in b.dataset.columns for b in bundles.values()):
            continue
        fig = Figure(figsize=(10, 4), dpi=100)
        ax = fig.subplots()
        for start, end, kind in event_spans(first.events):
            ax.axvspan(start, end, color=STRESSOR_COLORS.get(kind, "#888888"), alpha=0.12)
        for host, bundle in bundles.items():
            data = bundle.dataset
            ax.plot(data["elapsed_s"], data[metric], label=host, linewidth=1.2)
        ax.set_xlabel("elapsed_s (run clock)")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} across the fleet ({len(bundles)} hosts; events of {first.name})")
        ax.legend(loc="upper right", fontsize="small")
        fig.tight_layout()
        path = out / f"fleet_{metric}.png"
        fig.savefig(path)
        paths.append(path)
    return paths
