"""The live outputs of one run (`--metrics-port`, `--influx`), set up in the right order.

`open()` binds the metrics port before anything starts (a port in use is bad input, and no
run directory is left); `attach(run)` names the run once its directory exists and starts
the InfluxDB stream; `close()` sends what is left and stops serving.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from core.live.metrics_endpoint import DEFAULT_HOST, MetricsEndpoint
from core.live.target import InfluxTarget
from core.runner import EventState, ExperimentRun, RunListener, RunResult
from core.schedule import Schedule
from core.telemetry.sampler import Sample

if TYPE_CHECKING:
    from core.live.stream import InfluxStreamer


@dataclass(frozen=True)
class LiveOptions:
    """What the command line asked for; `None`s mean off."""

    metrics_port: int | None = None
    metrics_host: str = DEFAULT_HOST
    influx: InfluxTarget | None = None

    @property
    def enabled(self) -> bool:
        return self.metrics_port is not None or self.influx is not None


class LiveOutputs(RunListener):
    """One listener for a run that feeds the endpoint and the InfluxDB stream."""

    def __init__(
        self, options: LiveOptions, schedule: Schedule, log: Callable[[str], None]
    ) -> None:
        self.options = options
        self.schedule = schedule
        self.log = log
        self.endpoint: MetricsEndpoint | None = None
        self.streamer: InfluxStreamer | None = None
        if options.metrics_port is not None:
            self.endpoint = MetricsEndpoint(run=schedule.name, profile=schedule.name)
            self.endpoint.add_events(schedule.events)

    def open(self) -> None:
        """Bind the metrics port now (BadInput when it is in use)."""
        if self.endpoint is not None and self.options.metrics_port is not None:
            self.endpoint.serve(self.options.metrics_port, self.options.metrics_host)
            self.log(f"twin: metrics on http://{self.endpoint.address}/metrics")

    def attach(self, run: ExperimentRun, run_dir: Path | None) -> None:
        """The run's directory exists: name the run, start streaming if it records."""
        if self.endpoint is not None and run_dir is not None:
            self.endpoint.run = run_dir.name
        if self.options.influx is not None and run_dir is not None:
            from core.live.influx import InfluxClient  # pandas: only when streaming
            from core.live.stream import InfluxStreamer

            def wall_at(elapsed_s: float) -> datetime:
                assert run.clock is not None, "events only happen once the run started"
                return run.clock.wall_at(elapsed_s)

            self.streamer = InfluxStreamer(
                InfluxClient(self.options.influx), run_dir, self.schedule.events, wall_at, self.log
            )
            self.streamer.start()

    def close(self) -> None:
        """Flush the stream (after the run), stop serving; idempotent."""
        if self.streamer is not None:
            self.streamer.close()
            self.streamer = None
        if self.endpoint is not None:
            self.endpoint.close()

    def on_sample(self, sample: Sample) -> None:
        if self.endpoint is not None:
            self.endpoint.on_sample(sample)
        if self.streamer is not None:
            self.streamer.on_sample(sample)

    def on_event(self, state: EventState) -> None:
        if self.endpoint is not None:
            self.endpoint.on_event(state)
        if self.streamer is not None:
            self.streamer.on_event(state)

    def on_finish(self, result: RunResult) -> None:
        if self.streamer is not None:
            self.streamer.on_finish(result)
