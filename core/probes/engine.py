"""Probes at work: one thread per probe, results aggregated per sampling interval.

Probes never run in the sampler's thread and never delay a sample: each probe attempts on
its own deadlines (`k * every_s`, missed ones skipped, like the telemetry loop) and appends
its result under a lock held for an append; the sampler's `collect` swaps the interval's
results out and turns them into the probe's five columns. An attempt still running past its
`timeout_s` is counted as an error once, at the first sample after the timeout, so a target
that hangs shows as errors at once and its late answer is not counted again.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.probes.kinds import CommandProbe, ProbeFailed, ProbeKind, make_kind
from core.probes.spec import ProbeSpec
from core.telemetry.columns import Column

JOIN_S = 1.0  # stopping waits this long per probe thread (daemon threads: never blocks exit)


def nearest_rank(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile by nearest rank (a value that was measured, never an interpolation)."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


class ProbeWorker:
    """One probe: its thread, and the results of the interval not yet collected."""

    def __init__(self, spec: ProbeSpec, kind: ProbeKind) -> None:
        self.spec = spec
        self.kind = kind
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._latencies: list[float] = []
        self._errors = 0
        self._inflight_since: float | None = None
        self._inflight_counted = False
        self.attempts = 0
        self.errors = 0
        self.last_error = ""
        self._thread = threading.Thread(
            target=self._main, name=f"twin-probe-{spec.name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if isinstance(self.kind, CommandProbe):  # a command still running is killed now
            self.kind.close()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _main(self) -> None:
        try:
            self.kind.open()
        except OSError as exc:
            self.last_error = f"cannot start: {exc.strerror or exc}"
        try:
            self._loop()
        finally:
            self.kind.close()

    def _loop(self) -> None:
        every = self.spec.every_s
        t0 = time.monotonic()
        k = 0
        while True:
            wait = t0 + k * every - time.monotonic()
            if (wait > 0 and self._stop.wait(wait)) or self._stop.is_set():
                return
            self._attempt_once()
            k = max(k + 1, math.ceil((time.monotonic() - t0) / every))

    def _attempt_once(self) -> None:
        started = time.monotonic()
        with self._lock:
            self._inflight_since, self._inflight_counted = started, False
        latency: float | None = None
        error = ""
        try:
            latency = self.kind.attempt()
        except ProbeFailed as exc:
            error = str(exc)
        except Exception as exc:  # a probe never takes the run down: it is an error
            error = f"{type(exc).__name__}: {exc}"
        if latency is not None and latency > self.spec.timeout_s:
            latency, error = None, f"took {latency:.3f} s, more than timeout_s"
        with self._lock:
            counted = self._inflight_counted
            self._inflight_since = None
            if not counted:
                self.attempts += 1
                if latency is None:
                    self._errors += 1
                    self.errors += 1
                else:
                    self._latencies.append(latency)
            if error:
                self.last_error = error

    def collect(self, now: float, values: dict[str, float]) -> None:
        """The interval's five columns into `values` (called by the sampler, at the sample)."""
        with self._lock:
            since = self._inflight_since
            overdue = since is not None and now - since > self.spec.timeout_s
            if overdue and not self._inflight_counted:
                self._inflight_counted = True
                self._errors += 1
                self.errors += 1
                self.attempts += 1
                self.last_error = f"no answer within {self.spec.timeout_s:g} s"
            latencies, errors = self._latencies, self._errors
            self._latencies, self._errors = [], 0
        prefix = f"probe_{self.spec.name}"
        values[f"{prefix}_count"] = float(len(latencies) + errors)
        values[f"{prefix}_errors"] = float(errors)
        if latencies:
            latencies.sort()
            values[f"{prefix}_p50_ms"] = nearest_rank(latencies, 0.50) * 1000.0
            values[f"{prefix}_p99_ms"] = nearest_rank(latencies, 0.99) * 1000.0
            values[f"{prefix}_max_ms"] = latencies[-1] * 1000.0
        else:
            for measure in ("p50_ms", "p99_ms", "max_ms"):
                values[f"{prefix}_{measure}"] = math.nan

    def summary(self) -> dict[str, Any]:
        """What run.json says about this probe at the end."""
        with self._lock:
            out: dict[str, Any] = {
                "name": self.spec.name,
                "kind": self.spec.kind,
                "target": self.spec.target(),
                "every_s": self.spec.every_s,
                "timeout_s": self.spec.timeout_s,
                "attempts": self.attempts,
                "errors": self.errors,
            }
            if self.last_error:
                out["last_error"] = self.last_error
        nice = getattr(self.kind, "nice", "")
        if nice:
            out["priority"] = nice
        return out


class ProbeSet:
    """Every probe of a run: started with it, collected at each sample, stopped at its end."""

    def __init__(self, specs: Sequence[ProbeSpec], directory: Path) -> None:
        self.workers = [ProbeWorker(spec, make_kind(spec, directory)) for spec in specs]

    @property
    def columns(self) -> list[Column]:
        return [c for w in self.workers for c in w.spec.columns]

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def collect(self, values: dict[str, float]) -> None:
        """Every probe's columns for the interval ending now (the sampler's thread)."""
        now = time.monotonic()
        for worker in self.workers:
            worker.collect(now, values)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        deadline = time.monotonic() + JOIN_S
        for worker in self.workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    def summary(self) -> list[dict[str, Any]]:
        return [w.summary() for w in self.workers]
