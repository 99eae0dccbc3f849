"""Starting, watching and stopping one stressor process.

Contention: by default ("shared") a stressor stays in twin's session, so it lands in the same
autogroup and cgroup as twin and competes with the node's work the way a co-located process
(or stress-ng's workers) does; it gets its own process group only so it can be signalled as a
whole. "isolated" starts it in a new session: with kernel autogroup, the whole load then weighs
as one separate login, however many workers it has.

Threading contract: each stressor asks the kernel to kill it when its parent dies
(PR_SET_PDEATHSIG), and Linux ties that to the *thread* that forked it, not the process. Start
every stressor from one long-lived thread (the runner uses its control thread) and keep that
thread alive while they run: if it exits, its stressors are SIGKILLed. Do not start stressors
through multiprocessing's forkserver either: the fork server, not you, would be the parent.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from core.errors import BadInput, TwinError
from core.schedule import Event
from core.stressors._proc import (
    CONTENTION_MODES,
    WorkBlock,
    nice_level,
    stressor_nice,
    vm_oom_kills,
)
from core.stressors.params import param_problems, resolve_params
from core.stressors.safety import safety_problems

WORK_COLUMNS: tuple[str, ...] = (
    "stress_cpu_loops_per_s",
    "stress_mem_resident_bytes",
    "stress_disk_read_bytes_per_s",
    "stress_disk_write_bytes_per_s",
    "stress_disk_ops_per_s",
    "stress_net_bytes_per_s",
)
READY_TIMEOUT_S = 15.0
_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


class StressorError(TwinError):
    """A stressor could not be started (exit code 1)."""


@dataclass(frozen=True)
class StressorExit:
    """How a stressor ended. `ok`: it ran to its deadline or was stopped on request."""

    ok: bool
    reason: str = ""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class StressorHandle:
    """A running stressor process (and its process group). Methods are not thread-safe."""

    def __init__(
        self,
        kind: str,
        event_id: str,
        proc: subprocess.Popen[bytes],
        block: WorkBlock,
        stderr: IO[bytes],
        params: dict[str, Any],
    ) -> None:
        self.kind = kind
        self.event_id = event_id
        self.pid = proc.pid
        self.params = params
        self._proc = proc
        self._block = block
        self._stderr = stderr
        self._oom0 = vm_oom_kills()
        self._term_sent = False
        self._kill_sent = False
        self._grace = 0.0
        self._exit: StressorExit | None = None
        self._last: dict[str, Any] = {}
        self._pidfd = -1  # opened by wait(): readable once the process has exited

    def poll(self) -> StressorExit | None:
        """Non-blocking: None while the stressor runs, else how it ended."""
        if self._exit is None and self._proc.poll() is not None:
            self._finish()
        return self._exit

    def wait(self, timeout_s: float, wake_fd: int = -1) -> StressorExit | None:
        """`poll()` after the stressor ends, `timeout_s` passes or `wake_fd` (a signal wake-up
        pipe: the caller then checks its own flag) is readable: one select(2) on a pidfd, so a
        foreground owner sleeps between its once-a-second reports instead of polling."""
        if self.poll() is not None:
            return self._exit
        if self._pidfd < 0:
            with contextlib.suppress(OSError):  # pidfd_open: Linux 5.3+
                self._pidfd = os.pidfd_open(self.pid)
        fds = [fd for fd in (self._pidfd, wake_fd) if fd >= 0]
        if self._pidfd < 0:
            time.sleep(min(max(timeout_s, 0.0), 0.05))
        else:
            ready, _, _ = select.select(fds, [], [], max(timeout_s, 0.0))
            if wake_fd in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_fd, 512)
        return self.poll()

    def stop(self, grace_s: float = 2.0) -> StressorExit:
        """SIGTERM the whole process group, SIGKILL it after `grace_s`; idempotent."""
        if self.poll() is not None:
            assert self._exit is not None
            return self._exit
        self._term_sent = True
        self._grace = grace_s
        self._killpg(signal.SIGTERM)
        try:
            self._proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self._kill_sent = True
            self._killpg(signal.SIGKILL)
            self._proc.wait()
        self._finish()
        assert self._exit is not None
        return self._exit

    def work(self) -> dict[str, float]:
        """The latest per-second work report: WORK_COLUMNS names (only this kind's)."""
        self._refresh()
        work = self._last.get("work") or {}
        return {k: float(v) for k, v in work.items() if k in WORK_COLUMNS}

    def status(self) -> dict[str, Any]:
        """Extra fields of the latest report, e.g. `limited` (why growth stopped),
        `steal_percent` and `system_cpu_percent` for cpu."""
        self._refresh()
        status: dict[str, Any] = dict(self._last.get("status") or {})
        return status

    def _refresh(self) -> None:
        if self._exit is None or not self._last:
            report = self._block.read() if self._block.fd >= 0 else None
            if report is not None:
                self._last = report

    def _killpg(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def _finish(self) -> None:
        if self._exit is not None:
            return
        # Anything left in the group (a worker whose leader died) goes too.
        self._killpg(signal.SIGKILL)
        self._refresh()
        code = self._proc.returncode
        self._exit = self._classify(code)
        self._block.close()
        self._block.fd = -1
        self._stderr.close()
        if self._pidfd >= 0:
            os.close(self._pidfd)
            self._pidfd = -1

    def _classify(self, code: int) -> StressorExit:
        if code == 0:
            return StressorExit(True)
        if code < 0:
            sig = -code
            if self._kill_sent:
                return StressorExit(
                    False, f"ignored SIGTERM; killed by SIGKILL after the {self._grace:g} s grace"
                )
            if self._term_sent and sig == signal.SIGTERM:
                return StressorExit(True)
            if sig == signal.SIGKILL and vm_oom_kills() > self._oom0 >= 0:
                return StressorExit(False, "OOM-killed")
            if sig == signal.SIGALRM:
                return StressorExit(False, "overran and hit its own safety deadline (SIGALRM)")
            return StressorExit(False, f"killed by {_signal_name(sig)}")
        reason = str(self._last.get("error") or "") or self._stderr_tail()
        if code == 98:
            reason = reason or "its parent was gone before it started"
        return StressorExit(False, f"exit code {code}" + (f": {reason}" if reason else ""))

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            lines = [ln for ln in self._stderr.read().decode(errors="replace").splitlines() if ln]
        except (OSError, ValueError):
            return ""
        return lines[-1].removeprefix("twin-stress: ") if lines else ""


def _bad(kind: str, problems: list[tuple[str, str]]) -> BadInput:
    return BadInput("\n".join(f"{kind}.{name}: {reason}" for name, reason in problems))


def check_stressor(
    kind: str,
    params: Mapping[str, Any],
    duration_s: float,
    scratch_dir: Path,
    freeing_bytes: int = 0,
) -> dict[str, Any]:
    """Every check `start_stressor` makes, without starting anything; returns resolved params.
    `freeing_bytes`: memory running stressors free before this one starts (`safety_problems`)."""
    problems = param_problems(kind, params)
    if not duration_s > 0:
        problems.append(("duration_s", "must be more than 0 seconds"))
    if problems:
        raise _bad(kind, problems)
    event = Event("check", kind, dict(params), 0.0, duration_s)
    unsafe = safety_problems([event], scratch_dir, freeing_bytes)
    if unsafe:
        raise _bad(kind, [(name, reason) for _, name, reason in unsafe])
    resolved = resolve_params(kind, params)
    if kind == "disk":
        if not scratch_dir.is_dir():
            raise BadInput(f"disk: scratch directory {scratch_dir} does not exist")
        from core.stressors.disk import open_scratch_file

        try:
            fd, _ = open_scratch_file(scratch_dir, bool(resolved["direct"]))
            os.close(fd)
        except OSError as exc:
            raise BadInput(f"disk: cannot use {scratch_dir}: {exc.strerror or exc}") from None
    return resolved


def start_stressor(
    kind: str,
    params: Mapping[str, Any],
    duration_s: float,
    scratch_dir: Path,
    event_id: str = "adhoc",
    start_at: float | None = None,
    contention: str = "shared",
    nice: int | None = None,
    freeing_bytes: int = 0,
) -> StressorHandle:
    """Start one stressor process; return once it runs (its first report is in).

    With `start_at` (a `time.monotonic()` value: the clock is system-wide), the process
    boots now, reports it is armed, and begins its load at exactly that moment; the runner
    uses this to start events on plan despite Python's start-up time.

    Raises `BadInput` for bad params or unsafe targets (nothing started) and `StressorError`
    if the process dies while starting. Call it from a thread that outlives the stressor (see
    the module docstring: PR_SET_PDEATHSIG follows the forking thread). `contention` is one of
    CONTENTION_MODES (see the module docstring); `nice` is the one level every process of the
    stressor runs at (default `stressor_nice()`: 0, or `TWIN_STRESS_NICE`); `freeing_bytes`
    is memory that running stressors free before `start_at` (checked as if already free).
    """
    if contention not in CONTENTION_MODES:
        raise BadInput(f"contention: must be one of {', '.join(CONTENTION_MODES)}")
    resolved = check_stressor(kind, params, duration_s, scratch_dir, freeing_bytes)
    block = WorkBlock.create(f"twin-stress-{kind}-{event_id}")
    spec = {
        "kind": kind,
        "params": resolved,
        "duration_s": duration_s,
        "scratch_dir": str(scratch_dir.absolute()),
        "event_id": event_id,
        "start_at": start_at,
        "parent_pid": os.getpid(),
        "fd": block.fd,
        "nice": stressor_nice() if nice is None else nice_level(nice),
    }
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PROJECT_ROOT, env.get("PYTHONPATH", "")) if p)
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - the handle owns and closes it
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.stressors.child", json.dumps(spec)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            pass_fds=(block.fd,),
            # Its own process group either way: stop() signals every worker at once, and the
            # terminal's Ctrl-C reaches twin, which stops the load in order.
            start_new_session=contention == "isolated",
            process_group=None if contention == "isolated" else 0,
            env=env,
        )
    except OSError as exc:
        block.close()
        stderr.close()
        raise StressorError(f"{kind}: cannot start a stressor process: {exc}") from None
    handle = StressorHandle(kind, event_id, proc, block, stderr, resolved)
    end = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < end:
        handle._refresh()
        if handle._last.get("ready"):
            if handle._last.get("error"):
                break
            return handle
        if proc.poll() is not None:
            break
        time.sleep(0.005)
    result = handle.poll() or handle.stop(0.5)
    reason = result.reason or "did not start in time"
    raise StressorError(f"{kind} stressor {event_id} failed to start: {reason}")
