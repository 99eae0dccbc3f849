"""An idle engine session (the TUI's live dashboard) sleeps: its control thread wakes about once a
second, not ten times, yet a stressor launched then starts at once and is reaped when it ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from core.runner import ExperimentRun
from core.schedule import Schedule


def until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("never happened")


def status(run: ExperimentRun, event_id: str) -> str:
    state = run.states.get(event_id)
    return state.status if state is not None else "not served yet"


def test_idle_control_thread_sleeps_and_still_serves_a_launch(tmp_path: Path) -> None:
    schedule = Schedule(name="live", mode="parallel", events=(), total_s=0, interval_s=0.5)
    run = ExperimentRun(schedule, None, record=False)  # the real sampler and stressors
    passes = []
    serve = run._serve_requests
    run._serve_requests = lambda: (passes.append(time.monotonic()), serve())[1]  # type: ignore[method-assign]
    run.prepare()
    run.start()
    try:
        time.sleep(0.5)  # start-up
        before = len(passes)
        time.sleep(2.0)  # nothing planned, nothing running: a 0.1 s poll would pass ~20 times
        assert len(passes) - before <= 4
        eid = run.launch("cpu", {"load_percent": 20, "workers": 1}, 1.0)
        until(lambda: status(run, eid) in ("running", "completed"), 10)
        until(lambda: status(run, eid) == "completed", 15)  # reaped at its end
    finally:
        run.stop("test over")
        assert run.wait(30) is not None
