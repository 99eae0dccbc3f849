"""One dashboard graph: its label, a sparkline, and the current value with its unit.

A graph taller than one row also shows its scale under the value: `top 100%` for a percentage,
the peak in view for a rate (the sparkline's top).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Label

from tui.data.metrics import MetricSpec, limit_text
from tui.widgets.metric_sparkline import MetricSparkline
from tui.widgets.value_text import ValueText


class MetricRow(Widget):
    """`CPU ▁▂▅█▇▃  42.0%`: a label, a `MetricSparkline` and a value."""

    DEFAULT_CSS = """
    MetricRow {
        layout: horizontal;
        height: 1;
        width: 1fr;
    }
    MetricRow.-cpu .metric-label {
        text-style: bold;
    }
    MetricRow.-core .metric-label {
        color: $text-muted;
    }
    MetricRow.-folded {
        display: none;
    }
    MetricRow.-cpu .metric-spark > .sparkline--max-color,
    MetricRow.-core .metric-spark > .sparkline--max-color {
        color: $error;
    }
    MetricRow.-mem .metric-spark > .sparkline--max-color {
        color: $secondary;
    }
    MetricRow.-disk .metric-spark > .sparkline--max-color {
        color: $warning;
    }
    MetricRow.-net .metric-spark > .sparkline--max-color {
        color: $accent;
    }
    MetricRow.-probe .metric-spark > .sparkline--max-color {
        color: $error;
    }
    MetricRow .metric-value.-beyond {
        color: $error;
        text-style: bold;
    }
    """

    def __init__(self, spec: MetricSpec, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=f"metric -{spec.group}")
        self.spec = spec
        self.rows = 1
        """Its height in rows, as the dashboard's plan (`tui.data.graph_layout`) gave it."""
        self.ever_nonzero = False
        self._spark = MetricSparkline([], classes="metric-spark")
        self._spark.ceiling = spec.ceiling
        self._spark.floor = spec.floor
        self._value = ValueText("", classes="metric-value")

    def compose(self) -> ComposeResult:
        yield Label(self.spec.label, classes="metric-label")
        yield self._spark
        yield self._value

    @property
    def graph_width(self) -> int:
        return self._spark.size.width

    def set_rows(self, rows: int) -> None:
        """Be `rows` tall (0: hidden, a folded core); the graph and the value column follow."""
        if rows == self.rows and self.styles.height is not None:
            return
        self.rows = rows
        for widget in (self, self._spark, self._value):
            widget.styles.height = max(1, rows)
        self.set_class(rows == 0, "-folded")

    def scale_text(self) -> str:
        """`top 100%` / `top 12.0MiB/s`: the value at the top of this graph."""
        return f"top {self.spec.fmt(self._spark.top).strip()}"

    def show(
        self,
        data: Sequence[float],
        latest: Mapping[str, float] | None,
        predicted: float | None = None,
        cursor: int | None = None,
    ) -> None:
        """Plot `data` (the whole window) and show `latest` (the newest or the cursor's values).

        `cursor`: the column of the replay's time cursor, None when live."""
        self._spark.cursor = cursor
        self._spark.data = data
        lines = self._value_lines(latest, predicted)
        if self.rows > 1:
            lines.append(self.scale_text())
        else:
            lines = [" ".join(lines)]
        self._value.text = "\n".join(lines[: max(1, self.rows)])
        self._value.set_class(latest is not None and self.spec.breaks(latest), "-beyond")
        if self.spec.hide_when_zero:
            self.ever_nonzero = self.ever_nonzero or any(v > 0 for v in data)
            self.display = self.ever_nonzero

    def _value_lines(
        self, latest: Mapping[str, float] | None, predicted: float | None
    ) -> list[str]:
        """The value with its detail, then a probe's tolerance (one line each when tall)."""
        if latest is None or self.spec.key not in latest:
            text = "-"
        else:
            value = latest[self.spec.key]
            text = self.spec.fmt(value)
            if predicted is not None:  # instead of the detail: the value column stays narrow
                text = f"{text} (pred {self.spec.fmt(predicted).strip()})"
            elif self.spec.detail is not None:
                text = f"{text} {self.spec.detail(latest)}"
        errors = self.spec.errors
        if errors is not None and latest is not None and errors.column in latest:
            text = f"{text} {latest[errors.column]:.0f}err"
        limit = limit_text(self.spec)
        return [text, limit] if limit else [text]
