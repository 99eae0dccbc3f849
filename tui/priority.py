"""The UI thread's priority: keys are answered first when every core is busy (issue 12).

Linux gives each thread its own nice, and a thread or process inherits the nice of the thread
that started it. So the UI thread alone is raised (nice -10, where permitted), and the thread
workers that start the engine go back to nice 0 first: the engine's threads and the stressors
they start (which set their own absolute nice anyway) never inherit the UI's priority.
"""

from __future__ import annotations

import contextlib
import os
import threading

from core.telemetry.sampler import SAMPLER_NICE, raise_thread_priority


def raise_ui_thread() -> str:
    """Nice -10 for the calling (UI) thread only, where permitted; what it got."""
    return raise_thread_priority(real_time=False)


def normal_priority() -> None:
    """Nice 0 for the calling thread (a worker the UI thread started); never raises."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 0)


def raise_thread(native_id: int) -> None:
    """The UI thread's nice for another thread of this process that serves the UI (the
    terminal's reader and writer), where permitted; never raises."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, native_id, SAMPLER_NICE)
