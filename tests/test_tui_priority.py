"""The UI thread alone runs at nice -10 (keys first under load); what it starts goes back to 0."""

from __future__ import annotations

import os
import threading

import pytest

from tui.priority import normal_priority, raise_ui_thread


def nice_of_this_thread() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_ui_thread_raised_and_its_workers_back_at_zero() -> None:
    seen: dict[str, object] = {}
    before = nice_of_this_thread()

    def worker() -> None:  # a thread worker the UI thread starts (as the engine's are)
        seen["inherited"] = nice_of_this_thread()
        normal_priority()
        seen["worker"] = nice_of_this_thread()

    def ui() -> None:  # a thread of its own: the test's thread keeps its nice
        seen["got"] = raise_ui_thread()
        seen["ui"] = nice_of_this_thread()
        child = threading.Thread(target=worker)
        child.start()
        child.join()

    thread = threading.Thread(target=ui)
    thread.start()
    thread.join()
    if seen["got"] != "nice -10":
        pytest.skip(f"raising a thread's priority is not permitted here ({seen['got']})")
    assert seen["ui"] == -10
    assert seen["inherited"] == -10  # why the workers must reset it
    assert seen["worker"] == 0
    assert nice_of_this_thread() == before  # per thread: the test's own is untouched
