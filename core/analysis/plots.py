"""Plots as files a person can open: PNG with matplotlib (when installed), text with plotext.

matplotlib is used through its object API (`Figure`), never `pyplot`, so there
is no global state and it is safe in a worker thread. Long series are reduced
to a min/max envelope per pixel column before drawing, so a 24 h run plots as
fast as a short one and keeps its peaks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotext

from core.rundir.read import RunBundle

GIB = 2.0**30
MIB = 2.0**20
STRESSOR_COLORS = {
    "cpu": "#e4572e",
    "memory": "#4c9f70",
    "disk": "#2e86ab",
    "network": "#a23b72",
}
# (title, [(column, legend)], divisor, unit)
PANELS: list[tuple[str, list[tuple[str, str]], float, str]] = [
    ("CPU", [("cpu_percent", "cpu"), ("cpu_iowait_percent", "iowait")], 1.0, "%"),
    ("Memory", [("mem_used_bytes", "used"), ("mem_available_bytes", "available")], GIB, "GiB"),
    ("Load", [("load_1m", "load 1m")], 1.0, "threads"),
    (
        "Disk",
        [("disk_read_bytes_per_s", "read"), ("disk_write_bytes_per_s", "write")],
        MIB,
        "MiB/s",
    ),
    ("Network", [("net_sent_bytes_per_s", "sent"), ("net_recv_bytes_per_s", "recv")], MIB, "MiB/s"),
    (
        "Pressure (PSI some)",
        [
            ("psi_cpu_some_percent", "cpu"),
            ("psi_memory_some_percent", "memory"),
            ("psi_io_some_percent", "io"),
        ],
        1.0,
        "%",
    ),
]


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def envelope(t: np.ndarray, y: np.ndarray, buckets: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    """Min/max per bucket (2 points each) when the series is longer than 2*buckets."""
    n = len(t)
    if n <= 2 * buckets:
        return t, y
    size = n // buckets
    cut = size * buckets
    tb = t[:cut].reshape(buckets, size)
    yb = y[:cut].reshape(buckets, size)
    with np.errstate(invalid="ignore"):
        lo = np.nanmin(np.where(np.isnan(yb), np.inf, yb), axis=1)
        hi = np.nanmax(np.where(np.isnan(yb), -np.inf, yb), axis=1)
    lo = np.where(np.isinf(lo), np.nan, lo)
    hi = np.where(np.isinf(hi), np.nan, hi)
    tt = np.repeat(tb[:, [0, -1]].mean(axis=1), 2)
    yy = np.column_stack([lo, hi]).ravel()
    return tt, yy


def save_all(bundle: RunBundle, out: Path, corr: pd.DataFrame, pairs: pd.DataFrame) -> list[Path]:
    """Write every plot into `out`; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [save_text_timeseries(bundle, out / "timeseries.txt")]
    if have_matplotlib():
        written.append(save_timeseries_png(bundle, out / "timeseries.png"))
        if corr.shape[0] >= 2:
            written.append(save_heatmap_png(corr, out / "correlation_heatmap.png"))
        if len(pairs):
            written.append(save_scatter_png(bundle, pairs, out / "scatter_pairs.png"))
    return written


def event_spans(events: pd.DataFrame) -> list[tuple[float, float, str]]:
    """(start_s, end_s, stressor) of every event that started."""
    ok = events.loc[events["start_s"].notna()]
    return list(
        zip(
            ok["start_s"].astype(float).tolist(),
            ok["end_s"].astype(float).tolist(),
            ok["stressor"].astype(str).tolist(),
            strict=True,
        )
    )


def _bands(ax: Any, events: pd.DataFrame) -> None:
    """Shade every event as one PolyCollection (hundreds of axvspans are slow)."""
    from matplotlib.collections import PolyCollection

    spans = event_spans(events)
    if not spans:
        return
    verts = [[(s, 0.0), (s, 1.0), (e, 1.0), (e, 0.0)] for s, e, _ in spans]
    colors = [STRESSOR_COLORS.get(k, "#888888") for _, _, k in spans]
    bands = PolyCollection(
        verts, facecolors=colors, alpha=0.15, linewidths=0, transform=ax.get_xaxis_transform()
    )
    ax.add_collection(bands, autolim=False)


def save_timeseries_png(bundle: RunBundle, path: Path) -> Path:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    data = bundle.dataset
    panels = [
        (title, [(c, lab) for c, lab in cols if c in data.columns], div, unit)
        for title, cols, div, unit in PANELS
    ]
    panels = [p for p in panels if p[1]]
    height = 1.9 * max(1, len(panels)) + 1.0
    fig = Figure(figsize=(12, height))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.6 / height, top=1 - 0.75 / height)
    axes = fig.subplots(max(1, len(panels)), 1, sharex=True, squeeze=False)[:, 0]
    t = data["elapsed_s"].to_numpy(dtype=float)
    for ax, (title, cols, div, unit) in zip(axes, panels, strict=False):
        _bands(ax, bundle.events)
        for col, legend in cols:
            tt, yy = envelope(t, data[col].to_numpy(dtype=float) / div, buckets=1000)
            ax.plot(tt, yy, lw=0.8, label=legend)
        ax.set_ylabel(f"{title}\n{unit}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    axes[-1].set_xlabel("elapsed s (run clock)")
    stressors = sorted(set(bundle.events["stressor"].astype(str)))
    if stressors:
        handles = [
            Patch(color=STRESSOR_COLORS.get(s, "#888888"), alpha=0.3, label=s) for s in stressors
        ]
        fig.legend(
            handles=handles,
            loc="upper center",
            ncols=len(handles),
            fontsize=8,
            bbox_to_anchor=(0.5, 1 - 0.32 / height),
        )
    fig.suptitle(f"{bundle.name}: main metrics, events shaded", fontsize=10, y=1 - 0.08 / height)
    fig.savefig(path, dpi=100)
    return path


def save_heatmap_png(corr: pd.DataFrame, path: Path) -> Path:
    from matplotlib.figure import Figure

    n = corr.shape[0]
    size = max(5.0, 0.45 * n + 2.5)
    fig = Figure(figsize=(size + 1.2, size))
    fig.subplots_adjust(left=0.3, right=0.95, bottom=0.3, top=0.93)
    ax = fig.subplots()
    im = ax.imshow(corr.to_numpy(dtype=float), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(n), [str(c) for c in corr.columns], rotation=90, fontsize=7)
    ax.set_yticks(range(n), [str(c) for c in corr.index], fontsize=7)
    if n <= 14:
        vals = corr.to_numpy(dtype=float)
        for i in range(n):
            for j in range(n):
                if np.isfinite(vals[i, j]):
                    ax.text(j, i, f"{vals[i, j]:.2f}", ha="center", va="center", fontsize=5)
    fig.colorbar(im, ax=ax, shrink=0.8, label="Pearson r")
    ax.set_title("Correlation of the metrics", fontsize=10)
    fig.savefig(path, dpi=100)
    return path


def save_scatter_png(bundle: RunBundle, pairs: pd.DataFrame, path: Path) -> Path:
    from matplotlib.figure import Figure

    data = bundle.dataset
    k = len(pairs)
    ncols = min(3, k)
    nrows = (k + ncols - 1) // ncols
    fig = Figure(figsize=(4.0 * ncols, 3.4 * nrows))
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.12, top=0.88, wspace=0.4, hspace=0.5)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    stride = max(1, len(data) // 5000)
    sample = data.iloc[::stride]
    active = sample["active_events"].astype(str).str.len().to_numpy() > 0
    triples = zip(
        pairs["a"].astype(str), pairs["b"].astype(str), pairs["r"].astype(float), strict=True
    )
    for ax, (col_a, col_b, r) in zip(axes, triples, strict=False):
        xs = sample[col_a].to_numpy(dtype=float)
        ys = sample[col_b].to_numpy(dtype=float)
        # plot() with markers only: much faster than scatter() for thousands of points
        ax.plot(xs[~active], ys[~active], ".", ms=2, alpha=0.4, c="#888888", label="quiet")
        ax.plot(xs[active], ys[active], ".", ms=2, alpha=0.5, c="#e4572e", label="event active")
        ax.set_xlabel(col_a, fontsize=7)
        ax.set_ylabel(col_b, fontsize=7)
        ax.set_title(f"r = {r:.2f}", fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in axes[k:]:
        ax.set_visible(False)
    axes[0].legend(fontsize=6, markerscale=4)
    fig.suptitle("Strongest correlated pairs", fontsize=10)
    fig.savefig(path, dpi=100)
    return path


def text_plot(bundle: RunBundle, metrics: list[str], width: int = 100, height: int = 20) -> str:
    """A plotext chart of `metrics` over time with event starts/ends marked."""
    data = bundle.dataset
    metrics = [m for m in metrics if m in data.columns]
    plotext.clf()
    plotext.plotsize(width, height)
    plotext.theme("clear")
    t = data["elapsed_s"].to_numpy(dtype=float)
    for metric in metrics:
        tt, yy = envelope(t, data[metric].to_numpy(dtype=float), buckets=max(50, width))
        ok = np.isfinite(yy)
        plotext.plot(tt[ok].tolist(), yy[ok].tolist(), label=metric, marker="braille")
    for start, end, _ in event_spans(bundle.events)[:60]:
        plotext.vline(start, "green")
        plotext.vline(end, "red")
    plotext.title(f"{bundle.name}: {', '.join(metrics)} (event start green, end red)")
    plotext.xlabel("elapsed s")
    text: str = plotext.build()
    plotext.clf()
    return text


def save_text_timeseries(bundle: RunBundle, path: Path) -> Path:
    parts = [text_plot(bundle, ["cpu_percent"])]
    if "mem_percent" in bundle.dataset.columns:
        parts.append(text_plot(bundle, ["mem_percent"]))
    if "load_1m" in bundle.dataset.columns:
        parts.append(text_plot(bundle, ["load_1m"]))
    path.write_text(plotext.uncolorize("\n\n".join(parts)) + "\n")
    return path
