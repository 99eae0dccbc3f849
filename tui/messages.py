"""The TUI's news, as Textual messages: what the engine did, what the operator asked for.

Engine news (`SamplesArrived`, `EventChanged`, `SessionStarted`, `SessionFinished`) is
posted by `tui.session.Session` from the engine's threads (`post_message` is thread-safe)
to every screen that subscribed, and to the app. It does not bubble: each subscriber gets
its own copy, and a bubbling copy would reach the app twice.

`SamplesArrived` carries no data (the samples are in the session's `History`) and replaces
an older one still queued, so a slow screen redraws once for a burst of samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.message import Message

from core.probes import Deviation, ProbeSpec, Tolerance
from core.runner import EventState, RunResult
from core.schedule import Schedule


@dataclass(frozen=True)
class SessionInfo:
    """What the UI shows about the engine session now running (live or recording)."""

    serial: int
    recording: bool
    name: str
    run_dir: Path | None
    total_s: float
    interval_s: float
    schedule: Schedule
    probes: tuple[ProbeSpec, ...] = ()
    """The recorded profile's `[[probes]]` (the dashboard draws a row for each)."""
    tolerances: tuple[Tolerance, ...] = ()
    """Its `[steady_state]` tolerances (a probe row marks its own)."""


@dataclass
class SamplesArrived(Message, bubble=False):
    """New samples are in the session's history (of session `serial`)."""

    serial: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SamplesArrived)


@dataclass
class EventChanged(Message, bubble=False):
    """A stress event of session `serial` started or ended."""

    serial: int
    state: EventState


@dataclass
class SessionStarted(Message, bubble=False):
    """An engine session (live or recorded) is running."""

    info: SessionInfo


@dataclass
class SessionFinished(Message, bubble=False):
    """An engine session (live or recorded) ended; its files are complete."""

    serial: int
    result: RunResult


@dataclass
class DeviationSeen(Message, bubble=False):
    """A column of session `serial` left its `[steady_state]` tolerance."""

    serial: int
    deviation: Deviation


@dataclass
class DraftEdited(Message):
    """The editor changed the draft in place (bubbles up to the app)."""
