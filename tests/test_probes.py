"""Probes for real: a loopback service under a real CPU event, targets that refuse or hang,
the sched and fsync probes, command probes and the profile checks of `[[probes]]`."""

from __future__ import annotations

import csv
import json
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from probe_servers import cpu_service, hanging_listener, refused_port

from core.probes import ProbeSet, ProbeSpec
from core.probes.engine import ProbeWorker, nearest_rank
from core.probes.kinds import ProbeFailed
from core.telemetry.logger import expected_samples

from conftest import check_run, run_twin

pytestmark = pytest.mark.slow


def rows_of(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "system_metrics_dataset.csv", newline="") as f:
        return list(csv.DictReader(f))


def only_run(parent: Path) -> Path:
    runs = [p for p in parent.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def test_a_loopback_service_p99_rises_under_a_real_cpu_event(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    with cpu_service() as url:
        profile = write_profile(
            f"""name = "probe-cpu"
[sampling]
interval_s = 0.5
[run]
baseline_s = 4
[[events]]
stressor = "cpu"
duration_s = 5
[[probes]]
name = "api"
kind = "http"
url = "{url}"
every_s = 0.05
"""
        )
        result = run_twin("--batch", str(profile), "--out", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    run_dir = only_run(tmp_path / "runs")
    assert check_run(run_dir).returncode == 0
    rows = rows_of(run_dir)
    quiet = [float(r["probe_api_p99_ms"]) for r in rows if float(r["elapsed_s"]) <= 4.0]
    loaded = [float(r["probe_api_p99_ms"]) for r in rows if r["active_events"] == "e01"]
    assert sum(int(float(r["probe_api_errors"])) for r in rows) == 0
    assert len(quiet) >= 6 and len(loaded) >= 6
    # The same CPU-bound service answers later while twin's CPU stress competes with it.
    assert statistics.median(loaded) > statistics.median(quiet), (quiet, loaded)


def test_refused_and_hanging_targets_are_errors_and_the_row_count_stays_exact(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    with hanging_listener() as hang:
        profile = write_profile(
            f"""name = "probe-errors"
[sampling]
interval_s = 0.5
[run]
baseline_s = 4
[[probes]]
name = "refused"
kind = "tcp"
address = "127.0.0.1:{refused_port()}"
every_s = 0.1
[[probes]]
name = "hang"
kind = "http"
url = "http://{hang}/"
every_s = 0.1
timeout_s = 0.3
[[probes]]
name = "nodns"
kind = "http"
url = "http://no-such-host.invalid/"
every_s = 0.5
"""
        )
        result = run_twin("--batch", str(profile), "--out", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    run_dir = only_run(tmp_path / "runs")
    rows = rows_of(run_dir)
    assert len(rows) == expected_samples(4, 0.5) == 8
    for name in ("refused", "hang", "nodns"):
        errors = sum(float(r[f"probe_{name}_errors"]) for r in rows)
        counts = sum(float(r[f"probe_{name}_count"]) for r in rows)
        assert errors > 0 and errors == counts, name
        assert all(r[f"probe_{name}_p99_ms"] == "" for r in rows), name
    # the shared checker accepts the empty latency cells of intervals with no success
    checked = check_run(run_dir)
    assert checked.returncode == 0, checked.stdout
    manifest = json.loads((run_dir / "run.json").read_text())
    by_name = {p["name"]: p for p in manifest["probes"]}
    assert "refused" in by_name["refused"]["last_error"].lower()
    assert by_name["hang"]["errors"] == by_name["hang"]["attempts"] > 0


def test_sched_and_fsync_probes_measure_and_leave_no_file(tmp_path: Path) -> None:
    specs = [ProbeSpec("wake", "sched", every_s=0.01), ProbeSpec("disk", "fsync", every_s=0.1)]
    probes = ProbeSet(specs, tmp_path)
    probes.start()
    time.sleep(1.0)
    values: dict[str, float] = {}
    probes.collect(values)
    probes.stop()
    assert values["probe_wake_count"] >= 20 and values["probe_wake_errors"] == 0
    assert 0 <= values["probe_wake_p50_ms"] <= values["probe_wake_p99_ms"]
    assert values["probe_wake_p99_ms"] <= values["probe_wake_max_ms"]
    assert values["probe_disk_count"] >= 3 and values["probe_disk_errors"] == 0
    assert values["probe_disk_p50_ms"] > 0
    assert list(tmp_path.iterdir()) == []  # the fsync file never had a name


class _Gate:
    """A probe kind whose attempt blocks until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def open(self) -> None:
        pass

    def attempt(self) -> float:
        if not self.gate.wait(10):
            raise ProbeFailed("gate never opened")
        return 0.001

    def close(self) -> None:
        self.gate.set()


def test_an_attempt_hanging_past_its_timeout_is_one_error_at_once_and_never_counted_again() -> None:
    kind = _Gate()
    worker = ProbeWorker(ProbeSpec("slow", "tcp", every_s=60, timeout_s=0.1), kind)
    worker.start()
    time.sleep(0.3)  # the first attempt is running and past its timeout
    values: dict[str, float] = {}
    worker.collect(time.monotonic(), values)
    assert (values["probe_slow_count"], values["probe_slow_errors"]) == (1, 1)
    kind.gate.set()  # the late answer comes in
    time.sleep(0.1)
    worker.collect(time.monotonic(), values)
    assert (values["probe_slow_count"], values["probe_slow_errors"]) == (0, 0)
    assert values["probe_slow_p99_ms"] != values["probe_slow_p99_ms"]  # NaN: nothing measured
    worker.stop()
    worker.join(2)


def test_nearest_rank_gives_measured_values() -> None:
    values = sorted([5.0, 1.0, 3.0, 2.0, 4.0])
    assert nearest_rank(values, 0.5) == 3.0
    assert nearest_rank(values, 0.99) == 5.0
    assert nearest_rank([7.0], 0.99) == 7.0


def test_a_command_probe_is_refused_before_anything_starts_without_allow_commands(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    canary = tmp_path / "canary"
    profile = write_profile(
        f"""name = "probe-command"
[run]
baseline_s = 2
[[probes]]
name = "ready"
kind = "command"
argv = ["touch", "{canary}"]
every_s = 0.5
"""
    )
    out = tmp_path / "runs"
    refused = run_twin("--batch", str(profile), "--out", str(out))
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        f"{profile}:6: probes[0].kind: a command probe runs a program: refused unless "
        "--allow-commands is given (a profile alone never runs a command)"
    ]
    assert not canary.exists()
    assert not out.exists() or list(out.iterdir()) == []

    allowed = run_twin("--batch", str(profile), "--out", str(out), "--allow-commands")
    assert allowed.returncode == 0, allowed.stderr
    assert canary.exists()  # the operator allowed it: the program really ran
    rows = rows_of(only_run(out))
    assert sum(float(r["probe_ready_count"]) for r in rows) >= 2
    assert sum(float(r["probe_ready_errors"]) for r in rows) == 0


def test_bad_probe_definitions_get_one_line_each_and_exit_2(
    tmp_path: Path, write_profile: Callable[..., Path]
) -> None:
    profile = write_profile(
        """name = "probe-bad"
[run]
baseline_s = 2
[[probes]]
name = "api"
kind = "htp"
[[probes]]
name = "web"
kind = "http"
url = "localhost:8080/health"
[[probes]]
name = "web"
kind = "sched"
[steady_state.tolerances]
probe_db_p99_ms = { max = 50 }
"""
    )
    out = tmp_path / "runs"
    result = run_twin("--batch", str(profile), "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f'{profile}:6: probes[0].kind: unknown probe kind "htp" (did you mean "http"?)',
        f"{profile}:10: probes[1].url: must start with http:// or https://, "
        'not "localhost:8080/health"',
        f'{profile}:12: probes[2].name: duplicate probe name "web" (probes[1] has it): '
        "names must be unique, they name the dataset columns",
        f"{profile}:15: steady_state.tolerances.probe_db_p99_ms: no probe in this profile writes "
        'column "probe_db_p99_ms"',
    ]
    assert "Traceback" not in result.stderr
    assert not out.exists() or not any(p.is_dir() for p in out.iterdir())


def test_twin_plan_lists_probes_and_tolerances(write_profile: Callable[..., Path]) -> None:
    profile = write_profile(
        """name = "probe-plan"
[run]
baseline_s = 2
[[probes]]
name = "api"
kind = "http"
url = "http://127.0.0.1:8080/health"
every_s = 0.1
[[probes]]
name = "ready"
kind = "command"
argv = ["pg_isready", "-q"]
[steady_state]
abort = true
[steady_state.tolerances]
probe_api_p99_ms = { max = 50 }
mem_available_bytes = { min = 1073741824 }
"""
    )
    result = run_twin("plan", str(profile))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "api" in out and "GET http://127.0.0.1:8080/health" in out and "every 0.1 s" in out
    assert "pg_isready -q" in out  # listed (plan runs nothing), --allow-commands needed to run
    assert "probe_api_p99_ms" in out and "<= 50" in out
    assert "mem_available_bytes" in out and ">= 1073741824" in out
    assert "abort" in out
