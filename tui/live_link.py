"""`--metrics-port` and `--influx` in the TUI: the engine's live outputs (`core.live`) on
every session the app runs.

`twin --batch` has one run, so one `LiveOutputs`. The TUI runs a live session, then recorded
runs, then live again: `LiveLink` keeps one `/metrics` endpoint for the app's whole life
(bound before the screen opens: a port in use is one line, exit 2), relabelled with each
run (`run` is the run directory's name while recording, `live` otherwise), and streams each
recorded run to InfluxDB through its own `LiveOutputs` (what `--batch` streams: recorded rows
only), flushed when that run ends. No Textual here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.live.metrics_endpoint import MetricsEndpoint
from core.live.outputs import LiveOptions, LiveOutputs
from core.runner import EventState, ExperimentRun, RunResult
from core.schedule import Schedule
from core.telemetry.sampler import Sample
from tui.session import SessionListener

LIVE_RUN = "live"
"""The `run` label of the samples no run directory holds."""


class LiveLink(SessionListener):
    """The live outputs, across every session of the app."""

    def __init__(self, options: LiveOptions, log: Callable[[str], None]) -> None:
        self.options = options
        self.log = log
        """Where a line for the operator goes (the app notifies while it runs)."""
        self.endpoint: MetricsEndpoint | None = None
        self._stream: LiveOutputs | None = None

    def open(self) -> None:
        """Bind the metrics port now (BadInput when in use): before the app starts."""
        if self.options.metrics_port is None:
            return
        self.endpoint = MetricsEndpoint(run=LIVE_RUN, profile=LIVE_RUN)
        self.endpoint.serve(self.options.metrics_port, self.options.metrics_host)
        self.log(f"twin: metrics on http://{self.endpoint.address}/metrics")

    def run_started(self, run: ExperimentRun, schedule: Schedule, run_dir: Path | None) -> None:
        if self.endpoint is not None:
            self.endpoint.run = run_dir.name if run_dir is not None else LIVE_RUN
            self.endpoint.profile = schedule.name
            self.endpoint.add_events(schedule.events)
        self._close_stream()
        if self.options.influx is not None and run_dir is not None:
            stream = LiveOutputs(LiveOptions(influx=self.options.influx), schedule, self.log)
            stream.attach(run, run_dir)
            self._stream = stream

    def on_sample(self, sample: Sample) -> None:
        if self.endpoint is not None:
            self.endpoint.on_sample(sample)
        if self._stream is not None:
            self._stream.on_sample(sample)

    def on_event(self, state: EventState) -> None:
        if self.endpoint is not None:
            self.endpoint.on_event(state)
        if self._stream is not None:
            self._stream.on_event(state)

    def on_finish(self, result: RunResult) -> None:
        """The run ended: its stream sends what is left (the endpoint keeps serving)."""
        if self._stream is not None:
            self._stream.on_finish(result)
        self._close_stream()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    def close(self) -> None:
        """After the app: the last points go out, /metrics stops (idempotent)."""
        self._close_stream()
        if self.endpoint is not None:
            self.endpoint.close()
