"""Entry point of one stressor process: `python -m core.stressors.child SPEC_JSON`.

Started by `core.stressors.handle.start_stressor` in its own process group (so it can be
signalled as a whole), in twin's session unless contention is "isolated" (then a new session),
with the work-report memfd passed as an inherited fd. Exit codes: 0 ran to its end or stopped on
SIGTERM; 3 the stressor failed (reason in the work block and on stderr); 97/98 could not arm
PR_SET_PDEATHSIG / the parent was already gone.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from core.stressors._proc import WorkBlock, become_stressor, stressor_nice
from core.stressors._runtime import Reporter, Stop

DEADLINE_MARGIN_S = 10.0


def deadline_for(duration_s: float) -> float:
    """The stressor's own hard deadline: its duration plus a margin for a clean stop."""
    return duration_s + max(DEADLINE_MARGIN_S, 0.1 * duration_s)


def run(spec: dict[str, Any]) -> int:
    kind = str(spec["kind"])
    duration = float(spec["duration_s"])
    title = f"twin-stress {kind} {spec['event_id']}"
    start_at = spec.get("start_at")
    lead = max(0.0, float(start_at) - time.monotonic()) if start_at is not None else 0.0
    nice = int(spec.get("nice", stressor_nice()))
    become_stressor(title, int(spec["parent_pid"]), lead + deadline_for(duration), nice)
    block = WorkBlock(int(spec["fd"]))
    reporter = Reporter(block)
    stop = Stop(duration)
    stop.install()
    if start_at is not None:
        reporter.publish({}, phase="armed")
        if not stop.wait_until(float(start_at)):
            return 0  # stopped before the load began
    params: dict[str, Any] = dict(spec["params"])
    scratch = Path(str(spec["scratch_dir"]))
    try:
        if kind == "cpu":
            from core.stressors.cpu import run_cpu

            run_cpu(params, stop, reporter, title, nice)
        elif kind == "memory":
            from core.stressors.memory import run_memory

            run_memory(params, stop, reporter)
        elif kind == "disk":
            from core.stressors.disk import run_disk

            run_disk(params, stop, reporter, scratch)
        elif kind == "network":
            from core.stressors.network import run_network

            run_network(params, stop, reporter)
        else:
            raise ValueError(f"unknown stressor {kind!r}")
    except Exception as exc:  # report any failure as one line, then exit 3
        reason = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        reporter.fail(reason)
        traceback.print_exc(file=sys.stderr)
        print(f"twin-stress: {reason}", file=sys.stderr)
        return 3
    return 0


def main() -> None:
    spec: dict[str, Any] = json.loads(sys.argv[1])
    sys.exit(run(spec))


if __name__ == "__main__":
    main()
