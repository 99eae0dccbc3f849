"""Drive `deploy/ansible/fleet.yml` with ansible-core: a subprocess of this venv's
`ansible-playbook`, configured only through `ANSIBLE_*` variables pointing into a temp dir, its
stdout the JSON lines of our callback plugin (`cli/fleet/callbacks/`).

ansible-playbook dies with twin (PR_SET_PDEATHSIG); the async jobs it started on the hosts end
by themselves (twin's own deadlines), and `stop_runs` sends them SIGTERM after an interruption.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.errors import BadInput, TwinError
from core.stressors._proc import arm_parent_death_signal

ROOT = Path(__file__).resolve().parents[2]  # the checkout (editable install)
PLAYBOOK_DIR = ROOT / "deploy" / "ansible"
CALLBACKS = Path(__file__).resolve().parent / "callbacks"
CALLBACK = "twin_fleet_events"
SOURCES = ("pyproject.toml", "README.md", "core", "tui", "cli")


def ansible_playbook() -> str:
    """The ansible-playbook beside this Python (its venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "ansible-playbook"
    found = str(beside) if beside.is_file() else shutil.which("ansible-playbook")
    if found is None:
        raise BadInput("ansible-core is not installed: pip install 'server-twin[fleet]'")
    return found


def playbook(name: str = "fleet.yml") -> Path:
    path = PLAYBOOK_DIR / name
    if not path.is_file():
        raise BadInput(f"{path}: the fleet playbook is missing (deploy/ansible/ of the checkout)")
    return path


def build_wheel(work: Path) -> Path | None:
    """This checkout as a wheel (no dependencies), built from a copy so the tree stays clean;
    None when twin is not running from a checkout."""
    if not (ROOT / "pyproject.toml").is_file():
        return None
    src = work / "src"
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif path.is_file():
            src.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, src / name)
    wheels = work / "wheels"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    built = sorted(wheels.glob("server_twin-*.whl"))
    if done.returncode != 0 or not built:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise TwinError(f"building the server-twin wheel failed: {tail[0]}")
    return built[-1]


def environment(work: Path, forks: int | None) -> dict[str, str]:
    """ansible-core configured for this run only (nothing read from or left in ~/.ansible)."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(work / "ansible.cfg"),  # an empty file: no ambient config
            "ANSIBLE_HOME": str(work / "ansible"),
            "ANSIBLE_LOCAL_TEMP": str(work / "ansible" / "tmp"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(work / "cp"),
            "ANSIBLE_ROLES_PATH": str(PLAYBOOK_DIR / "roles"),
            "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
            "ANSIBLE_STDOUT_CALLBACK": CALLBACK,
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_PIPELINING": "1",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_DEPRECATION_WARNINGS": "0",
            "ANSIBLE_INTERPRETER_PYTHON": env.get("ANSIBLE_INTERPRETER_PYTHON", "auto_silent"),
        }
    )
    if forks is not None:
        env["ANSIBLE_FORKS"] = str(forks)
    (work / "ansible.cfg").write_text("")
    return env


def play_events(
    work: Path,
    inventory: Path,
    extra_vars: dict[str, Any],
    *,
    limit: str | None,
    forks: int | None,
    name: str = "fleet.yml",
) -> Iterator[dict[str, Any] | subprocess.Popen[str]]:
    """Run a playbook; yield the Popen first (so the caller can interrupt it), then every event.

    Ends with an `{"event": "exit", "rc", "stderr"}` event."""
    vars_file = work / f"vars-{name}.json"
    vars_file.write_text(json.dumps(extra_vars))
    argv = [ansible_playbook(), "-i", str(inventory), str(playbook(name)), "-e", f"@{vars_file}"]
    if limit:
        argv += ["--limit", limit]
    stderr_path = work / f"stderr-{name}.txt"
    parent = os.getpid()
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            env=environment(work, forks),
            start_new_session=True,  # a terminal's Ctrl-C reaches twin, which stops it in order
            preexec_fn=lambda: arm_parent_death_signal(parent),
        )
        yield proc
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("{"):
                try:
                    yield json.loads(line)
                except ValueError:
                    continue
        rc = proc.wait()
    yield {"event": "exit", "rc": rc, "stderr": stderr_path.read_text(errors="replace")}


def stop_runs(work: Path, inventory: Path, hosts: list[str]) -> None:
    """SIGTERM the twin runs the role started on `hosts` (after an interrupted play)."""
    if not hosts:
        return
    events = play_events(work, inventory, {}, limit=":".join(hosts), forks=None, name="stop.yml")
    for item in events:
        if isinstance(item, subprocess.Popen):
            continue
