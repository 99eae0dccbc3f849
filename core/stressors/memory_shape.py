"""Memory stressor with a shaped `size_mb` (core.shapes): the resident set follows the shape.

Every TICK_S it compares what it holds with the shape's level: it grows by new chunks (made
resident as `core.stressors.memory` makes them) and shrinks by unmapping whole chunks from the
end and giving the kernel back the tail of a partly released one (MADV_DONTNEED), so memory in
use really falls. Growth keeps the constant stressor's guard: it stops short of the reserve (and
says so in `limited`) and tries again later, as the shape may fall and rise again.
"""

from __future__ import annotations

import mmap
import time
from typing import Any

from core.shapes import level_function
from core.stressors._proc import meminfo
from core.stressors._runtime import Reporter, Stop
from core.stressors.memory_pages import CHUNK, GRAIN, PAGE, allocate, resident_bytes
from core.stressors.safety import memory_reserve_bytes, runtime_reserve

TICK_S = 0.05


class _Held:
    """The chunks held, each with how many of its bytes are still resident (from its start)."""

    def __init__(self) -> None:
        self.chunks: list[tuple[mmap.mmap, int]] = []

    @property
    def bytes(self) -> int:
        return sum(live for _, live in self.chunks)

    def grow(self, size: int) -> None:
        self.chunks.append((allocate(size), size))

    def shrink_to(self, due: int) -> None:
        excess = self.bytes - due
        while self.chunks and excess >= self.chunks[-1][1]:
            m, live = self.chunks.pop()
            m.close()
            excess -= live
        if self.chunks and excess >= PAGE:
            m, live = self.chunks[-1]
            keep = live - excess + (-(live - excess)) % PAGE  # round the kept part up to a page
            if keep < live:
                m.madvise(mmap.MADV_DONTNEED, keep, live - keep)
                self.chunks[-1] = (m, keep)

    def close(self) -> None:
        for m, _ in self.chunks:
            m.close()
        self.chunks.clear()


def run_memory_shape(params: dict[str, Any], stop: Stop, reporter: Reporter) -> None:
    level = level_function(params["size_mb"], stop.end - stop.start)
    held = _Held()
    limited = ""
    reserve = runtime_reserve("memory", memory_reserve_bytes(meminfo()["MemTotal"]))
    due = 0

    def publish() -> None:
        resident = resident_bytes([m for m, _ in held.chunks])
        reporter.publish(
            {"stress_mem_resident_bytes": float(resident)},
            held_bytes=held.bytes,
            target_bytes=due,
            limited=limited,
        )

    publish()
    last_report = time.monotonic()
    try:
        while not stop.done():
            due = int(level(time.monotonic() - stop.start) * (1 << 20))
            have = held.bytes
            if due - have >= GRAIN:
                step = min(CHUNK, due - have)
                step -= step % PAGE
                info = meminfo()
                avail = info.get("MemAvailable", info["MemFree"])
                if avail - step < reserve:
                    limited = (
                        f"held at {have >> 20} MiB: MemAvailable {avail >> 20} MiB minus this "
                        f"{step >> 20} MiB step would leave less than the {reserve >> 20} MiB "
                        "reserve"
                    )
                    stop.sleep(TICK_S)
                else:
                    held.grow(step)
            elif have - due >= GRAIN:
                held.shrink_to(due)
            else:
                stop.sleep(TICK_S)
            if time.monotonic() - last_report >= 1.0:
                publish()
                last_report = time.monotonic()
        publish()
    finally:
        held.close()
