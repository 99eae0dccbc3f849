"""A run takes one listener; `FanOut` forwards each callback to several, in order."""

from __future__ import annotations

from collections.abc import Iterable

from core.probes import Deviation
from core.runner import EventState, RunListener, RunResult
from core.telemetry.sampler import Sample


class FanOut(RunListener):
    """Forward every engine callback to each listener, in the order given."""

    def __init__(self, listeners: Iterable[RunListener]) -> None:
        self.listeners = tuple(listeners)

    def on_sample(self, sample: Sample) -> None:
        for listener in self.listeners:
            listener.on_sample(sample)

    def on_event(self, state: EventState) -> None:
        for listener in self.listeners:
            listener.on_event(state)

    def on_finish(self, result: RunResult) -> None:
        for listener in self.listeners:
            listener.on_finish(result)

    def on_deviation(self, deviation: Deviation) -> None:
        for listener in self.listeners:
            listener.on_deviation(deviation)
