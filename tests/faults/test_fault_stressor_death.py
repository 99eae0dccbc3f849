"""Promises 4 and 5: a stressor that dies (killed, OOM-killed, crashed) is noticed within a
second, its event `failed` with the reason while the rest of the run goes on (exit 1); a
stressor that ignores SIGTERM is killed within the grace period."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from faultkit import (
    annotations,
    manifest,
    only_run,
    profile_text,
    running_stressor,
    running_stressors,
    start_twin,
    tag_guard,
    tagged_env,
    wait_gone,
)

from conftest import check_run

pytestmark = pytest.mark.slow


def _wall(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _event(kind: str, start: float, duration: float, params: str) -> str:
    return f'stressor = "{kind}"\nstart_s = {start}\nduration_s = {duration}\nparams = {params}'


DEFAULT_EVENTS = (
    _event("cpu", 0, 3, "{ load_percent = 10, workers = 1 }"),
    _event("memory", 0, 3, "{ size_mb = 64, ramp_s = 2 }"),
    _event("network", 0, 3, "{ rate_mbit_s = 10 }"),
    _event("cpu", 2, 1, "{ load_percent = 10, workers = 1 }"),
)


def _run_with_kills(
    tmp_path: Path,
    write_profile: Callable[..., Path],
    kills: dict[str, Callable[[int], None]],
    events: tuple[str, ...] = DEFAULT_EVENTS,
    delay: float = 0.6,
) -> tuple[Path, str, dict[str, float], int]:
    """By default e01 cpu, e02 memory, e03 network run 3 s; e04 cpu starts at 2 s. `kills`
    kill some of them `delay` s after they run; returns (run dir, stderr, wall time of each
    kill, exit code)."""
    profile = write_profile(profile_text(*events))
    out = tmp_path / "runs"
    killed_at: dict[str, float] = {}
    with tag_guard() as tag:
        twin = start_twin(tag, "--batch", str(profile), "--out", str(out))
        pids = running_stressors(tag, list(kills))
        time.sleep(delay)
        for eid, kill in kills.items():
            kill(pids[eid])
            killed_at[eid] = time.time()
        _, err = twin.communicate(timeout=20)
        assert wait_gone(tag) == []
    return only_run(out), err, killed_at, twin.returncode


def test_a_killed_or_crashed_stressor_fails_its_event_within_a_second_and_the_run_goes_on(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    kills = {
        "e01": lambda pid: os.kill(pid, signal.SIGKILL),
        "e03": lambda pid: os.kill(pid, signal.SIGSEGV),  # a crash
    }
    run_dir, err, killed_at, code = _run_with_kills(tmp_path, write_profile, kills)
    assert code == 1, err
    ann = annotations(run_dir)
    for eid, reason in (("e01", "killed by SIGKILL"), ("e03", "killed by SIGSEGV")):
        assert ann[eid]["status"] == "failed" and reason in ann[eid]["message"], ann[eid]
        noticed = _wall(ann[eid]["end_time"]) - killed_at[eid]
        assert -0.05 <= noticed < 1.0, f"{eid} noticed {noticed:.2f} s after it died"
    assert ann["e02"]["status"] == "completed" and ann["e04"]["status"] == "completed"
    info = manifest(run_dir)
    assert info["status"] == "failed" and info["exit_code"] == 1
    assert "e01 failed: killed by SIGKILL" in info["stop_reason"]
    assert "e01 cpu failed: killed by SIGKILL" in err
    assert check_run(run_dir).returncode == 0


@contextlib.contextmanager
def memory_cgroup(limit: int) -> Iterator[Path]:
    """A memory cgroup (v1 or v2) limited to `limit` bytes; yields its `cgroup.procs`."""
    name = f"twin-fault-{os.getpid()}"
    for base, knob in (
        (Path("/sys/fs/cgroup/memory"), "memory.limit_in_bytes"),
        (Path("/sys/fs/cgroup"), "memory.max"),
    ):
        cg = base / name
        try:
            cg.mkdir()
        except OSError:
            continue
        try:
            (cg / knob).write_text(str(limit))
        except OSError:
            cg.rmdir()
            continue
        try:
            yield cg / "cgroup.procs"
        finally:
            for _ in range(50):
                try:
                    cg.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)
        return
    pytest.skip("no writable memory cgroup here (needs root and a cgroup v1/v2 memory controller)")


def test_an_oom_killed_stressor_fails_its_event_as_oom(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    """A real OOM kill: the memory stressor, moved into a 32 MiB cgroup while it ramps to 64 MiB."""
    with memory_cgroup(32 << 20) as procs:
        kills = {"e01": lambda pid: procs.write_text(str(pid))}
        events = (
            _event("memory", 0, 4, "{ size_mb = 64, ramp_s = 3.5 }"),
            _event("cpu", 0, 4, "{ load_percent = 10, workers = 1 }"),
        )
        run_dir, err, _, code = _run_with_kills(tmp_path, write_profile, kills, events, 0.0)
    assert code == 1, err
    ann = annotations(run_dir)
    # the reason first; a start late under the suite's load adds its own note after "; "
    reason = ann["e01"]["message"].split("; ")[0]
    assert ann["e01"]["status"] == "failed" and reason == "OOM-killed", ann["e01"]
    assert ann["e02"]["status"] == "completed", ann["e02"]


SITECUSTOMIZE = """
import signal
_install = signal.signal
def _ignore_term(sig, handler):
    return _install(sig, signal.SIG_IGN if sig == signal.SIGTERM else handler)
signal.signal = _ignore_term
"""


def test_a_stressor_ignoring_sigterm_is_killed_within_the_grace(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    """Every process of this twin ignores SIGTERM (a sitecustomize on its PYTHONPATH), the
    stressor included; stopping the run must still end it, by SIGKILL after the 2 s grace."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    profile = write_profile(profile_text(_event("memory", 0, 30, "{ size_mb = 16 }")))
    out = tmp_path / "runs"
    with tag_guard() as tag:
        env = tagged_env(tag, PYTHONPATH=str(hooks))
        twin = start_twin(tag, "--batch", str(profile), "--out", str(out), env=env)
        pid = running_stressor(tag, "e01")
        assert Path(f"/proc/{pid}/status").read_text().count("SigIgn") == 1
        ignored = int(
            next(
                ln
                for ln in Path(f"/proc/{pid}/status").read_text().splitlines()
                if ln.startswith("SigIgn")
            ).split()[1],
            16,
        )
        assert ignored & (1 << (signal.SIGTERM - 1)), "the stressor does not ignore SIGTERM"
        t0 = time.monotonic()
        twin.send_signal(signal.SIGINT)
        _, err = twin.communicate(timeout=10)
        took = time.monotonic() - t0
        assert wait_gone(tag, 0.5) == []
    assert 1.9 <= took < 3.5, f"stopped after {took:.2f} s with a 2 s grace"
    e01 = annotations(only_run(out))["e01"]
    assert e01["status"] == "aborted", e01
    assert "ignored SIGTERM; killed by SIGKILL after the 2 s grace" in e01["message"], e01
    assert twin.returncode == 1, err
