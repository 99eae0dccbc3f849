"""Pages of the memory stressors: 64 MiB anonymous chunks made resident, and counting what is.

Shared by the constant stressor (`memory`) and the shaped one (`memory_shape`), so neither
imports the other.
"""

from __future__ import annotations

import ctypes
import mmap

CHUNK = 64 << 20
PAGE = mmap.PAGESIZE


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
MADV_POPULATE_WRITE = 23  # Linux 5.14+: write-fault every page in one call


def populate(m: mmap.mmap) -> None:
    """Fault in every page writable inside the kernel (2-4x faster than touching from Python
    on a VM); a no-op where the kernel does not know MADV_POPULATE_WRITE."""
    anchor = ctypes.c_char.from_buffer(m)
    try:
        _libc.madvise(ctypes.addressof(anchor), len(m), MADV_POPULATE_WRITE)
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


def allocate(size: int, huge: bool = True) -> mmap.mmap:
    m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if huge and hasattr(mmap, "MADV_HUGEPAGE"):
        # 2 MiB pages fault in faster (THP "madvise" mode); harmless when THP is off.
        m.madvise(mmap.MADV_HUGEPAGE)
    populate(m)
    touch(m, 0x5A)  # cheap once populated; does the work on older kernels
    return m


def touch(m: mmap.mmap, value: int) -> None:
    """Write one byte in every page: each page becomes resident and private."""
    view = memoryview(m)
    view[::PAGE] = bytes([value]) * len(range(0, len(m), PAGE))
    view.release()
