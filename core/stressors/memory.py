"""Memory stressor: allocate `size_mb`, make every page resident, hold it.

Memory comes in private anonymous mappings (64 MiB, 16 MiB as huge pages), faulted in by the
kernel (MADV_POPULATE_WRITE) in parallel slices, one per core (`memory_pages.populate`). Each
chunk is asked for as transparent huge pages (MADV_HUGEPAGE) or as small pages, whichever
filled faster last (`_Pacer`): huge pages are ~4x faster where memory is already backed, but on
a VM whose host takes freed guest memory back (free page reporting) each fresh 2 MiB page costs
the host 512 faults, and small pages, served from memory the host still backs, are ~4x faster
there.
Before each chunk it re-reads /proc/meminfo (and the per-CPU free lists, whose pages it takes
first) and stops growing (and says so in its status) when
the chunk would leave less than the reserve available or when memory is shrinking fast, the
rule of stress-ng's `--oom-avoid`, rather than push the machine into swap or the OOM killer.
"""

from __future__ import annotations

import mmap
import time
from typing import Any

from core.shapes import is_shape
from core.stressors._proc import meminfo
from core.stressors._runtime import Reporter, Stop
from core.stressors.memory_pages import CHUNK, GRAIN, PAGE, allocate, resident_bytes, touch
from core.stressors.memory_shape import run_memory_shape
from core.stressors.safety import available_bytes, memory_reserve_bytes, runtime_reserve


class _Pacer:
    """Chooses huge or small pages for the next chunk.

    On this VM the faster kind changes within a fill: huge pages are 2-4x faster where memory
    is still backed, then cost 5-10x more once the fill reaches memory the host took back, and
    single 16 MiB chunks vary 2x either way. So a kind's cost follows a jump of 3x at once
    and otherwise averages its last chunks; the kind in use is kept until it costs 1.5x the
    other's. The other is tried again after PROBE_EVERY chunks, then after twice as many each
    time it loses, four times if by 3x (a one-off slow chunk is undone; a clear loser costs
    one or two tries per fill).
    A try (`probing`) is a PROBE_BYTES chunk, so a losing one costs little.
    """

    PROBE_EVERY = 4
    PROBE_BYTES = 16 << 20  # two 8 MiB slices: filled in parallel like a whole chunk
    HUGE_CHUNK = 16 << 20  # huge pages turn slow mid-fill: notice it within 16 MiB
    JUMP = 3.0
    SWITCH = 1.5

    def __init__(self) -> None:
        self.cost: dict[bool, float] = {}  # seconds per byte
        self.last_try: dict[bool, int] = {}
        self.current = True
        self.gap = self.PROBE_EVERY
        self.chunks = 0
        self.probing = False

    def huge(self) -> bool:
        self.probing = False
        if not hasattr(mmap, "MADV_HUGEPAGE"):
            return False
        for kind in (True, False):
            if kind not in self.cost:
                self.probing = True
                return kind
        if self.chunks - self.last_try[not self.current] >= self.gap:
            self.probing = True
            return not self.current
        return self.current

    def record(self, huge: bool, size: int, seconds: float) -> None:
        sample = max(seconds, 1e-6) / size
        known = self.cost.get(huge)
        if known is None or not known / self.JUMP < sample < known * self.JUMP:
            self.cost[huge] = sample  # first, or the regime changed: follow at once
        else:
            self.cost[huge] = (known + sample) / 2
        self.last_try[huge] = self.chunks
        self.chunks += 1
        if len(self.cost) < 2:
            return
        if self.probing and known is None:  # the first pair of tries: the cheaper one starts
            self.current = min(self.cost, key=lambda kind: self.cost[kind])
        elif self.probing and huge != self.current:
            ratio = self.cost[huge] / self.cost[self.current]
            won = ratio < 1.0
            # a clear loser (3x) waits 4x longer: a cold huge try costs as much as 2 chunks
            self.gap = self.PROBE_EVERY if won else self.gap * (4 if ratio > self.JUMP else 2)
            if won:
                self.current = huge
        elif self.cost[self.current] > self.SWITCH * self.cost[not self.current]:
            self.current = not self.current


def run_memory(params: dict[str, Any], stop: Stop, reporter: Reporter) -> None:
    if is_shape(params["size_mb"]):  # grows and shrinks with the shape
        return run_memory_shape(params, stop, reporter)
    target = int(params["size_mb"]) << 20
    ramp_s = float(params["ramp_s"])
    chunks: list[mmap.mmap] = []
    held = 0
    huge_held = 0
    limited = ""
    fill_s: float | None = None
    start = time.monotonic()
    info = meminfo()
    reserve = runtime_reserve("memory", memory_reserve_bytes(info["MemTotal"]))
    last_avail = sum(available_bytes(info))
    last_swap_free = info.get("SwapFree", 0)

    def publish() -> None:
        resident = resident_bytes(chunks)
        reporter.publish(
            {"stress_mem_resident_bytes": float(resident)},
            held_bytes=held,
            target_bytes=target,
            fill_s=fill_s,
            huge_page_bytes=huge_held,  # how the pacer filled: the rest is small pages
            limited=limited,
        )

    publish()
    last_report = time.monotonic()
    pacer = _Pacer()
    while held < target and not stop.done() and not limited:
        if ramp_s > 0:
            due = int(target * min(1.0, (time.monotonic() - start) / ramp_s))
            step = min(CHUNK, due - held)
            if step < min(GRAIN, target - held):
                # Follow the ramp to the MiB: each step is a mapping of its own, and a ramp
                # taken page by page left ~10^4 of them, which counting what is resident every
                # second made cost 9 % of a core for as long as the memory was held.
                next_due = (held + GRAIN) / target * ramp_s - (time.monotonic() - start)
                stop.sleep(min(0.05, max(next_due, 0.001)))
                if time.monotonic() - last_report >= 1.0:
                    publish()
                    last_report = time.monotonic()
                continue
        else:
            step = CHUNK
        huge = pacer.huge()
        if pacer.probing or huge:
            step = min(step, pacer.PROBE_BYTES if pacer.probing else pacer.HUGE_CHUNK)
        step = min(max(step - step % PAGE, PAGE), target - held)
        info = meminfo()
        avail = sum(available_bytes(info))  # the per-CPU free lists' pages too: this takes them
        others = max(last_avail - avail, 0)  # what the rest of the machine took meanwhile
        swap_drop = last_swap_free - info.get("SwapFree", 0)
        if avail - step - 2 * others < reserve:
            limited = (
                f"stopped growing at {held >> 20} MiB: MemAvailable and the per-CPU free lists "
                f"{avail >> 20} MiB minus this "
                f"{step >> 20} MiB step would leave less than the {reserve >> 20} MiB reserve"
            )
            break
        if info.get("SwapTotal", 0) > 0 and swap_drop > (16 << 20):
            limited = f"stopped growing at {held >> 20} MiB: the machine started swapping"
            break
        last_avail, last_swap_free = avail - step, info.get("SwapFree", 0)
        t0 = time.monotonic()
        chunks.append(allocate(step, huge))
        pacer.record(huge, step, time.monotonic() - t0)
        held += step
        huge_held += step if huge else 0
        if time.monotonic() - last_report >= 1.0:
            publish()
            last_report = time.monotonic()
    if held >= target:
        fill_s = round(time.monotonic() - start, 4)
    publish()
    swap = meminfo().get("SwapTotal", 0) > 0
    while stop.sleep(1.0):
        if swap:  # keep it resident: re-touch every page
            for c in chunks:
                touch(c, 0x5B)
        publish()
    for c in chunks:
        c.close()
