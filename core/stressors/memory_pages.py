"""Pages of the memory stressors: 64 MiB anonymous chunks made resident, and counting what is.

Shared by the constant stressor (`memory`) and the shaped one (`memory_shape`), so neither
imports the other. A chunk is faulted in by the kernel (MADV_POPULATE_WRITE) in 8 MiB slices
taken in turn by one thread per core (a small pool and the caller): ctypes releases the GIL
during madvise(2), so the slices really fill in parallel (the kernel zeroes pages, and on a VM
the host backs them, on every core). The caller still sees one chunk at a time, so its reserve
check before each chunk is unchanged.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import threading
from concurrent.futures import ThreadPoolExecutor

CHUNK = 64 << 20
GRAIN = 1 << 20  # a ramp or a shape is followed to the MiB: smaller steps only cost mappings
PAGE = mmap.PAGESIZE
SLICE_ALIGN = 2 << 20  # a slice boundary on a huge-page boundary keeps every 2 MiB page whole
MIN_SLICE = 8 << 20  # below this a thread hand-off costs more than the fill it shares
MAX_FILL_THREADS = 8

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
MADV_POPULATE_WRITE = 23  # Linux 5.14+: write-fault every page in one call

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def fill_threads() -> int:
    """How many slices a chunk is filled in: the cores this process may run on (at most 8)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except OSError:  # pragma: no cover - sched_getaffinity exists on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_FILL_THREADS))


def _fill_pool() -> ThreadPoolExecutor:
    """The helper threads, made on first use (the main thread fills one slice itself)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=max(1, fill_threads() - 1), thread_name_prefix="twin-mem-fill"
            )
        return _pool


def slices(size: int, parts: int) -> list[tuple[int, int]]:
    """(offset, length) pieces covering `size` bytes, cut on SLICE_ALIGN boundaries, each at
    least MIN_SLICE (fewer pieces than `parts` for a small chunk)."""
    parts = max(1, min(parts, size // MIN_SLICE))
    step = -(-size // parts)
    step += -step % SLICE_ALIGN
    return [(off, min(step, size - off)) for off in range(0, size, step)]


def _populate_range(address: int, length: int) -> bool:
    return int(_libc.madvise(address, length, MADV_POPULATE_WRITE)) == 0


def populate(m: mmap.mmap, threads: int | None = None) -> bool:
    """Fault in every page writable inside the kernel (2-4x faster than touching from Python
    on a VM), in MIN_SLICE slices that the main thread and the helpers take in turn (a thread
    on a core shared with other work takes fewer, instead of every chunk waiting for it);
    False where the kernel does not know MADV_POPULATE_WRITE."""
    anchor = ctypes.c_char.from_buffer(m)
    try:
        base = ctypes.addressof(anchor)
        pieces = slices(len(m), len(m) // MIN_SLICE)
        helpers = min(fill_threads() if threads is None else threads, len(pieces)) - 1
        if helpers <= 0:
            return all([_populate_range(base + off, n) for off, n in pieces])
        queue = iter(pieces)
        lock = threading.Lock()

        def take_slices() -> bool:
            ok = True
            while True:
                with lock:
                    piece = next(queue, None)
                if piece is None:
                    return ok
                ok = _populate_range(base + piece[0], piece[1]) and ok

        pool = _fill_pool()
        futures = [pool.submit(take_slices) for _ in range(helpers)]
        ok = take_slices()
        return all([f.result() for f in futures]) and ok
    finally:
        del anchor


def resident_bytes(chunks: list[mmap.mmap]) -> int:
    """Bytes of our chunks the kernel has resident right now (mincore(2), page by page)."""
    total = 0
    for m in chunks:
        pages = (len(m) + PAGE - 1) // PAGE
        vec = ctypes.create_string_buffer(pages)
        anchor = ctypes.c_char.from_buffer(m)
        try:
            if _libc.mincore(ctypes.addressof(anchor), len(m), vec) != 0:
                raise OSError(ctypes.get_errno(), "mincore failed")
        finally:
            del anchor  # release the buffer export, or the map could not be closed
        total += (pages - vec.raw.count(0)) * PAGE
    return total


def allocate(size: int, huge: bool = True, threads: int | None = None) -> mmap.mmap:
    """A private anonymous mapping of `size` bytes, every page resident and written."""
    m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if huge and hasattr(mmap, "MADV_HUGEPAGE"):
        # 2 MiB pages fault in faster (THP "madvise" mode); harmless when THP is off.
        m.madvise(mmap.MADV_HUGEPAGE)
    if not populate(m, threads):
        touch(m, 0x5A)  # an older kernel: the writes fault the pages in
    return m


def touch(m: mmap.mmap, value: int) -> None:
    """Write one byte in every page: each page becomes resident and private."""
    view = memoryview(m)
    view[::PAGE] = bytes([value]) * len(range(0, len(m), PAGE))
    view.release()
