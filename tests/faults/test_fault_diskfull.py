"""Promise 3: the output filesystem filling up mid-run stops the stressors, marks the run
`degraded`, keeps every complete row and exits 1 saying why, even when the last writes of
annotations.csv and run.json themselves find no space and no inode; the disk stressor never
fills a disk. Real tiny filesystems (tmpfs), skipped with the reason where mounting is not
allowed."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from faultkit import (
    CPU_30S,
    annotations,
    assert_rows_contiguous,
    dataset_rows,
    eat_inodes,
    fill,
    manifest,
    only_run,
    profile_text,
    run_dirs,
    running_stressor,
    start_twin,
    stressor_pids,
    tag_guard,
    tmpfs,
    wait_gone,
)

from core.stressors import start_stressor
from core.stressors.safety import MIB, disk_reserve_bytes, disk_space

from conftest import check_run, run_twin

pytestmark = pytest.mark.slow


def _run_until_full(fs: Path, profile: Path, exhaust_inodes: bool) -> tuple[int, str, Path, float]:
    out = fs / "runs"
    with tag_guard() as tag:
        twin = start_twin(tag, "--batch", str(profile), "--out", str(out))
        running_stressor(tag, "e01")
        time.sleep(0.5)
        fill(fs)
        if exhaust_inodes:
            eat_inodes(fs)
        t0 = time.monotonic()
        _, err = twin.communicate(timeout=15)
        took = time.monotonic() - t0
        assert wait_gone(tag) == [], "stressors left after the disk filled up"
    return twin.returncode, err, only_run(out), took


@pytest.mark.parametrize("exhaust_inodes", [False, True], ids=["space", "space-and-inodes"])
def test_disk_full_mid_run_degrades_keeps_rows_and_exits_1(
    tmp_path: Path, write_profile: Callable[..., Path], exhaust_inodes: bool
) -> None:
    profile = write_profile(profile_text(CPU_30S, interval=0.1))
    options = "size=2m,nr_inodes=200" if exhaust_inodes else "size=2m"
    with tmpfs(tmp_path / "fs", options) as fs:
        code, err, run_dir, took = _run_until_full(fs, profile, exhaust_inodes)
        assert code == 1, err
        assert took < 5.0  # noticed at the next sample; the stressor stopped within its grace
        assert "twin: degraded" in err and "No space left on device" in err, err
        assert "Traceback" not in err
        info = manifest(run_dir)  # whole JSON, written through the space reserve
        assert info["status"] == "degraded" and info["exit_code"] == 1, info
        assert "No space left on device" in info["stop_reason"]
        rows = dataset_rows(run_dir)
        assert len(rows) == info["sample_count"] >= 5
        assert_rows_contiguous(rows, 0.1)
        e01 = annotations(run_dir)["e01"]
        assert e01["status"] == "aborted" and "No space left" in e01["message"], e01
        assert check_run(run_dir).returncode == 0, check_run(run_dir).stdout
        (fs / "filler").unlink()
        assert run_twin("recover", str(fs / "runs")).stdout.strip().endswith("nothing to repair")


def test_a_full_output_filesystem_is_refused_before_anything_starts(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    profile = write_profile(profile_text(CPU_30S, interval=0.1))
    with tmpfs(tmp_path / "fs", "size=1m") as fs:
        (fs / "runs").mkdir()
        fill(fs)
        with tag_guard() as tag:
            twin = start_twin(tag, "--batch", str(profile), "--out", str(fs / "runs"))
            _, err = twin.communicate(timeout=15)
            assert stressor_pids(tag) == []
        assert twin.returncode == 2, err
        assert "No space left on device" in err and "Traceback" not in err
        assert run_dirs(fs / "runs") == []


def test_a_disk_event_bigger_than_the_free_space_above_the_reserve_is_refused(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    disk = 'stressor = "disk"\nduration_s = 2\nparams = { file_mb = 1 }'
    with tmpfs(tmp_path / "fs", "size=2m") as fs:
        res = run_twin("--batch", str(write_profile(profile_text(disk))), "--out", str(fs))
        assert res.returncode == 2, res.stderr
        assert "file_mb: needs 1 MiB" in res.stderr and "reserve" in res.stderr
        assert run_dirs(fs) == []


def test_the_disk_stressor_stops_growing_before_the_reserve(tmp_path: Path) -> None:
    """The free space shrinks under the stressor after its size was checked (another writer
    takes 60 MiB): it re-checks as it grows and stops before the reserve is touched. The
    stressor is armed for a start 1 s ahead and held (SIGSTOP) while the other writer writes,
    so the 60 MiB are gone before its first block, whatever the scheduler does with this test:
    the first 64 MiB still fit, the re-check at 64 MiB stops it."""
    with tmpfs(tmp_path / "fs", "size=1200m") as fs:
        free, size = disk_space(fs)
        reserve = disk_reserve_bytes(size)
        file_mb = (free - reserve) // MIB - 4  # fits when it starts
        start_at = time.monotonic() + 1.0
        handle = start_stressor(
            "disk", {"file_mb": file_mb, "rate_mb_s": 200}, 3.0, fs, start_at=start_at
        )
        try:
            os.kill(handle.pid, signal.SIGSTOP)
            assert time.monotonic() < start_at, "could not hold the armed stressor in time"
            with (fs / "other-writer").open("wb") as f:  # someone else takes 60 MiB
                f.write(os.urandom(MIB) * 60)
            os.kill(handle.pid, signal.SIGCONT)
            lowest = free
            while handle.poll() is None:
                lowest = min(lowest, disk_space(fs)[0])
                time.sleep(0.02)
            status = handle.status()
        finally:
            if handle.poll() is None:
                os.kill(handle.pid, signal.SIGCONT)  # a held process would ignore the stop
            handle.stop(1.0)
        assert handle.poll() is not None and handle.poll().ok  # type: ignore[union-attr]
        assert "stopped growing at 64 MiB" in status["limited"], status
        assert lowest >= reserve, f"free space fell to {lowest / MIB:.0f} MiB"
        assert sorted(p.name for p in fs.iterdir()) == ["other-writer"]  # its file has no name
