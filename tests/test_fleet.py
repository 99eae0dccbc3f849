"""`twin fleet`: bad input, the fleet report on known responses, and a real fleet of SSH hosts.

The real test starts one sshd per fake host on 127.0.0.x (tests/fleetkit.py), each host with its
own twin_home: h1 installs twin through the play (a wheel of this checkout, its dependencies from
the package index pip is configured with), h2, h3 and h4 use this venv's twin (`twin_command`),
h3 has no server until the resume, and h4 loses its server and its twin mid-run.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import psutil
import pytest
from fleetkit import SshServer, client_key, missing_tools

from core.fleet import FAILED, write_fleet
from core.fleet.report import build_report, find_outliers
from tests.faults.faultkit import TAG_VAR, tagged_pids
from tests.synthetic import Response, SynthEvent, write_bundle

from conftest import check_run, run_twin

TINY = """\
name = "fleet-tiny"

[sampling]
interval_s = 0.5

[run]
baseline_s = 1

[[events]]
stressor = "cpu"
duration_s = 2
params = { load_percent = 50, workers = 1 }
"""


def test_a_missing_inventory_is_bad_input(tmp_path: Path, write_profile) -> None:
    profile = write_profile(TINY)
    done = run_twin("fleet", "run", str(profile), "-i", str(tmp_path / "nope.ini"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"twin: {tmp_path / 'nope.ini'}: no such inventory"]


def test_a_bad_profile_is_reported_file_line_and_nothing_is_sent(tmp_path: Path) -> None:
    profile = tmp_path / "bad.toml"
    profile.write_text(TINY.replace("duration_s = 2", "duration_s = 0"))
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("h1 ansible_host=127.0.0.1\n")
    fleet = tmp_path / "fleet"
    done = run_twin("fleet", "run", str(profile), "-i", str(inventory), "-o", str(fleet))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"{profile}:11: events[0].duration_s: must be > 0, not 0"
    ]
    assert "Traceback" not in done.stderr
    assert not fleet.exists()


def _responses(values: dict[str, float], onset: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "host": host,
                "event_id": "e01",
                "stressor": "cpu",
                "metric": "cpu_percent",
                "change": change,
                "onset_lag_s": onset[host],
                "recovery_time_s": 1.0,
                "threshold": 1.5,
                "interval_s": 0.5,
            }
            for host, change in values.items()
        ]
    )


def test_outliers_are_hosts_beyond_3_mads_and_the_measure_resolution() -> None:
    onset = {h: 0.5 for h in "abcde"}
    onset["e"] = 1.0  # one sample later: MAD is 0, but it is within the resolution
    frame = _responses({"a": 40.0, "b": 41.0, "c": 39.5, "d": 40.5, "e": 12.0}, onset)
    found = find_outliers(frame)
    assert found[["host", "measure"]].values.tolist() == [["e", "change"]]
    assert found["mads"].iloc[0] > 3
    # Three hosts within noise of each other: nothing is an outlier.
    calm = _responses({"a": 40.0, "b": 40.4, "c": 39.8}, {h: 0.5 for h in "abc"})
    assert find_outliers(calm).empty


def test_fleet_report_reads_every_host_and_names_the_one_that_responds_differently(
    tmp_path: Path,
) -> None:
    fleet = tmp_path / "fleet"
    sizes = {"h1": 40.0, "h2": 41.0, "h3": 39.0, "h4": 40.5, "slow": 8.0}
    hosts: dict[str, object] = {}
    for i, (host, size) in enumerate(sizes.items()):
        event = SynthEvent(
            "e01", "cpu", 20.0, 20.0, {"load_percent": 50}, {"cpu_percent": Response(size)}
        )
        run = write_bundle(
            fleet / host / "run-1", [event], duration_s=60, noise=0.3, seed=i, name="fleet"
        )
        hosts[host] = {"status": "completed", "run": str(run.relative_to(fleet)), "reason": ""}
    hosts["gone"] = {"status": FAILED, "run": None, "reason": "unreachable: connection refused"}
    write_fleet(fleet, {"profile": "p.toml", "started": "now", "hosts": hosts})
    report = build_report(fleet)
    data = pd.read_parquet(fleet / "fleet.parquet")
    assert sorted(data["host"].unique()) == sorted(sizes)
    assert len(data) == sum(len(b.dataset) for b in report.bundles.values())
    events = pd.read_parquet(fleet / "fleet_events.parquet")
    assert sorted(events["host"]) == sorted(sizes)
    flagged = report.outliers.loc[report.outliers["metric"] == "cpu_percent"]
    assert set(flagged["host"]) == {"slow"}
    text = (fleet / "report.md").read_text()
    assert "unreachable: connection refused" in text
    assert all(f"| {host} |" in text for host in sizes)
    assert "cpu_percent change" in text
    assert (fleet / "fleet_cpu_percent.png").stat().st_size > 1000


# --- the real fleet ---------------------------------------------------------------------


def _twin_of(home: Path) -> list[psutil.Process]:
    procs = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if "--batch" in cmd and str(home) in cmd:
            procs.append(proc)
    return procs


def _watch_and_kill(
    server: SshServer, home: Path, tags: list[str], seen: list[str], done: threading.Event
) -> None:
    """Scan every host's processes until `done` (so a stressor stays found after its twin is
    gone); when h4's run has samples and a live stressor, h4 goes down: its sshd and its twin."""
    while not done.is_set():
        for tag in tags:
            tagged_pids(tag)
        if "killed" not in seen:
            rows = [len(p.read_text().splitlines()) for p in home.glob("runs/*/system_metrics*")]
            twins = _twin_of(home)
            stressors = [child.pid for twin in twins for child in twin.children()]
            if rows and rows[0] >= 3 and stressors:
                seen.append(f"{len(stressors)} stressor process(es) live")
                server.stop()
                for proc in twins:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        proc.kill()
                seen.append("killed")
        done.wait(0.1)


def _left_behind(tags: list[str]) -> list[int]:
    """Processes of this test's twins still alive (stressors found through their groups);
    waits a little for the hosts' async job wrappers, which exit after their job."""
    deadline = time.monotonic() + 15
    while True:
        left = sorted(pid for tag in tags for pid in tagged_pids(tag))
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_a_real_fleet_over_ssh_collects_every_reachable_host_and_resumes(tmp_path: Path) -> None:
    why = missing_tools()
    if why:
        pytest.skip(why)
    if not (Path(sys.executable).parent / "ansible-playbook").is_file():
        pytest.skip("ansible-core is not installed in this venv (pip install -e '.[dev]')")
    key = client_key(tmp_path)
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(key.with_suffix(".pub").read_text())
    python = getattr(sys, "_base_executable", sys.executable)
    twin = str(Path(sys.executable).parent / "twin")
    tags = {name: uuid.uuid4().hex for name in ("h1", "h2", "h3", "h4")}
    servers = {
        name: SshServer(name, f"127.0.0.{11 + i}", tmp_path / name, authorized)
        for i, name in enumerate(["h1", "h2", "h3", "h4"])
    }
    homes = {name: tmp_path / f"{name}-home" for name in servers}
    # One host installs from the wheel (a fresh venv with every dependency: the slow part of
    # this test); the others use this checkout's twin, as a host that already has it does.
    own = {
        "h1": {"twin_python": python},
        "h2": {"twin_command": twin},
        "h3": {"twin_command": twin},
        "h4": {"twin_command": twin},
    }
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "hosts": {
                        name: server.host_vars(
                            key,
                            twin_home=str(homes[name]),
                            ansible_python_interpreter=python,
                            twin_environment={TAG_VAR: tags[name]},
                            twin_poll_s=1,
                            **own[name],
                        )
                        for name, server in servers.items()
                    }
                }
            }
        )
    )
    profile = tmp_path / "tiny.toml"
    profile.write_text(TINY)
    fleet = tmp_path / "fleet"
    done = threading.Event()
    command = ["fleet", "run", str(profile), "-i", str(inventory), "-o", str(fleet), "--forks", "4"]
    try:
        for name in ("h1", "h2", "h4"):
            servers[name].start()
        seen: list[str] = []
        watch_args = (servers["h4"], homes["h4"], list(tags.values()), seen, done)
        watcher = threading.Thread(target=_watch_and_kill, args=watch_args, daemon=True)
        watcher.start()
        first = run_twin(*command, timeout=300)
        assert "killed" in seen, first.stderr
        assert first.returncode == 1, first.stderr
        assert first.stdout.strip().splitlines()[-1] == str(fleet)
        manifest = json.loads((fleet / "fleet.json").read_text())
        assert manifest["profile"] == str(profile)
        hosts = manifest["hosts"]
        assert sorted(hosts) == ["h1", "h2", "h3", "h4"]
        for name in ("h1", "h2"):
            assert hosts[name]["status"] == "completed", hosts[name]
            run = fleet / hosts[name]["run"]
            assert run.parent == fleet / name
            assert check_run(run).returncode == 0, check_run(run).stdout
        for name in ("h3", "h4"):
            assert hosts[name]["status"] == "failed"
            assert "unreachable" in hosts[name]["reason"], hosts[name]
            assert f"failed: {name}: unreachable" in first.stderr
        assert _left_behind(list(tags.values())) == []
        assert (homes["h1"] / "venv" / "bin" / "twin").is_file()  # installed by the play
        assert not (homes["h2"] / "venv").exists()  # twin_command: nothing installed

        # --resume: the two failed hosts are back; only they run.
        servers["h3"].start()
        servers["h4"].start()
        second = run_twin(*command, "--resume", timeout=300)
        done.set()
        watcher.join(timeout=10)
        assert second.returncode == 0, second.stderr
        assert "already completed: h1, h2" in second.stderr
        after = json.loads((fleet / "fleet.json").read_text())["hosts"]
        assert all(after[name]["status"] == "completed" for name in after), after
        assert after["h1"] == hosts["h1"] and after["h2"] == hosts["h2"]
        for name in ("h1", "h2", "h3"):
            assert len(list(homes[name].glob("runs/*/run.json"))) == 1, name
        h4_runs = sorted(homes["h4"].glob("runs/*/run.json"))
        assert len(h4_runs) == 2  # the killed run (repaired by the next start) and the new one
        assert json.loads(h4_runs[0].read_text())["status"] == "interrupted"
        for entry in after.values():
            assert check_run(fleet / entry["run"]).returncode == 0
        assert _left_behind(list(tags.values())) == []

        report = run_twin("fleet", "report", str(fleet), timeout=120)
        assert report.returncode == 0, report.stderr
        data = pd.read_parquet(fleet / "fleet.parquet")
        assert sorted(data["host"].unique()) == ["h1", "h2", "h3", "h4"]
        text = (fleet / "report.md").read_text()
        assert all(f"| {name} |" in text for name in after)
        compare = run_twin(
            "compare",
            str(fleet / after["h1"]["run"]),
            str(fleet / after["h2"]["run"]),
            "-q",
            "--no-plots",
        )
        assert compare.returncode == 0, compare.stderr
    finally:
        done.set()
        for server in servers.values():
            server.stop()
        for home in homes.values():
            for proc in _twin_of(home):
                proc.kill()


def test_the_role_is_usable_without_twin_fleet() -> None:
    """The playbook and role parse as Ansible sees them (syntax check, no host contacted)."""
    playbook = Path(sys.executable).parent / "ansible-playbook"
    if not playbook.is_file():
        pytest.skip("ansible-core is not installed in this venv (pip install -e '.[dev]')")
    root = Path(__file__).resolve().parents[1] / "deploy" / "ansible"
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(root / "roles")}
    for name in ("fleet.yml", "stop.yml"):
        done = subprocess.run(
            [str(playbook), "-i", "localhost,", "--syntax-check", str(root / name)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert done.returncode == 0, done.stderr
