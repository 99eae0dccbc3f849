"""A real small run (profiles/smoke.toml, ~16 s of real stress) analysed and exported end to end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import run_twin


@pytest.mark.slow
def test_real_smoke_run_end_to_end(tmp_path: Path) -> None:
    batch = run_twin("--batch", "profiles/smoke.toml", "--out", str(tmp_path), timeout=180)
    assert batch.returncode == 0, batch.stderr
    run = Path(batch.stdout.strip().splitlines()[-1])
    res = run_twin("analyze", str(run), "--no-plots", timeout=120)
    assert res.returncode == 0, res.stderr
    responses = pd.read_csv(run / "analysis" / "responses.csv")
    events = pd.read_csv(run / "annotations.csv")
    assert set(responses["event_id"]) == set(events["event_id"])
    assert {"cpu_percent", "mem_used_bytes", "load_1m"} <= set(responses["metric"])
    # measures are either empty or plausible: never negative times
    for col in ("onset_lag_s", "rise_time_s", "recovery_time_s"):
        assert (responses[col].dropna() >= 0).all(), col
    exp = run_twin("export", str(run), "--format", "parquet", timeout=120)
    assert exp.returncode == 0, exp.stderr
    back = pd.read_parquet(run / "export" / "dataset.parquet")
    csv = pd.read_csv(run / "system_metrics_dataset.csv")
    assert len(back) == len(csv)
    assert back["cpu_percent"].tolist() == csv["cpu_percent"].tolist()
