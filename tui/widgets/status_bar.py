"""The one-line status bar: recording or not, run name, time, a steady-state deviation, the
events now running, run dir."""

from __future__ import annotations

from rich.text import Text
from textual.app import RenderResult
from textual.reactive import reactive
from textual.widget import Widget

from tui.data.status import RunStatus
from tui.data.units import human_duration

STATE_BADGE: dict[str, tuple[str, str]] = {
    "starting": ("… START", "bold black on grey70"),
    "live": ("○ LIVE", "bold black on green"),
    "preparing": ("… PREP", "bold black on yellow"),
    "recording": ("● REC", "bold white on red"),
    "stopping": ("■ STOP", "bold black on yellow"),
    "quitting": ("■ QUIT", "bold black on yellow"),
}


class StatusBar(Widget):
    """Always at the top of a screen; mirrors the app's `run_status`."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        width: 1fr;
        background: $panel;
    }
    """

    status: reactive[RunStatus] = reactive(RunStatus, layout=False)
    """The session state shown."""

    def on_mount(self) -> None:
        self.watch(self.app, "run_status", self._follow, init=True)

    def _follow(self, status: RunStatus) -> None:
        self.status = status

    def render(self) -> RenderResult:
        s = self.status
        badge, style = STATE_BADGE.get(s.state, (s.state.upper(), "reverse"))
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {badge} ", style)
        if s.recording:
            text.append(f" {s.name} ", "bold")
            text.append(f"{human_duration(s.elapsed_s)}/{human_duration(s.total_s)} ")
            if s.deviation:  # before the events: a narrow screen cuts the end of the line
                more = f" (+{s.deviations - 1})" if s.deviations > 1 else ""
                text.append(f"⚠ {s.deviation}{more}", "bold white on dark_red")
                text.append(" ")
            if s.events_now:
                text.append("▶ " + ", ".join(s.events_now) + " ", "bold yellow")
            else:
                text.append("▶ baseline ", "dim")
            if s.run_dir is not None:
                text.append(f"→ {s.run_dir}", "dim")
        else:
            text.append(f" {s.name or 'no profile'} ", "bold")
            text.append("not recording ", "dim")
            if s.events_now:
                text.append("▶ " + ", ".join(s.events_now) + " ", "bold yellow")
            if s.last_run is not None:
                text.append(f"last run → {s.last_run}", "dim")
        return text
