"""`twin export`: every format re-parsed; Parquet reads back equal to the CSV."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.analysis.export import export_run
from core.rundir.read import load_run
from tests.conftest import run_twin
from tests.synthetic import Response, SynthEvent, write_bundle

EVENTS = [
    SynthEvent("e1", "cpu", 10.0, 10.0, {"load_percent": 50}, {"cpu_percent": Response(40.0)}),
    SynthEvent(
        "e2", "disk", 15.0, 10.0, {"write_mb_s": 5}, {"disk_write_bytes_per_s": Response(5e6)}
    ),
]


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return write_bundle(tmp_path / "run-x", EVENTS, duration_s=40.0, noise=0.2, seed=5)


def test_parquet_round_trip_equals_csv(run: Path) -> None:
    paths = export_run(load_run(run), "parquet")
    assert paths[0] == run / "export" / "dataset.parquet"
    back = pd.read_parquet(paths[0])
    csv = pd.read_csv(run / "system_metrics_dataset.csv", keep_default_na=False)
    assert list(back.columns[: len(csv.columns)]) == list(csv.columns)
    stamps = back["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
    assert list(stamps) == list(csv["timestamp"])
    numeric = [c for c in csv.columns if c not in ("timestamp", "active_events")]
    np.testing.assert_array_equal(back[numeric].to_numpy(), csv[numeric].to_numpy(dtype=float))
    assert list(back["active_events"]) == list(csv["active_events"].astype(str))
    both = back.loc[back["active_events"] == "e1;e2"]
    assert len(both) and set(both["event_stressors"]) == {"cpu;disk"}
    events = pd.read_parquet(paths[1])
    assert list(events["event_id"]) == ["e1", "e2"]


def test_jsonl_rows(run: Path) -> None:
    path = export_run(load_run(run), "jsonl")[0]
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 40
    assert rows[12]["active_events"] == "e1" and rows[12]["event_stressors"] == "cpu"
    assert isinstance(rows[0]["cpu_percent"], float)


LINE = re.compile(
    r"^server_twin(?P<tags>(,[a-z_]+=(?:[^ ,=\\]|\\.)+)+) (?P<fields>[a-z0-9_]+=[-0-9.e+]+"
    r"(,[a-z0-9_]+=[-0-9.e+]+)*) (?P<ts>\d{19})$"
)


def test_influx_line_protocol(run: Path) -> None:
    bundle = load_run(run)
    path = export_run(bundle, "influx")[0]
    lines = path.read_text().splitlines()
    assert len(lines) == 40
    for line in lines:
        m = LINE.match(line)
        assert m, line
        tags = dict(t.split("=", 1) for t in m["tags"].strip(",").split(","))
        assert tags["host"] == "synthetic-host" and tags["run"] == "run-x"
        fields = dict(f.split("=") for f in m["fields"].split(","))
        assert "cpu_percent" in fields
    first_ns = int(LINE.match(lines[0])["ts"])  # type: ignore[index]
    expected = pd.Timestamp(bundle.dataset["timestamp"].iloc[0]).value
    assert first_ns == expected
    assert "event=e1;e2" in path.read_text()


def test_openmetrics_parses(run: Path) -> None:
    parser = pytest.importorskip("prometheus_client.openmetrics.parser")
    path = export_run(load_run(run), "prometheus")[0]
    text = path.read_text()
    assert text.endswith("# EOF\n")
    families = {f.name: f for f in parser.text_string_to_metric_families(text)}
    cpu = families["server_twin_cpu_percent"]
    assert cpu.type == "gauge" and cpu.unit == "percent"
    assert len(cpu.samples) == 40
    assert all(s.timestamp is not None for s in cpu.samples)
    assert families["server_twin_mem_used_bytes"].unit == "bytes"
    assert any(s.labels.get("event") == "e1;e2" for s in cpu.samples)


def test_twin_export_subprocess(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    res = run_twin("export", str(run), "--format", "all", "-o", str(out))
    assert res.returncode == 0, res.stderr
    printed = res.stdout.split()
    assert str(out / "dataset.parquet") in printed and str(out / "dataset.lp") in printed
    assert all(Path(p).is_file() for p in printed)
    default = run_twin("export", str(run), "--format", "jsonl")
    assert default.stdout.split()[0] == str(run / "export" / "dataset.jsonl")
    assert run_twin("export", str(tmp_path / "nope"), "--format", "jsonl").returncode == 2
    assert run_twin("export", str(run), "--format", "xml").returncode == 2
