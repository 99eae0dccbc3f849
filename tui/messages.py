"""Messages the engine's callbacks become (posted from engine threads with `post_message`).

`SamplesArrived` carries no data: the samples are already in the app's
`History`. It replaces an older one still queued, so a slow screen redraws
once for a burst of samples instead of queueing a redraw per sample.
"""

from __future__ import annotations

from textual.message import Message

from core.runner import EventState, RunResult


class SamplesArrived(Message):
    """New samples are in the history (of session `serial`)."""

    def __init__(self, serial: int) -> None:
        super().__init__()
        self.serial = serial

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SamplesArrived)


class EventChanged(Message, bubble=False):
    """A stress event started or ended.

    Does not bubble: the app forwards it to its screens, and a bubbling copy would
    come back up to the app, be forwarded again, and so on (a busy loop that kept
    the UI thread at 100% for as long as a stress event ran).
    """

    def __init__(self, serial: int, state: EventState) -> None:
        super().__init__()
        self.serial = serial
        self.state = state


class SessionFinished(Message):
    """An engine session (live or recorded) ended; its files are complete."""

    def __init__(self, serial: int, result: RunResult) -> None:
        super().__init__()
        self.serial = serial
        self.result = result
