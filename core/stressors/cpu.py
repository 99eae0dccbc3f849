"""CPU stressor: one worker process per core (the GIL), each duty-cycling on its own CPU time.

A worker runs 100 ms periods: each period it is owed `load × 100 ms` of its *own* CPU clock
(`time.thread_time`, which excludes time stolen by the hypervisor or taken by other processes),
spins until it has had it, sleeps out the period, and then pays for everything the period cost
(bookkeeping and wake-up included). A shortfall (contention, steal) or an overshoot carries
over, bounded to one period so a starved worker never bursts. The leader's own CPU is taken off
the workers' load, so the stressor as a whole holds `load_percent`. With `target = "system"`
the leader runs a closed loop on /proc/stat and sets each worker's load so that the machine's
total CPU use holds `load_percent`, counting whatever else runs.
"""

from __future__ import annotations

import mmap
import os
import random
import signal
import struct
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from core.shapes import is_shape, level_function
from core.stressors._proc import become_stressor, cpu_times
from core.stressors._runtime import RateMeter, Reporter, Stop

PERIOD_S = 0.1
JITTER_S = 0.0025  # half a tick at HZ=250, either way (see period_lengths)
CONTROL_S = 0.25
KERNEL_STEPS = 200  # one "loop" = one pass of a 200-step integer LCG
_SLOT = struct.Struct("<dd")  # load (0..1), loops
_SLOT_BASE = 64


def kernel(x: int) -> int:
    for _ in range(KERNEL_STEPS):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


class _Shared:
    """Anonymous shared memory between the leader and its forked workers."""

    def __init__(self, workers: int) -> None:
        self.map = mmap.mmap(-1, max(4096, _SLOT_BASE + _SLOT.size * workers))

    def stop(self) -> None:
        struct.pack_into("<q", self.map, 0, 1)

    def stopped(self) -> bool:
        flag: int = struct.unpack_from("<q", self.map, 0)[0]
        return flag != 0

    def set_load(self, i: int, load: float) -> None:
        struct.pack_into("<d", self.map, _SLOT_BASE + _SLOT.size * i, load)

    def load(self, i: int) -> float:
        value: float = struct.unpack_from("<d", self.map, _SLOT_BASE + _SLOT.size * i)[0]
        return value

    def publish(self, i: int, loops: float) -> None:
        struct.pack_into("<d", self.map, _SLOT_BASE + _SLOT.size * i + 8, loops)

    def loops(self, i: int) -> float:
        value: float = struct.unpack_from("<d", self.map, _SLOT_BASE + _SLOT.size * i + 8)[0]
        return value


def period_lengths(seed: int) -> Callable[[], float]:
    """A worker's duty-cycle lengths: PERIOD_S, each moved by up to `JITTER_S` at random.

    /proc/stat charges whole scheduler ticks (4 ms at HZ=250) to whatever runs at the tick. A
    period of exactly 25 ticks stays in phase with them for seconds, so the machine's total
    read up to a tick in 25 off the load; a few ms of jitter walks the spin's edges through
    every phase of the tick within a few periods. It stays that small because a dataset row
    over 0.5 s holds five periods: their edges must stay where the row's edges cut them."""
    draw = random.Random(seed).uniform
    return lambda: draw(PERIOD_S - JITTER_S, PERIOD_S + JITTER_S)


def _worker(
    shared: _Shared, index: int, leader: int, title: str, deadline_s: float, nice: int
) -> None:
    become_stressor(f"{title} w{index}", leader, deadline_s, nice)
    signal.set_wakeup_fd(-1)  # the leader's wake-up pipe is the leader's alone
    stopping = [False]

    def on_term(signum: int, frame: FrameType | None) -> None:
        stopping[0] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    clock = time.thread_time  # the worker is single-threaded: all of its CPU time
    x = index + 1
    loops = 0.0
    owed = 0.0
    c_last = clock()
    next_publish = 0.0
    period = period_lengths(os.getpid())
    length = period()
    begun = time.monotonic() - length
    while not stopping[0] and not shared.stopped():
        load = shared.load(index)
        # Owed for the wall time since the last period began, not the length it planned: a
        # sleep ends a little late each time, and those ~0.2 ms a period were load lost.
        start = time.monotonic()
        owed += load * (start - begun)
        begun = start
        length = period()
        w_end = start + length
        c0 = clock()
        if owed > 0:
            while True:
                x = kernel(x)
                loops += 1
                if clock() - c0 >= owed or time.monotonic() >= w_end:
                    break
        now = time.monotonic()
        if now >= next_publish:
            shared.publish(index, loops)
            next_publish = now + 0.05
        if w_end > now:
            time.sleep(w_end - now)
        # Settle on everything this period cost, not just the spin: the bookkeeping, the
        # sleep and wake-up are CPU time too (they made the load overshoot by ~0.3 points).
        c_now = clock()
        owed -= c_now - c_last
        c_last = c_now
        owed = min(max(owed, -load * length), load * length)
    shared.publish(index, loops)


def run_cpu(params: dict[str, Any], stop: Stop, reporter: Reporter, title: str, nice: int) -> None:
    workers = int(params["workers"])
    level = level_function(params["load_percent"], stop.end - stop.start)  # shapes: core.shapes
    target = level(0.0) / 100.0
    system = params["target"] == "system"
    ncpu = os.cpu_count() or 1
    shared = _Shared(workers)
    first = min(1.0, target * ncpu / workers) if system else target
    for i in range(workers):
        shared.set_load(i, first)
    leader = os.getpid()
    deadline = stop.remaining() + 10.0
    pids: list[int] = []
    try:
        for i in range(workers):
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the worker process
                code = 0
                try:
                    _worker(shared, i, leader, title, deadline, nice)
                except BaseException:
                    code = 3
                os._exit(code)
            pids.append(pid)
        shaped = is_shape(params["load_percent"])
        _lead(
            shared,
            pids,
            ncpu,
            target,
            system,
            stop,
            reporter,
            (lambda: level(time.monotonic() - stop.start) / 100.0) if shaped else None,
        )
    finally:
        shared.stop()
        _reap(pids)


class SystemLoop:
    """`target = "system"`: the share of the machine the workers should add, each window.

    Feed-forward on what the rest of the machine used: busy (/proc/stat) minus the workers'
    own run time read at the same instant (`run_seconds`), smoothed. Nothing else: with both
    read together the estimate has no bias to trim away, and an integral trim (there was one)
    only integrated the windows' noise into a wander of half a point and more. Fractions of
    the whole machine (0..1).
    """

    def __init__(self) -> None:
        self.other: float | None = None  # from the first window on, not ramping up from 0

    def need(self, target: float, busy_frac: float, own_frac: float) -> float:
        # One window's "rest of the machine" is noisy (/proc/stat's whole ticks): a point or
        # two either way on a quiet machine. It is smoothed as measured and never clamped at
        # 0: on a quiet machine the estimate hovers about a true 0.4 points, and keeping it
        # at 0 or more kept its positive noise and dropped the negative (-0.6 points on a
        # simulated quiet machine; -6.5 when each window was clamped).
        seen = busy_frac - own_frac
        self.other = seen if self.other is None else 0.5 * self.other + 0.5 * seen
        return min(max(target - self.other, 0.0), 1.0)


def run_seconds(pids: list[int]) -> float:
    """CPU seconds the processes `pids` have run, to the nanosecond and as of now
    (/proc/PID/schedstat; a process gone counts 0)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/schedstat", "rb") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def _lead(
    shared: _Shared,
    pids: list[int],
    ncpu: int,
    target: float,
    system: bool,
    stop: Stop,
    reporter: Reporter,
    target_now: Callable[[], float] | None = None,
) -> None:
    """Set the workers' load every CONTROL_S when it has to move (`target = "system"`'s closed
    loop, or `target_now` giving a shaped target); a constant own-share target is the workers'
    own business (each regulates itself on its CPU clock), so the leader then wakes only to
    report once a second, or for SIGTERM."""
    workers = len(pids)
    meter = RateMeter(("stress_cpu_loops_per_s",))
    busy0, total0, steal0 = cpu_times()
    sec_busy0, sec_total0, sec_steal0 = busy0, total0, steal0
    own0 = run_seconds(pids)
    t0 = time.monotonic()
    loop = SystemLoop()
    reporter.publish({"stress_cpu_loops_per_s": 0.0}, workers=workers, load=target)
    lead_cpu0 = time.process_time()
    steering = system or target_now is not None
    while stop.sleep(CONTROL_S if steering else meter.left()):
        if target_now is not None:
            target = target_now()
        if not system:
            lead_share = (time.process_time() - lead_cpu0) / max(time.monotonic() - t0, 1e-9)
            # at 100 % every worker spins anyway: nothing to take the leader's share from
            load = target if target >= 1.0 else max(target - lead_share / workers, 0.0)
            for i in range(workers):
                shared.set_load(i, load)
        else:
            # The workers' own time read at the same instant as /proc/stat: their published
            # clocks lag by up to a period, and with 2.5 periods a window that lag made the
            # "rest of the machine" swing +-20 points window to window; its clamped mean was
            # +3 points that were not there (the machine 3.5 points under target at 75 %).
            busy, total, steal = cpu_times()
            own = run_seconds(pids)
            now = time.monotonic()
            if total > total0:
                busy_frac = (busy - busy0) / (total - total0)
                own_frac = (own - own0) / max((now - t0) * ncpu, 1e-9)
                need = loop.need(target, busy_frac, own_frac)
                load = min(need * ncpu / workers, 1.0)
                for i in range(workers):
                    shared.set_load(i, load)
                busy0, total0, own0, t0 = busy, total, own, now
        if meter.due():
            loops = sum(shared.loops(i) for i in range(workers))
            rates = meter.rates({"stress_cpu_loops_per_s": loops})
            busy, total, steal = cpu_times()
            dt = max(total - sec_total0, 1e-9)
            reporter.publish(
                rates,
                system_cpu_percent=round(100 * (busy - sec_busy0) / dt, 2),
                steal_percent=round(100 * (steal - sec_steal0) / dt, 2),
                worker_load=round(shared.load(0), 4),
            )
            sec_busy0, sec_total0, sec_steal0 = busy, total, steal


def _reap(pids: list[int]) -> None:
    """Wait for workers to see the stop flag; SIGKILL any that do not within a second."""
    end = time.monotonic() + 1.0
    live = set(pids)
    while live and time.monotonic() < end:
        for pid in list(live):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                live.discard(pid)
        if live:
            time.sleep(0.01)
    for pid in live:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
