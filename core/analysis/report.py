"""The Markdown report (`analysis/report.md`): quality first, then responses, EDA, plots."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from core.analysis.probes import probe_section
from core.analysis.responses import param_text
from core.analysis.result import AnalysisResult


def fmt(value: Any) -> str:
    """A table cell: empty for NaN/None, 4 significant digits for floats."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.4g}"
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def md_table(frame: pd.DataFrame, limit: int | None = None) -> str:
    if frame.empty:
        return "_(none)_\n"
    shown = frame if limit is None else frame.head(limit)
    head = "| " + " | ".join(str(c) for c in shown.columns) + " |"
    rule = "|" + "|".join("---" for _ in shown.columns) + "|"
    body = [
        "| " + " | ".join(fmt(v).replace("|", "\\|") for v in row) + " |"
        for row in shown.itertuples(index=False)
    ]
    more = (
        [f"\n_{len(frame) - len(shown)} more rows in the CSV._"] if len(shown) < len(frame) else []
    )
    return "\n".join([head, rule, *body, *more]) + "\n"


RESPONSE_VIEW = [
    "event_id",
    "stressor",
    "param",
    "metric",
    "baseline",
    "level",
    "change",
    "peak",
    "onset_lag_s",
    "rise_time_s",
    "recovery_time_s",
]


def response_view(responses: pd.DataFrame) -> pd.DataFrame:
    """The detectable responses, with readable parameters."""
    shown = responses.loc[responses["detectable"]].copy()
    shown["param"] = shown["params"].map(param_text)
    return shown[RESPONSE_VIEW]


def render_markdown(result: AnalysisResult) -> str:
    b = result.bundle
    q = result.quality
    out: list[str] = [f"# Analysis of run `{b.name}`\n"]
    info = [
        ("profile", b.profile),
        ("host", b.host),
        ("status", str(b.manifest.get("status", ""))),
        ("interval", f"{b.interval_s:g} s"),
        ("samples", str(q.samples)),
        ("events", str(q.events)),
    ]
    out.append(md_table(pd.DataFrame(info, columns=["", "value"])))
    out.append("## Data quality\n")
    out.append(md_table(pd.DataFrame(q.summary_rows(), columns=["check", "result"])))
    if q.problems:
        out.append("Findings:\n")
        out.extend(f"- {p}" for p in q.problems)
        out.append("")
    else:
        out.append("No problems found.\n")
    out.append("## Responses to events\n")
    out.append(
        "One row per event and metric in `responses.csv` (all metrics, empty cells where a "
        "measure cannot be made); below only the detectable changes. Times in seconds.\n"
    )
    out.append(md_table(response_view(result.responses), limit=200))
    out.extend(probe_section(result.responses, b.manifest))
    out.append("## Per stressor and parameter\n")
    agg = result.aggregate
    if not agg.empty:
        agg = agg.loc[agg["detected"] > 0].drop(columns=["params"])
    out.append(md_table(agg, limit=200))
    if result.fidelity is not None:
        out.append("## Twin fidelity (prediction.csv)\n")
        out.append("Bias is predicted minus measured.\n")
        out.append(md_table(result.fidelity))
    out.append("## Summary statistics\n")
    out.append(md_table(result.summary))
    out.append("## Correlations\n")
    out.append("Strongest pairs (Pearson r; full matrix in `correlation.csv`):\n")
    out.append(md_table(result.pairs))
    pngs = [p for p in result.plots if p.suffix == ".png"]
    out.append("## Plots\n")
    if pngs:
        out.extend(f"![{p.stem}]({p.name})\n" for p in pngs)
    else:
        out.append("PNG plots need matplotlib (`pip install matplotlib`); text plots:\n")
    out.extend(f"- [{p.name}]({p.name})" for p in result.plots if p.suffix == ".txt")
    out.append("")
    return "\n".join(out)
