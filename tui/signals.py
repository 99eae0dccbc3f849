"""SIGTERM and SIGHUP for the real program: stop the engine in order, then make sure we exit.

Plain `signal.signal` handlers, not the event loop's. When the terminal is gone (SSH
hang-up) the loop can be stuck for ever inside Textual, writing to it; a loop-level handler
would then never run. A plain handler runs in the main thread even there (lock waits are
interruptible), so the engine is always stopped in order, and a watchdog ends the process
if the UI cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
SIGNAL_EXIT_GRACE_S = 3.0


def install_stop_handlers(
    stop_engine: Callable[[str], None],
    tell_ui: Callable[[str], None],
    exit_code: Callable[[], int],
) -> None:
    """On a signal: `stop_engine(name)` in a thread, then exit with `exit_code()` at the latest
    `SIGNAL_EXIT_GRACE_S` later; `tell_ui(name)` on the running loop (the normal way out)."""
    loop = asyncio.get_running_loop()

    def stop_then_exit(name: str) -> None:
        stop_engine(name)
        time.sleep(SIGNAL_EXIT_GRACE_S)  # the UI normally exits well before this
        os._exit(exit_code())

    def handler(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        threading.Thread(
            target=stop_then_exit, args=(name,), name="twin-signal", daemon=True
        ).start()
        with contextlib.suppress(RuntimeError):  # the loop may be closed already
            loop.call_soon_threadsafe(tell_ui, name)

    for sig in HANDLED_SIGNALS:
        with contextlib.suppress(ValueError):  # not the main thread (some test drivers)
            signal.signal(sig, handler)
