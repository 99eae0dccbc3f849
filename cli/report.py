"""Terminal rendering of an analysis with Rich (tables) and plotext (charts).

Lives in `tui/` because `core/` never imports Rich; `twin analyze` imports it
lazily. Every function takes the plain result objects of `core.analysis`.
"""

from __future__ import annotations

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from core.analysis.compare import Comparison
from core.analysis.plots import text_plot
from core.analysis.report import fmt, response_view
from core.analysis.result import AnalysisResult


def frame_table(frame: pd.DataFrame, title: str, limit: int = 40) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", expand=False)
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col])
        table.add_column(str(col), justify="right" if numeric else "left", overflow="fold")
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*(fmt(v) for v in row))
    if len(frame) > limit:
        table.caption = f"{len(frame) - limit} more rows in the CSV"
    return table


UNITS = (("_bytes_per_s", 2.0**20, "M/s"), ("_bytes", 2.0**30, "G"), ("_percent", 1.0, "%"))
VALUE_COLS = ("baseline", "level", "change", "peak")


def human(value: object, metric: str) -> str:
    """A measured value with the metric's unit, scaled for reading (GiB, MiB/s, %)."""
    if not isinstance(value, float) or value != value:
        return fmt(value)
    for suffix, scale, unit in UNITS:
        if metric.endswith(suffix):
            scaled = value / scale
            return f"{scaled:.3g}{unit}" if abs(scaled) >= 0.01 else f"0{unit}"
    return f"{value:.3g}"


def short_metric(metric: str) -> str:
    """The metric's name without the unit suffix its values already show."""
    for suffix in ("_bytes_per_s", "_per_s", "_percent", "_bytes"):
        if metric.endswith(suffix):
            return metric.removesuffix(suffix)
    return metric


def seconds(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, float) and value == value else fmt(value)


def response_table(frame: pd.DataFrame, title: str, limit: int = 60) -> Table:
    """Responses with units; `frame` has event_id or stressor+param, metric and the measures.

    Sized for an 80-column terminal: names never wrap, units live in the values,
    and the per-event table leaves the parameters to the annotations.
    """
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        title_justify="left",
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    by_event = "event_id" in frame.columns
    table.add_column("event" if by_event else "param", no_wrap=True)
    table.add_column("metric", no_wrap=True)
    present = [c for c in VALUE_COLS if c in frame.columns]
    for col in present:
        table.add_column(col, justify="right", no_wrap=True)
    for head in ("onset", "rise", "recov"):
        table.add_column(head, justify="right", no_wrap=True)
    for rec in frame.head(limit).to_dict("records"):
        metric = str(rec["metric"])
        label = str(rec["event_id"]) if by_event else str(rec["param"])
        cells = [label, short_metric(metric)]
        cells += [human(rec[c], metric) for c in present]
        cells += [seconds(rec[c]) for c in ("onset_lag_s", "rise_time_s", "recovery_time_s")]
        table.add_row(*cells)
    if len(frame) > limit:
        table.caption = f"{len(frame) - limit} more rows in the CSV"
    return table


def fidelity_table(frame: pd.DataFrame) -> Table:
    """The twin's score per metric, in the metric's unit: MAE, bias and where it was worst."""
    table = Table(
        title="Twin fidelity (prediction.csv vs measured)",
        box=box.SIMPLE_HEAD,
        title_justify="left",
        pad_edge=False,
        collapse_padding=True,
    )
    for head in ("metric", "n", "MAE", "bias", "RMSE", "worst", "at s", "covered", "width"):
        table.add_column(head, justify="left" if head == "metric" else "right", no_wrap=True)

    def error(value: object, metric: str) -> str:
        """An error of a percentage is a difference in points, not a percentage."""
        if metric.endswith("_percent") and isinstance(value, float) and value == value:
            return f"{value:.3g} pts"
        return human(value, metric)

    for rec in frame.to_dict("records"):
        metric = str(rec["metric"])
        cover = rec.get("coverage")
        table.add_row(
            short_metric(metric),
            fmt(rec.get("n")),
            *(error(rec.get(c), metric) for c in ("mae", "bias", "rmse", "max_abs_error")),
            seconds(rec.get("max_error_at_s")),
            f"{cover:.0%}" if isinstance(cover, float) and cover == cover else "-",
            error(rec.get("mean_width", float("nan")), metric),
        )
    return table


def quality_table(result: AnalysisResult) -> Table:
    table = Table(title="Data quality", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("check")
    table.add_column("result")
    for check, value in result.quality.summary_rows():
        table.add_row(check, value)
    return table


def print_analysis(result: AnalysisResult, console: Console | None = None) -> None:
    con = console or Console()
    b = result.bundle
    con.rule(f"[bold]twin analyze[/] {b.name} · profile {b.profile or '?'} · host {b.host}")
    con.print(quality_table(result))
    for problem in result.quality.problems:
        con.print(f"  [yellow]![/] {problem}")
    if not result.quality.problems:
        con.print("  [green]no data quality problems[/]")
    view = response_view(result.responses)
    view = view.drop(columns=["stressor"]) if "param" in view.columns else view
    con.print(response_table(view, "Responses (detectable changes; all rows in responses.csv)"))
    agg = result.aggregate
    if not agg.empty:
        agg = agg.loc[agg["detected"] > 0]
        con.print(response_table(agg, "Mean response per stressor and parameter"))
    if result.fidelity is not None:
        con.print(fidelity_table(result.fidelity))
    if len(result.pairs):
        con.print(frame_table(result.pairs, "Strongest correlations"))
    width = max(60, min(con.width, 140))
    con.print(Text.from_ansi(text_plot(b, ["cpu_percent"], width=width, height=15)))
    if "mem_percent" in b.dataset.columns:
        con.print(Text.from_ansi(text_plot(b, ["mem_percent"], width=width, height=12)))
    con.print("[bold]files[/]")
    for path in result.files:
        con.print(f"  {path}")
    timing = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
    con.print(f"[dim]{timing}[/]")


def print_comparison(comparison: Comparison, console: Console | None = None) -> None:
    con = console or Console()
    con.rule(f"[bold]twin compare[/] {comparison.run_a} → {comparison.run_b}")
    for note in comparison.notes:
        con.print(f"  [yellow]![/] {note}")
    changed = comparison.changed
    cols = [
        "event_id",
        "stressor",
        "metric",
        "change_a",
        "change_b",
        "change_delta_percent",
        "onset_lag_s_delta",
        "rise_time_s_delta",
        "recovery_time_s_delta",
    ]
    if changed.empty:
        con.print("[green]no response changed beyond noise[/]")
    else:
        con.print(frame_table(changed[cols], f"{len(changed)} response(s) changed"))
