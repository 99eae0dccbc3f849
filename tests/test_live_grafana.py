"""The Grafana dashboards: generated from one panel list, naming only real dataset columns."""

from __future__ import annotations

import json
import re
import runpy

from conftest import ROOT, run_twin

GRAFANA = ROOT / "deploy" / "grafana"


def test_dashboards_are_current_and_name_real_columns() -> None:
    make = runpy.run_path(str(GRAFANA / "make_dashboards.py"))
    listed = run_twin("columns")
    assert listed.returncode == 0, listed.stderr
    known = {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}
    for kind in ("prometheus", "influxdb"):
        path = GRAFANA / "dashboards" / f"server-twin-{kind}.json"
        committed = json.loads(path.read_text())
        assert committed == make["dashboard"](kind), f"{path}: rerun make_dashboards.py"
        text = path.read_text()
        named = set(re.findall(r"server_twin_([a-z0-9_]+)\{", text))
        named |= set(re.findall(r'mean\(\\"([a-z0-9_]+)\\"\)', text))
        assert named, "no query found"
        assert named - {"event_active", "run_info"} <= known
        assert {p["title"] for p in committed["panels"]} >= {
            "CPU", "Memory", "Disk", "Network", "Load", "PSI (some)"
        }  # fmt: skip
        assert committed["templating"]["list"][0]["name"] == "run"
        assert committed["annotations"]["list"][0]["enable"] is True
