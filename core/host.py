"""The machine a run or a model belongs to: its fingerprint (`run.json` "host", model files)."""

from __future__ import annotations

import hashlib
import json
import platform
import socket
from pathlib import Path
from typing import Any

import psutil


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def host_fingerprint() -> dict[str, Any]:
    """What identifies the machine a run or a model belongs to."""
    info: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "logical_cpus": psutil.cpu_count(logical=True) or 0,
        "physical_cpus": psutil.cpu_count(logical=False) or 0,
        "ram_bytes": psutil.virtual_memory().total,
        "kernel": platform.release(),
        "os": platform.system(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    stable = {k: info[k] for k in ("hostname", "cpu_model", "logical_cpus", "ram_bytes", "machine")}
    info["id"] = hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:16]
    return info
