"""What the model predicts for the edited plan: `ModalScreen[None]`, esc closes."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.data.prediction import Forecast
from tui.data.units import fmt_number


class PredictionDialog(ModalScreen[None]):
    """Per-metric predicted peak and mean, then every overload and host warning."""

    DEFAULT_CSS = """
    #prediction-body {
        height: auto;
        max-height: 18;
    }
    #prediction-warnings {
        margin-top: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,p", "close", "Close"),
    ]

    def __init__(self, forecast: Forecast) -> None:
        super().__init__(classes="dialog-screen")
        self.forecast = forecast

    def compose(self) -> ComposeResult:
        f = self.forecast
        with Vertical(classes="dialog prediction-dialog"):
            yield Label(
                f"Predicted: {f.name} ({fmt_number(f.total_s)} s); esc closes",
                classes="dialog-question",
            )
            with VerticalScroll(id="prediction-body"):
                yield Static(self._metrics_table(), id="prediction-metrics")
                yield Static(self._warnings_text(), id="prediction-warnings")

    def _metrics_table(self) -> Table:
        table = Table(box=None, pad_edge=False, expand=False, show_edge=False)
        table.add_column("metric")
        table.add_column("peak", justify="right")
        table.add_column("mean", justify="right")
        for m in self.forecast.metrics:
            table.add_row(m.label, m.peak, m.mean)
        return table

    def _warnings_text(self) -> Text:
        text = Text()
        if not self.forecast.warnings:
            text.append("✓ ", "bold green")
            text.append("no overload predicted", "green")
            return text
        for i, warning in enumerate(self.forecast.warnings):
            if i:
                text.append("\n")
            text.append("! ", "bold yellow")
            text.append(warning)
        return text

    def on_mount(self) -> None:
        self.query_one("#prediction-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
