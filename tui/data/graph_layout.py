"""How tall each dashboard graph is: the graph area's rows shared out, CPU total and memory first.

No Textual here: the dashboard and the replay ask `plan_heights` for a height per graph whenever
their size or the graphs shown change, so the graph area is filled to its last row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FIRST = frozenset({"cpu", "mem"})
"""The groups that grow first (CPU total, memory) and take whatever is left at the end."""
IO = frozenset({"disk", "net"})
ONE_ROW = frozenset({"core", "heat"})
"""Groups that stay one row: a core each (there may be many), the cores' heat row."""

STAGES: tuple[tuple[frozenset[str] | None, int | None], ...] = (
    (FIRST, 4),
    (IO, 2),
    (FIRST, 8),
    (None, 3),
    (FIRST, None),
)
"""(groups that grow, up to this height) in turn; None groups: every group; None height: no cap."""


@dataclass(frozen=True)
class GraphPlan:
    """The height of each graph, and whether the per-core graphs fold into one heat row."""

    heights: tuple[int, ...]
    cores_folded: bool


def fold_cores(groups: Sequence[str], available: int) -> bool:
    """Whether the per-core rows fold into one heat row: with a row each, not every graph fits."""
    return "core" in groups and sum(g != "heat" for g in groups) > available


def plan_heights(groups: Sequence[str], available: int) -> GraphPlan:
    """Share `available` rows among graphs of `groups` (in display order), every graph >= 1 row.

    `groups` has one `heat` entry (the cores' heat row) where there are `core` ones: folded, the
    `core` graphs get height 0 and the heat row 1; otherwise the heat row gets 0. Rows left over go first to CPU total and
    memory, then disk and network, then everyone, and at last CPU and memory again, so no row
    is left blank. With more graphs than rows every graph keeps one row (the area scrolls).
    """
    folded = fold_cores(groups, available)
    heights = [0 if folded and g == "core" else 1 for g in groups]
    if not folded:
        heights = [0 if g == "heat" else h for g, h in zip(groups, heights, strict=True)]
    spare = available - sum(heights)
    for grows, cap in STAGES:
        candidates = [
            i
            for i, g in enumerate(groups)
            if heights[i] > 0 and g not in ONE_ROW and (grows is None or g in grows)
        ]
        while spare > 0 and candidates:
            grown = False
            for i in candidates:
                if spare > 0 and (cap is None or heights[i] < cap):
                    heights[i] += 1
                    spare -= 1
                    grown = True
            if not grown:
                break
    return GraphPlan(tuple(heights), folded)
