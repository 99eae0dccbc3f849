"""The report's probe section: how well the node served during each event, and deviations.

One line per probe and event from the event-aligned responses of its p99 column
("api p99 2.1 → 38 ms during e02"), then the run's steady-state verdict and each deviation
from `run.json`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

_P99 = re.compile(r"^probe_([a-z][a-z0-9_]*)_p99_ms$")


def _ms(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    return f"{value:.2g}" if abs(value) < 10 else f"{value:.0f}"


def probe_lines(responses: pd.DataFrame) -> list[str]:
    """`api p99 2.1 → 38 ms during e02` for every probe and event (`?`: not measurable)."""
    if responses.empty:
        return []
    lines = []
    for row in responses.itertuples(index=False):
        match = _P99.match(str(row.metric))
        if match is None:
            continue
        seen = " (a detectable change)" if bool(row.detectable) else ""
        lines.append(
            f"{match.group(1)} p99 {_ms(row.baseline)} → {_ms(row.level)} ms during "
            f"{row.event_id} ({row.stressor}){seen}"
        )
    return lines


def deviation_lines(manifest: Mapping[str, Any]) -> list[str]:
    """The steady-state verdict and one line per deviation (empty when the run has none)."""
    state = manifest.get("steady_state")
    if not isinstance(state, dict):
        return []
    lines = [f"Steady-state hypothesis: **{state.get('verdict', 'not-checked')}**."]
    for d in state.get("deviations", []):
        limit = ", ".join(f"{k} {v:g}" for k, v in d.get("limit", {}).items())
        events = ";".join(d.get("active_events", [])) or "no event"
        lines.append(
            f"- {d.get('elapsed_s', 0):.1f} s: `{d.get('column')}` = {d.get('value'):.4g} "
            f"(limit {limit}; worst {d.get('worst', d.get('value')):.4g} over "
            f"{d.get('samples', 1)} samples) during {events}"
        )
    if state.get("deviations_not_listed"):
        lines.append(f"- and {state['deviations_not_listed']} more, not listed")
    return lines


def probe_section(responses: pd.DataFrame, manifest: Mapping[str, Any]) -> list[str]:
    """The Markdown section, or nothing for a run without probes or a hypothesis."""
    probes, deviations = probe_lines(responses), deviation_lines(manifest)
    if not probes and not deviations:
        return []
    out = ["## Probes and the steady state\n"]
    if probes:
        out.append(
            "Each probe's p99 (ms, per sampling interval): the quiet baseline before the event "
            "→ the event's level (mean of its second half), as in `responses.csv`.\n"
        )
        out.extend(f"- {line}" for line in probes)
        out.append("")
    out.extend(deviations)
    out.append("")
    return out
