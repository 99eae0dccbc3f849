"""Per-host progress of a fleet play, from the callback's JSON events: installing, running with
time left, fetched, failed and why. One line per change on stderr; the outcome per host."""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from typing import Any

LEFT_EVERY_S = 10.0  # at most one "time left" line per host this often


@dataclass
class HostState:
    name: str
    stage: str = "connecting"
    run_started: float | None = None
    run_name: str | None = None
    reason: str | None = None
    rc: int | None = None
    last_left: float = 0.0


def short_task(task: str) -> str:
    """'server_twin : twin: wait' -> 'wait'."""
    return task.split("twin: ", 1)[-1].strip() if "twin: " in task else task.strip()


def say(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


class FleetProgress:
    """Folds the play's events into one `HostState` per host and prints what changed."""

    def __init__(self, total_s: float) -> None:
        self.total_s = total_s
        self.hosts: dict[str, HostState] = {}
        self.ended = False

    def host(self, name: str) -> HostState:
        return self.hosts.setdefault(name, HostState(name))

    def _stage(self, state: HostState, stage: str, text: str | None = None) -> None:
        if state.stage != stage:
            state.stage = stage
            say(f"twin fleet: {state.name}: {text or stage}")

    def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "stats":
            self.ended = True
            for name in event.get("hosts", {}):
                self.host(str(name))
            return
        name = event.get("host")
        if not name or kind == "task":
            return
        state = self.host(str(name))
        task = short_task(str(event.get("task", "")))
        if kind == "unreachable":
            self._fail(state, f"unreachable: {event.get('msg') or 'no answer'}")
        elif kind == "failed":
            self._fail(state, f"{task}: {self._message(event)}")
        elif kind == "retry" and task == "wait":
            self._time_left(state)
        elif kind == "ok":
            self._ok(state, task, event)

    @staticmethod
    def _message(event: dict[str, Any]) -> str:
        msg = str(event.get("msg") or "").strip()
        lines = [str(x) for x in event.get("stderr_lines") or [] if str(x).strip()]
        if lines and (not msg or msg.startswith("non-zero return code")):
            msg = lines[-1]
        return " ".join(msg.split()) or "failed"

    def _ok(self, state: HostState, task: str, event: dict[str, Any]) -> None:
        if task.startswith("install:"):
            self._stage(state, "installing")
        elif task == "run":
            state.run_started = float(event.get("time") or time.time())
            self._stage(state, "running", f"running, {self.total_s:.0f} s planned")
        elif task == "wait":
            rc = event.get("rc")
            state.rc = int(rc) if isinstance(rc, int) else None
            self._stage(state, "fetching", f"run ended (exit {state.rc}), fetching")
        elif task == "fetched":
            state.run_name = str(event.get("facts", {}).get("twin_run_name") or "") or None
            self._stage(state, "fetched", f"fetched {state.run_name}")

    def _time_left(self, state: HostState) -> None:
        now = time.time()
        if state.run_started is None or now - state.last_left < LEFT_EVERY_S:
            return
        state.last_left = now
        left = max(0.0, self.total_s - (now - state.run_started))
        say(f"twin fleet: {state.name}: running, {left:.0f} s left")

    def _fail(self, state: HostState, reason: str) -> None:
        if state.reason is None:
            state.reason = reason
        self._stage(state, "failed", f"failed: {reason}")
