"""Writes the two Grafana dashboards (Prometheus, InfluxDB) from one list of panels.

Run `python deploy/grafana/make_dashboards.py` after changing PANELS; the JSON files are
committed so Grafana can provision them without running anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# title -> (unit, dataset columns)
PANELS: dict[str, tuple[str, list[str]]] = {
    "CPU": ("percent", ["cpu_percent", "cpu_user_percent", "cpu_system_percent",
                        "cpu_iowait_percent", "cpu_steal_percent"]),
    "Memory": ("percent", ["mem_percent", "swap_percent"]),
    "Disk": ("Bps", ["disk_read_bytes_per_s", "disk_write_bytes_per_s"]),
    "Network": ("Bps", ["net_sent_bytes_per_s", "net_recv_bytes_per_s"]),
    "Load": ("short", ["load_1m", "load_5m", "load_15m", "procs_running", "procs_blocked"]),
    "PSI (some)": ("percent", ["psi_cpu_some_percent", "psi_memory_some_percent",
                               "psi_io_some_percent"]),
    "Probe: the logger's own cost": ("percent", ["logger_cpu_percent"]),
    "Probe: sample lateness": ("ms", ["sample_lateness_ms"]),
    "Stressor work": ("short", ["stress_cpu_loops_per_s", "stress_disk_ops_per_s"]),
}  # fmt: skip
DS = {
    "prometheus": {"type": "prometheus", "uid": "twin-prometheus"},
    "influxdb": {"type": "influxdb", "uid": "twin-influxdb"},
}


def target(kind: str, column: str, ref: str) -> dict[str, Any]:
    if kind == "prometheus":
        expr = f'server_twin_{column}{{run=~"$run"}}'
        return {"refId": ref, "expr": expr, "legendFormat": column, "datasource": DS[kind]}
    query = (
        f'SELECT mean("{column}") AS "{column}" FROM "server_twin" '
        'WHERE "run" =~ /^$run$/ AND $timeFilter GROUP BY time($__interval) fill(none)'
    )
    return {"refId": ref, "query": query, "rawQuery": True, "resultFormat": "time_series",
            "datasource": DS[kind]}  # fmt: skip


def annotation(kind: str) -> dict[str, Any]:
    base = {"name": "stress events", "enable": True, "iconColor": "orange", "datasource": DS[kind]}
    if kind == "prometheus":
        return {**base, "expr": 'server_twin_event_active{run=~"$run"} == 1', "step": "1s",
                "titleFormat": "{{event}} {{stressor}}", "textFormat": "{{label}}",
                "tagKeys": "event,stressor"}  # fmt: skip
    query = (
        'SELECT "label", "status", "params" FROM "server_twin_events" '
        'WHERE "run" =~ /^$run$/ AND $timeFilter'
    )
    return {**base, "query": query, "textColumn": "label", "tagsColumn": "event,stressor,phase"}


def run_variable(kind: str) -> dict[str, Any]:
    query = (
        "label_values(server_twin_run_info, run)"
        if kind == "prometheus"
        else 'SHOW TAG VALUES FROM "server_twin" WITH KEY = "run"'
    )
    return {"name": "run", "label": "run", "type": "query", "datasource": DS[kind],
            "query": query, "refresh": 2, "includeAll": True, "multi": True,
            "current": {"text": "All", "value": "$__all"}, "sort": 2}  # fmt: skip


def dashboard(kind: str) -> dict[str, Any]:
    panels = []
    for i, (title, (unit, columns)) in enumerate(PANELS.items()):
        panels.append({
            "id": i + 1, "type": "timeseries", "title": title, "datasource": DS[kind],
            "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": [target(kind, c, chr(ord("A") + j)) for j, c in enumerate(columns)],
        })  # fmt: skip
    return {
        "uid": f"server-twin-{kind}",
        "title": f"server-twin ({'Prometheus' if kind == 'prometheus' else 'InfluxDB'})",
        "tags": ["server-twin"],
        "schemaVersion": 39,
        "version": 1,
        "refresh": "5s",
        "time": {"from": "now-15m", "to": "now"},
        "templating": {"list": [run_variable(kind)]},
        "annotations": {"list": [annotation(kind)]},
        "panels": panels,
    }


if __name__ == "__main__":
    for kind in DS:
        path = HERE / "dashboards" / f"server-twin-{kind}.json"
        path.write_text(json.dumps(dashboard(kind), indent=2) + "\n")
        print(path)
