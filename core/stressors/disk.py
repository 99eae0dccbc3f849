"""Disk stressor: write, read or mixed I/O on one unlinked file under the scratch directory.

The file is opened with O_TMPFILE (it never has a name, so its space comes back as soon as the
process dies, even after `kill -9`); where the filesystem refuses O_TMPFILE it is created and
unlinked at once. `fsync = true` makes every written block durable (fdatasync per block);
`false` writes through the page cache with one fdatasync per pass over the file. Reads drop
the file from the page cache (POSIX_FADV_DONTNEED) each pass so they reach the device;
`direct = true` uses O_DIRECT for both. While the file first grows, free space is re-checked
every 64 MiB and growth stops (reported in the status) before the reserve is touched.
"""

from __future__ import annotations

import errno
import mmap
import os
import random
import time
from pathlib import Path
from typing import Any

from core.stressors._runtime import RateMeter, Reporter, Stop, shaped_pacer
from core.stressors.safety import disk_reserve_bytes, disk_space, runtime_reserve

CHECK_EVERY = 64 << 20
_COLUMNS = (
    "stress_disk_read_bytes_per_s",
    "stress_disk_write_bytes_per_s",
    "stress_disk_ops_per_s",
)


def open_scratch_file(scratch: Path, direct: bool) -> tuple[int, bool]:
    """An unnamed read-write file in `scratch`; returns (fd, used O_TMPFILE)."""
    flags = os.O_RDWR | os.O_CLOEXEC | (os.O_DIRECT if direct else 0)
    try:
        return os.open(scratch, flags | os.O_TMPFILE, 0o600), True
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
            raise
        if direct and exc.errno == errno.EINVAL:
            # O_TMPFILE works but O_DIRECT may not: find out which.
            fd = os.open(scratch, (flags & ~os.O_DIRECT) | os.O_TMPFILE, 0o600)
            os.close(fd)
            raise OSError(errno.EINVAL, f"O_DIRECT is not supported on {scratch}") from None
    for _ in range(100):
        name = scratch / f".twin-stress-{os.getpid()}-{random.getrandbits(32):08x}"
        try:
            fd = os.open(name, flags | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        os.unlink(name)
        return fd, False
    raise OSError(errno.EEXIST, f"cannot create a scratch file in {scratch}")


class _Disk:
    def __init__(self, params: dict[str, Any], stop: Stop, reporter: Reporter, scratch: Path):
        self.block = int(params["block_kb"]) * 1024
        self.blocks = max(1, (int(params["file_mb"]) << 20) // self.block)
        self.fsync = bool(params["fsync"])
        self.direct = bool(params["direct"])
        rate = params.get("rate_mb_s")
        self.pacer = shaped_pacer(rate, stop, float(1 << 20))  # a shaped cap (core.shapes)
        self.rate = float(rate) * (1 << 20) if rate and self.pacer is None else 0.0
        self.stop = stop
        self.reporter = reporter
        self.scratch = scratch
        self.fd, self.tmpfile = open_scratch_file(scratch, self.direct)
        self.buf = mmap.mmap(-1, self.block)  # page aligned, as O_DIRECT wants
        self.buf.write(os.urandom(self.block))  # incompressible
        self.counters = dict.fromkeys(_COLUMNS, 0.0)
        self.counters["bytes"] = 0.0
        self.meter = RateMeter(_COLUMNS)
        self.t0 = time.monotonic()
        self.limited = ""

    def report(self, force: bool = False) -> None:
        if force or self.meter.due():
            self.reporter.publish(
                self.meter.rates(self.counters),
                file_bytes=self.blocks * self.block,
                tmpfile=self.tmpfile,
                limited=self.limited,
            )

    def pace(self) -> bool:
        """Wait for the rate cap; False when it is time to stop."""
        while self.pacer is not None:
            wait = self.pacer.wait_s(self.counters["bytes"], time.monotonic())
            if not wait:
                break
            if not self.stop.sleep(wait):
                return False
        if self.rate:
            ahead = self.counters["bytes"] / self.rate - (time.monotonic() - self.t0)
            if ahead > 0 and not self.stop.sleep(ahead):
                return False
        return not self.stop.done()

    def write_block(self, index: int) -> None:
        offset = index * self.block
        done = 0
        view = memoryview(self.buf)
        while done < self.block:
            done += os.pwrite(self.fd, view[done:], offset + done)
        view.release()
        if self.fsync:
            os.fdatasync(self.fd)
        self.counters["stress_disk_write_bytes_per_s"] += self.block
        self.counters["stress_disk_ops_per_s"] += 1
        self.counters["bytes"] += self.block

    def read_block(self, index: int) -> None:
        got = os.preadv(self.fd, [self.buf], index * self.block)
        self.counters["stress_disk_read_bytes_per_s"] += got
        self.counters["stress_disk_ops_per_s"] += 1
        self.counters["bytes"] += got

    def drop_cache(self) -> None:
        if not self.direct:
            os.fdatasync(self.fd)
            os.posix_fadvise(self.fd, 0, 0, os.POSIX_FADV_DONTNEED)

    def fill(self, durable_each_block: bool) -> bool:
        """Grow the file to its size (first pass). False if stopped before the end."""
        free, size = disk_space(self.scratch)
        reserve = runtime_reserve("disk", disk_reserve_bytes(size))
        fsync, self.fsync = self.fsync, durable_each_block
        try:
            for i in range(self.blocks):
                if (i * self.block) % CHECK_EVERY == 0:
                    free, _ = disk_space(self.scratch)
                    if free - min(CHECK_EVERY, (self.blocks - i) * self.block) < reserve:
                        if i == 0:
                            raise OSError(errno.ENOSPC, "no free space above the reserve")
                        self.limited = (
                            f"file stopped growing at {i * self.block >> 20} MiB: "
                            f"free space {free >> 20} MiB is near the {reserve >> 20} MiB reserve"
                        )
                        self.blocks = i
                        break
                if not self.pace():
                    return False
                self.write_block(i)
                self.report()
        finally:
            self.fsync = fsync
        if not durable_each_block:
            os.fdatasync(self.fd)
        return True

    def run(self, mode: str) -> None:
        self.report(force=True)
        if not self.fill(self.fsync if mode == "write" else False):
            return
        if mode == "write":
            while True:
                for i in range(self.blocks):
                    if not self.pace():
                        return
                    self.write_block(i)
                    self.report()
                if not self.fsync:
                    os.fdatasync(self.fd)
        rng = random.Random(0x7717)
        while True:
            self.drop_cache()
            for i in range(self.blocks):
                if not self.pace():
                    return
                if mode == "read":
                    self.read_block(i)
                elif rng.random() < 0.5:
                    self.read_block(rng.randrange(self.blocks))
                else:
                    self.write_block(rng.randrange(self.blocks))
                self.report()

    def close(self) -> None:
        os.close(self.fd)
        self.buf.close()


def run_disk(params: dict[str, Any], stop: Stop, reporter: Reporter, scratch: Path) -> None:
    disk = _Disk(params, stop, reporter, scratch)
    try:
        disk.run(str(params["mode"]))
        disk.report(force=True)
    finally:
        disk.close()
