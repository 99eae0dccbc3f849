"""The terminal driver: Textual's Linux driver, with an input thread that sleeps until a key.

Textual's input thread wakes every 0.1 s to look for keys and for its stop flag: ten wake-ups
a second on an idle dashboard, about a fifth of the TUI's idle CPU (issue 19). Here it blocks
until input arrives, or until the escape-sequence parser's own timeout (a lone `esc` is told
from the start of a sequence by waiting a little), or until it is told to stop: its stop flag
also writes to a pipe the thread listens on. Everything else is Textual's driver.

Its two threads (`textual-input`, `textual-output`, named for `ps -L` too) run at the UI
thread's priority: a key in and a frame out are the UI's path (issue 13).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
from codecs import getincrementaldecoder
from pathlib import Path
from typing import Any

from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

from tui.priority import raise_thread

IDLE_WAIT_S = 60.0
"""The longest the input thread sleeps with nothing to wait for (a safety net, not a poll)."""


class WakingEvent(threading.Event):
    """A `threading.Event` whose `set` also writes a byte to `wake_fd` (wakes a selector)."""

    def __init__(self, wake_fd: int) -> None:
        super().__init__()
        self.wake_fd = wake_fd

    def set(self) -> None:
        super().set()
        if self.wake_fd >= 0:
            with contextlib.suppress(OSError):  # a full pipe is awake already
                os.write(self.wake_fd, b"x")


def name_thread(native_id: int, name: str) -> None:
    """Give a thread of this process `name` as the kernel shows it (`ps -L`); best effort."""
    with contextlib.suppress(OSError):
        Path(f"/proc/self/task/{native_id}/comm").write_text(name[:15])


def wait_for_parser(parser: XTermParser) -> float:
    """How long the input thread may sleep: until the parser's escape timeout, if it has one."""
    deadline = getattr(parser, "_timeout_time", 0.0)  # Textual's parser; 0: poll as it does
    if deadline is None:
        return IDLE_WAIT_S
    if not isinstance(deadline, int | float) or deadline == 0.0:
        return 0.1
    return max(0.0, deadline - get_time())


class QuietLinuxDriver(LinuxDriver):
    """`LinuxDriver` whose input thread sleeps until a key, a parser timeout or a stop."""

    def __init__(self, app: Any, **options: Any) -> None:
        super().__init__(app, **options)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self.exit_event: WakingEvent = WakingEvent(self._wake_write)

    def start_application_mode(self) -> None:
        """Textual's start; then its terminal threads get names and the UI thread's priority
        (keys in and frames out are the UI's path: under load they must not wait at nice 0)."""
        super().start_application_mode()
        for thread in (self._key_thread, self._writer_thread):
            if thread is not None and thread.native_id is not None:
                name_thread(thread.native_id, thread.name)
                raise_thread(thread.native_id)

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self._wake_read, 512):
                pass

    def run_input_thread(self) -> None:
        """Textual's input loop, waiting on the terminal and the wake pipe instead of polling."""
        selector = selectors.DefaultSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(self._wake_read, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode

        def process(events: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            for key, mask in events:
                if key.fd == self._wake_read:
                    self._drain_wake()
                    continue
                if mask & selectors.EVENT_READ:
                    data = decode(os.read(self.fileno, 1024 * 4), final=final)
                    if not data:  # stdin piped and at its end
                        break
                    for event in parser.feed(data):
                        self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process(selector.select(wait_for_parser(parser)))
            process(selector.select(0), final=True)  # what was typed before the stop
        finally:
            selector.close()
            with contextlib.suppress(EOFError, ParseError):
                for _event in parser.feed(""):
                    pass

    def close(self) -> None:
        super().close()
        self.exit_event.wake_fd = -1  # never a write to a number the system gives out again
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)
