"""`--metrics-port`: a Prometheus `/metrics` endpoint, built on prometheus-client.

The engine's callbacks only swap references (the latest sample, a copy-on-write event table),
so a slow or stuck scraper can never block or delay the sampler. A scrape takes a `_View` of
those references and renders it on the serving thread with prometheus-client's exposition,
once per new view: a scrape of an unchanged sample costs only the HTTP. The text format is
served whenever the scraper accepts it (Prometheus does; it is the cheaper to render), the
OpenMetrics one to a scraper that accepts only that. The HTTP is `scrape_server`: HTTP/1.1
keep-alive, so Prometheus's one connection is served scrape after scrape by one thread.

Every gauge carries the timestamp of the sample it comes from, so what Prometheus stores
lines up with the dataset's rows to the millisecond, whatever the scrape interval.
"""

from __future__ import annotations

import functools
import re
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from prometheus_client.core import InfoMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.samples import Sample as ExpositionSample

from core.errors import BadInput
from core.live.scrape_server import ScrapeServer
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
_OPENMETRICS = "application/openmetrics-text"
_RENDERINGS_PER_VIEW = 4
"""Content types cached per view: Accept headers are the scraper's to choose, so bounded."""


def metric_name(column: str) -> str:
    """`server_twin_<column>`, with anything Prometheus does not allow in a name as `_`."""
    return f"{PREFIX}_{_NOT_NAME.sub('_', column)}"


def scrape_seconds(when: datetime) -> float:
    """The sample's time, whole milliseconds as in the dataset, as exposition seconds."""
    ms = (when - _EPOCH) // timedelta(milliseconds=1)
    return ms / 1000 + _TS_NUDGE_S


def prefer_text_format(accept: str | None) -> str:
    """The Accept header with the OpenMetrics choices dropped when the text format is also
    acceptable (as in Prometheus's own header), for prometheus-client's `choose_encoder`.

    Both render the same series; the text format costs about two thirds of the CPU of the
    OpenMetrics one per scrape, and the server may pick among the types a client accepts.
    A client that accepts only OpenMetrics still gets it.
    """
    if not accept:
        return ""
    ranges = [part for part in accept.split(",") if part.strip()]
    types = [part.split(";")[0].strip().lower() for part in ranges]
    if not {"text/plain", "text/*", "*/*"} & set(types):
        return accept
    return ",".join(r for r, t in zip(ranges, types, strict=True) if t != _OPENMETRICS)


@functools.lru_cache(maxsize=16)  # a scraper sends the same Accept every time
def _encoder_for(accept: str | None) -> tuple[Callable[[Collector], bytes], str]:
    return choose_encoder(prefer_text_format(accept))


@dataclass(frozen=True)
class _Latest:
    values: Mapping[str, float]
    active: frozenset[str]
    timestamp: float | None


@dataclass(frozen=True)
class _EventInfo:
    stressor: str
    label: str


@dataclass(frozen=True)
class _View:
    """Everything one scrape shows; equal views render to the same bytes (the cache key)."""

    run: str
    profile: str
    host: str
    latest: _Latest | None
    events: Mapping[str, _EventInfo]


class MetricsEndpoint(RunListener):
    """The latest sample as Prometheus gauges; attach it to a run as its listener."""

    def __init__(self, run: str, profile: str, host: str | None = None) -> None:
        self.run = run
        self.profile = profile
        self.host = host or socket.gethostname()
        self._latest: _Latest | None = None
        self._events: dict[str, _EventInfo] = {}
        self._rendered: tuple[_View, dict[str, bytes]] | None = None
        self._names: dict[str, tuple[str, str]] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        """What a scrape shows now, for anyone who wants the families (bench, tests)."""
        self.registry.register(_LiveCollector(self))
        self._server: ScrapeServer | None = None
        self.address = ""

    # ---- serving -----------------------------------------------------------------
    def serve(self, port: int, host: str = DEFAULT_HOST) -> None:
        """Listen on host:port now; a port in use (or a bad host) is bad input."""
        if not 0 <= port <= 65535:
            raise BadInput(f"--metrics-port {port}: not a TCP port (0 to 65535)")
        try:
            server = ScrapeServer(host, port, self.render)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            message = f"--metrics-port {port}: cannot listen on {host}:{port}: {reason}"
            raise BadInput(message) from None
        server.start()
        self._server = server
        self.address = f"{host}:{server.server_port}"

    def close(self) -> None:
        """Stop serving and hang up every scraper's connection (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def render(self, accept: str | None, query: str = "") -> tuple[bytes, str]:
        """The body and Content-Type of one scrape (on the serving thread, never the sampler's).

        Rendered once per view and content type; concurrent scrapers may both render a new
        view, which only costs the second one's CPU (the bytes are the same).
        """
        view = self.view()
        encoder, content_type = _encoder_for(accept)
        names = parse_qs(query).get("name[]") if query else None
        if names:  # `?name[]=`, prometheus-client's filter: rare, not cached; it finds the
            restricted = CollectorRegistry(auto_describe=True)  # names by describing the view
            restricted.register(_ViewCollector(view, self._names))
            return encoder(restricted.restricted_registry(names)), content_type
        cached = self._rendered
        if cached is not None and cached[0] == view and content_type in cached[1]:
            return cached[1][content_type], content_type
        body = encoder(_ViewCollector(view, self._names))
        renderings = cached[1] if cached is not None and cached[0] == view else {}
        if len(renderings) < _RENDERINGS_PER_VIEW:
            self._rendered = (view, {**renderings, content_type: body})  # one reference swap
        return body, content_type

    def view(self) -> _View:
        return _View(self.run, self.profile, self.host, self._latest, self._events)

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


class _ViewCollector(Collector):
    """The families of one view, built with as few objects as prometheus-client allows."""

    def __init__(self, view: _View, names: dict[str, tuple[str, str]]) -> None:
        self.view = view
        self.names = names
        """column -> (metric name, help): computed once per column, not per scrape."""

    def collect(self) -> Iterator[Metric]:
        view, latest = self.view, self.view.latest
        yield InfoMetricFamily(
            f"{PREFIX}_run",
            "The run twin is serving (always 1)",
            value={"run": view.run, "profile": view.profile, "host": view.host},
        )
        if latest is None:
            return
        run = {"host": view.host, "run": view.run}  # as the OpenMetrics export labels its series
        stamp = latest.timestamp
        for column, value in latest.values.items():
            name, documentation = self.names.get(column) or self._name(column)
            gauge = Metric(name, documentation, "gauge")
            gauge.samples.append(ExpositionSample(name, run, value, stamp))  # labels shared:
            yield gauge  # the exposition only reads them
        active = Metric(
            f"{PREFIX}_event_active",
            "1 while the stress event runs (the sample names it), else 0",
            "gauge",
        )
        for event_id, info in view.events.items():
            running = 1.0 if event_id in latest.active else 0.0
            labels = {**run, "event": event_id, "stressor": info.stressor, "label": info.label}
            active.samples.append(ExpositionSample(active.name, labels, running, stamp))
        yield active

    def _name(self, column: str) -> tuple[str, str]:
        named = (metric_name(column), f"{column}: see `twin columns` for its unit and meaning")
        self.names[column] = named  # a racing scraper stores the same tuple
        return named


class _LiveCollector(Collector):
    """The endpoint's current view, collected afresh each time (`MetricsEndpoint.registry`)."""

    def __init__(self, endpoint: MetricsEndpoint) -> None:
        self.endpoint = endpoint

    def collect(self) -> Iterator[Metric]:
        return _ViewCollector(self.endpoint.view(), self.endpoint._names).collect()
