"""One time axis for every graph: `width` columns over the last `n` samples.

Column `c` covers samples `[c * n / width, (c + 1) * n / width)`, so graphs of
the same width line up with the event strip under them, the newest sample at
the right edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def buckets(items: Sequence[T], width: int) -> list[Sequence[T]]:
    """Split `items` into at most `width` consecutive buckets, right-aligned.

    With fewer items than columns, each item gets one column and the left
    columns are empty buckets (so the graph grows from the right).
    """
    if width <= 0:
        return []
    n = len(items)
    if n <= width:
        return [()] * (width - n) + [items[i : i + 1] for i in range(n)]
    return [items[c * n // width : (c + 1) * n // width] for c in range(width)]
