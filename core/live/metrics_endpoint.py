"""`--metrics-port`: a Prometheus `/metrics` endpoint, built on prometheus-client.

A custom `Collector` on a registry of our own builds the families from the latest sample
at each scrape; prometheus-client's own HTTP server serves them on a daemon thread. The
engine's callbacks only swap references (the latest sample, a copy-on-write event table),
so a slow or stuck scraper can never block or delay the sampler.

Every gauge carries the timestamp of the sample it comes from, so what Prometheus stores
lines up with the dataset's rows to the millisecond, whatever the scrape interval.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from core.errors import BadInput
from core.runner import EventState, RunListener
from core.schedule import Event
from core.telemetry.sampler import Sample

# The OpenMetrics export's names (core.analysis.export.MEASUREMENT; a test keeps them equal;
# importing it here would load pandas into every run that serves metrics).
PREFIX = "server_twin"
DEFAULT_HOST = "127.0.0.1"
# prometheus-client writes a timestamp as int(seconds * 1000): a tenth of a millisecond more
# keeps float rounding from ever turning 12.345 s into 12.344 s.
_TS_NUDGE_S = 1e-4
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_]")


def metric_name(column: str) -> str:
    """`server_twin_<column>`, with anything Prometheus does not allow in a name as `_`."""
    return f"{PREFIX}_{_NOT_NAME.sub('_', column)}"


def scrape_seconds(when: datetime) -> float:
    """The sample's time, whole milliseconds as in the dataset, as exposition seconds."""
    ms = (when - _EPOCH) // timedelta(milliseconds=1)
    return ms / 1000 + _TS_NUDGE_S


@dataclass(frozen=True)
class _Latest:
    values: Mapping[str, float]
    active: frozenset[str]
    timestamp: float | None


@dataclass(frozen=True)
class _EventInfo:
    stressor: str
    label: str


class MetricsEndpoint(RunListener):
    """The latest sample as Prometheus gauges; attach it to a run as its listener."""

    def __init__(self, run: str, profile: str, host: str | None = None) -> None:
        self.run = run
        self.profile = profile
        self.host = host or socket.gethostname()
        self._latest: _Latest | None = None
        self._events: dict[str, _EventInfo] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_TwinCollector(self))
        self._server: WSGIServer | None = None
        self.address = ""

    # ---- serving -----------------------------------------------------------------
    def serve(self, port: int, host: str = DEFAULT_HOST) -> None:
        """Listen on host:port now; a port in use (or a bad host) is bad input."""
        if not 0 <= port <= 65535:
            raise BadInput(f"--metrics-port {port}: not a TCP port (0 to 65535)")
        try:
            self._server, _thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            message = f"--metrics-port {port}: cannot listen on {host}:{port}: {reason}"
            raise BadInput(message) from None
        bound = self._server.server_address
        self.address = f"{host}:{bound[1]}"

    def close(self) -> None:
        """Stop serving (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ---- what is served ------------------------------------------------------------
    def publish(
        self, values: Mapping[str, float], active: Iterable[str], when: datetime | None
    ) -> None:
        """Make these the served values (one reference swap)."""
        stamp = scrape_seconds(when) if when is not None else None
        self._latest = _Latest(dict(values), frozenset(active), stamp)

    def add_event(self, event_id: str, stressor: str, label: str) -> None:
        """Serve `event_active` for this event from now on (0 until a sample names it)."""
        self._events = {**self._events, event_id: _EventInfo(stressor, label)}

    def add_events(self, events: Iterable[Event]) -> None:
        for event in events:
            self.add_event(event.id, event.stressor, event.label)

    # ---- the engine's callbacks ----------------------------------------------------
    def on_sample(self, sample: Sample) -> None:
        values = {"elapsed_s": sample.elapsed_s, **sample.values}
        self.publish(values, sample.active_events, sample.timestamp)

    def on_event(self, state: EventState) -> None:
        event = state.event
        if event.id not in self._events:  # ad-hoc events appear as they start
            self.add_event(event.id, event.stressor, event.label)


class _TwinCollector(Collector):
    """Builds the families at scrape time from what the endpoint last stored."""

    def __init__(self, endpoint: MetricsEndpoint) -> None:
        self.endpoint = endpoint

    def collect(self) -> Iterator[Metric]:
        endpoint = self.endpoint
        yield InfoMetricFamily(
            f"{PREFIX}_run",
            "The run twin is serving (always 1)",
            value={"run": endpoint.run, "profile": endpoint.profile, "host": endpoint.host},
        )
        latest, events = endpoint._latest, endpoint._events
        if latest is None:
            return
        run = [endpoint.host, endpoint.run]  # as the OpenMetrics export labels its series
        for column, value in latest.values.items():
            gauge = GaugeMetricFamily(
                metric_name(column),
                f"{column}: see `twin columns` for its unit and meaning",
                labels=["host", "run"],
            )
            gauge.add_metric(run, value, timestamp=latest.timestamp)
            yield gauge
        active = GaugeMetricFamily(
            f"{PREFIX}_event_active",
            "1 while the stress event runs (the sample names it), else 0",
            labels=["host", "run", "event", "stressor", "label"],
        )
        for event_id, info in events.items():
            running = 1.0 if event_id in latest.active else 0.0
            labels = [*run, event_id, info.stressor, info.label]
            active.add_metric(labels, running, latest.timestamp)
        yield active
