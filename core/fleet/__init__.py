"""A fleet: the same profile run on many hosts, one run bundle per host, one manifest.

Layout (a contract): `FLEET_DIR/fleet.json` = `{"profile", "started", "hosts": {NAME:
{"status": "completed" | "failed", "run": PATH | null, "reason": TEXT}}}` and each host's bundle
in `FLEET_DIR/<inventory_hostname>/<run directory>/`; `run` is that bundle's path relative to
FLEET_DIR. `twin fleet report` adds `fleet.parquet`, `fleet_events.parquet`,
`fleet_responses.csv`, `report.md` and plots.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.rundir.atomic import write_json_atomic
from core.rundir.layout import MANIFEST

FLEET_MANIFEST = "fleet.json"
COMPLETED = "completed"
FAILED = "failed"


def read_fleet(fleet_dir: Path) -> dict[str, Any] | None:
    """FLEET_DIR/fleet.json, or None when there is none; BadInput when it is not a manifest."""
    path = fleet_dir / FLEET_MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: not a fleet manifest ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("hosts"), dict):
        raise BadInput(f"{path}: not a fleet manifest (no hosts)")
    return data


def write_fleet(fleet_dir: Path, data: dict[str, Any]) -> Path:
    """Replace fleet.json atomically (a reader never sees half a manifest)."""
    fleet_dir.mkdir(parents=True, exist_ok=True)
    path = fleet_dir / FLEET_MANIFEST
    write_json_atomic(path, data)
    return path


def completed_runs(fleet_dir: Path, manifest: dict[str, Any] | None) -> dict[str, Path]:
    """host -> its completed bundle, for hosts fleet.json says completed and whose bundle exists."""
    runs: dict[str, Path] = {}
    for host, entry in (manifest or {}).get("hosts", {}).items():
        if not isinstance(entry, dict) or entry.get("status") != COMPLETED or not entry.get("run"):
            continue
        run = fleet_dir / str(entry["run"])
        if (run / MANIFEST).is_file():
            runs[str(host)] = run
    return runs


def discover_runs(fleet_dir: Path) -> dict[str, Path]:
    """host -> newest bundle found as FLEET_DIR/<host>/<run>/ (when fleet.json is missing)."""
    runs: dict[str, Path] = {}
    for host_dir in sorted(p for p in fleet_dir.iterdir() if p.is_dir()):
        bundles = sorted(p.parent for p in host_dir.glob(f"*/{MANIFEST}"))
        if bundles:
            runs[host_dir.name] = bundles[-1]
    return runs
