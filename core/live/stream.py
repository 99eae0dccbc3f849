"""`--influx URL --influx-db NAME`: stream a recording run's rows to InfluxDB.

The engine's callbacks only put what they get on a `SimpleQueue` (never blocks); a sender
thread turns it into line protocol about once a second (the `.lp` export's, so a later
`twin export --to influx` of the same run rewrites the very same points) and writes it,
retrying with backoff. An unreachable server never stops the run: it is said once, the
rows are kept and sent when it answers again or at the end, and whatever still could not
be sent is named with the `twin export` line that sends it.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import pandas as pd

from core.analysis.export import influx_lines
from core.live.influx import InfluxClient, InfluxError, event_lines
from core.rundir.layout import MANIFEST
from core.runner import EventState, RunListener, RunResult
from core.schedule import Event
from core.telemetry.logger import iso_ms
from core.telemetry.sampler import Sample

FLUSH_S = 1.0
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
# Kept for a server that is down, about a day at 1 s; older rows are left to `twin export`.
MAX_PENDING_LINES = 100_000


def run_host(run_dir: Path) -> str:
    """The `host` tag of a run: its manifest's hostname, as `twin export` reads it."""
    try:
        manifest = json.loads((run_dir / MANIFEST).read_text())
        return str(manifest["host"]["hostname"])
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown"


class InfluxStreamer(RunListener):
    """Queues samples and events; a sender thread writes them to InfluxDB in batches."""

    def __init__(
        self,
        client: InfluxClient,
        run_dir: Path,
        events: Iterable[Event],
        wall_at: Callable[[float], datetime],
        log: Callable[[str], None],
        flush_s: float = FLUSH_S,
    ) -> None:
        self.client = client
        self.run_dir = run_dir
        self.run = run_dir.name
        self.host = run_host(run_dir)
        self.wall_at = wall_at
        self.log = log
        self.flush_s = flush_s
        self._stressor_of = {e.id: e.stressor for e in events}
        self._inbox: queue.SimpleQueue[Sample | EventState] = queue.SimpleQueue()
        self._pending: list[str] = []
        self._dropped = 0
        self._sent_rows = 0
        self._failing = ""
        self._told = False
        self._db_ready = False
        self._next_try = 0.0
        self._attempt = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="twin-influx", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # ---- the engine's callbacks: queue only ------------------------------------------
    def on_sample(self, sample: Sample) -> None:
        self._inbox.put(sample)

    def on_event(self, state: EventState) -> None:
        self._inbox.put(state)

    def on_finish(self, result: RunResult) -> None:
        self._stop.set()

    # ---- the sender thread ---------------------------------------------------------------
    def _main(self) -> None:
        while not self._stop.wait(self.flush_s):
            self._take_inbox()
            if self._pending and time.monotonic() >= self._next_try:
                self._send()

    def close(self) -> None:
        """Send what is left (one last try), say what could not be sent, stop the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._take_inbox()
        if self._pending:
            self._send()
        if self._pending or self._dropped:
            left = len(self._pending) + self._dropped
            self.log(
                f"twin: influx: {left} points not sent ({self._failing}); send the run with: "
                + self.client.target.export_command(str(self.run_dir))
            )
        elif self._attempt:
            self.log(f"twin: influx: every point reached {self.client.target.url} in the end")
        self.client.close()

    def _take_inbox(self) -> None:
        samples: list[Sample] = []
        rows: list[dict[str, str]] = []
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Sample):
                samples.append(item)
            else:
                self._stressor_of[item.event.id] = item.event.stressor
                rows.append(self._annotation_row(item))
        lines = self._sample_lines(samples) if samples else []
        lines += event_lines(rows, self.host, self.run)
        self._pending += lines
        if len(self._pending) > MAX_PENDING_LINES:
            extra = len(self._pending) - MAX_PENDING_LINES
            self._dropped += extra
            del self._pending[:extra]

    def _sample_lines(self, samples: list[Sample]) -> list[str]:
        """The samples as the dataset would hold them, through the `.lp` export's lines."""
        frame = pd.DataFrame([dict(s.values) for s in samples])
        frame.insert(0, "timestamp", [iso_ms(s.timestamp) for s in samples])
        frame["active_events"] = [";".join(s.active_events) for s in samples]
        frame["event_stressors"] = [
            ";".join(self._stressor_of.get(e, "") for e in s.active_events) for s in samples
        ]
        return influx_lines(frame, self.host, self.run)

    def _annotation_row(self, state: EventState) -> dict[str, str]:
        """The annotations.csv row of this event state (same times, same millisecond)."""
        e = state.event
        start = state.start_elapsed_s
        end = state.end_elapsed_s if state.status not in ("planned", "running") else None
        return {
            "event_id": e.id,
            "stressor": e.stressor,
            "label": e.label,
            "params": json.dumps(e.params, sort_keys=True),
            "start_time": iso_ms(self.wall_at(start)) if start is not None else "",
            "end_time": iso_ms(self.wall_at(end)) if end is not None else "",
            "status": state.status,
            "message": state.message,
        }

    def _send(self) -> None:
        batch = list(self._pending)
        try:
            if not self._db_ready:
                self.client.ensure_database()
                self._db_ready = True
            self.client.write(batch)
        except InfluxError as exc:
            if not self._told:  # said once per run, not at every retry
                self._told = True
                self.log(f"twin: influx: {exc}; the run goes on, points are kept to send later")
            self._failing = str(exc)
            self._next_try = time.monotonic() + BACKOFF_S[min(self._attempt, len(BACKOFF_S) - 1)]
            self._attempt += 1
            return
        del self._pending[: len(batch)]
        self._sent_rows += len(batch)
        self._failing = ""
