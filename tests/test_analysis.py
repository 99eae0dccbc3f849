"""Analysis on synthetic run bundles with known answers (tests/synthetic.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.analysis.compare import compare_results
from core.analysis.fidelity import score_prediction
from core.analysis.pipeline import analyze_run, compute
from core.errors import BadInput
from core.rundir.read import load_run
from tests.conftest import check_run, run_twin
from tests.synthetic import Response, SynthEvent, write_bundle

# e1: CPU +50 points, 3 s delay, 5 s ramp, 4 s linear recovery.
# e2: memory +1 GiB, a step 1 s after the start, back within 2 s.
CPU = Response(size=50.0, delay_s=3.0, ramp_s=5.0, recovery_s=4.0)
MEM = Response(size=2.0**30, delay_s=1.0, ramp_s=0.0, recovery_s=2.0)
EVENTS = [
    SynthEvent("e1", "cpu", 20.0, 30.0, {"load_percent": 50}, {"cpu_percent": CPU}),
    SynthEvent("e2", "memory", 70.0, 20.0, {"size_mb": 1024}, {"mem_used_bytes": MEM}),
]


def responses_of(run: Path) -> pd.DataFrame:
    frame = pd.read_csv(run / "analysis" / "responses.csv")
    return frame.set_index(["event_id", "metric"])


@pytest.fixture
def synth_run(tmp_path: Path) -> Path:
    return write_bundle(tmp_path / "run-a", EVENTS, duration_s=120.0, noise=0.3, seed=7)


def test_synthetic_bundle_follows_the_contract(synth_run: Path) -> None:
    result = check_run(synth_run)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_step_size_delay_rise_and_recovery_are_measured(tmp_path: Path, noise: float) -> None:
    run = write_bundle(tmp_path / "run", EVENTS, duration_s=120.0, noise=noise, seed=3)
    analyze_run(run, with_plots=False)
    r = responses_of(run)
    interval = 1.0
    cpu = r.loc[("e1", "cpu_percent")]
    assert cpu["baseline"] == pytest.approx(3.0, abs=0.5)
    assert cpu["change"] == pytest.approx(50.0, abs=1.0)
    assert cpu["peak"] == pytest.approx(53.0, abs=1.5)
    # onset: the first sample after start + delay; within one sample of the true delay
    assert CPU.delay_s <= cpu["onset_lag_s"] <= CPU.delay_s + interval
    # 10 -> 90 % of a linear ramp lasts 0.8 * ramp
    assert cpu["rise_time_s"] == pytest.approx(0.8 * CPU.ramp_s, abs=interval)
    # back within 10 % of the change after 0.9 * recovery_s
    assert 0.9 * CPU.recovery_s <= cpu["recovery_time_s"] <= 0.9 * CPU.recovery_s + interval
    mem = r.loc[("e2", "mem_used_bytes")]
    assert mem["change"] == pytest.approx(2.0**30, rel=0.01)
    assert MEM.delay_s <= mem["onset_lag_s"] <= MEM.delay_s + interval
    assert mem["rise_time_s"] <= interval  # a step rises within one sample
    avail = r.loc[("e2", "mem_available_bytes")]
    assert avail["change"] == pytest.approx(-(2.0**30), rel=0.01)
    assert avail["peak"] < avail["baseline"]  # the extreme in the direction of the change


def test_unmeasurable_values_are_empty_cells(synth_run: Path) -> None:
    analyze_run(synth_run, with_plots=False)
    text = (synth_run / "analysis" / "responses.csv").read_text().splitlines()
    header = text[0].split(",")
    for col in [
        "event_id",
        "metric",
        "baseline",
        "level",
        "change",
        "peak",
        "onset_lag_s",
        "rise_time_s",
        "recovery_time_s",
    ]:
        assert col in header
    r = responses_of(synth_run)
    # the CPU event does not move the network: no onset, rise or recovery is made up
    net = r.loc[("e1", "net_sent_bytes_per_s")]
    assert not net["detectable"]
    assert math.isnan(net["onset_lag_s"]) and math.isnan(net["rise_time_s"])
    assert math.isnan(net["recovery_time_s"])
    assert not any(",nan" in line.lower() for line in text)


def test_run_without_events(tmp_path: Path) -> None:
    run = write_bundle(tmp_path / "quiet", [], duration_s=60.0, noise=0.5)
    result = analyze_run(run)
    assert result.responses.empty
    assert (run / "analysis" / "responses.csv").read_text().startswith("event_id,")
    assert (run / "analysis" / "report.md").is_file()
    assert result.quality.events == 0


def test_truncated_last_row_is_dropped_and_reported(tmp_path: Path) -> None:
    run = write_bundle(tmp_path / "cut", EVENTS, duration_s=120.0, truncate_last=True)
    bundle = load_run(run)
    assert bundle.truncated_last_row
    assert len(bundle.dataset) == 119
    assert bundle.dataset["elapsed_s"].iloc[-1] == 119.0
    result = compute(bundle)
    assert any("truncated" in p for p in result.quality.problems)


def test_quality_finds_gaps_missing_samples_and_events_without_samples(tmp_path: Path) -> None:
    events = [*EVENTS, SynthEvent("e3", "disk", 100.0, 1.5, {"write_mb_s": 10})]
    # drop the samples of e3 (t=101, 102) and a few more to make a gap
    run = write_bundle(tmp_path / "gappy", events, duration_s=120.0, drop_rows=(100, 101, 40))
    q = compute(load_run(run)).quality
    assert q.missing_samples == 3
    assert q.gaps == 2 and q.max_gap_s == pytest.approx(3.0)
    assert q.events_without_samples == ["e3"]
    assert q.lateness_ms and q.lateness_ms["max"] >= q.lateness_ms["p50"]


def test_aggregate_per_stressor_and_parameter(tmp_path: Path) -> None:
    events = [
        SynthEvent(
            f"e{i}",
            "cpu",
            20.0 + 40 * i,
            20.0,
            {"load_percent": level},
            {"cpu_percent": Response(level, 1.0, 2.0, 2.0)},
        )
        for i, level in enumerate([25, 50, 75, 25, 50, 75])
    ]
    run = write_bundle(tmp_path / "sweep", events, duration_s=280.0, noise=0.2)
    analyze_run(run, with_plots=False)
    agg = pd.read_csv(run / "analysis" / "responses_by_param.csv")
    cpu = agg.loc[agg["metric"] == "cpu_percent"].set_index("param")
    assert list(cpu["events"]) == [2, 2, 2]
    for level in (25, 50, 75):
        assert cpu.loc[f"load_percent={level}", "change"] == pytest.approx(level, abs=1.0)


def test_files_written(synth_run: Path) -> None:
    result = analyze_run(synth_run)
    out = synth_run / "analysis"
    for name in ("responses.csv", "summary.csv", "correlation.csv", "report.md", "quality.json"):
        assert (out / name).is_file(), name
    assert (out / "timeseries.txt").read_text().strip()
    report = (out / "report.md").read_text()
    assert report.index("Data quality") < report.index("Responses")
    corr = pd.read_csv(out / "correlation.csv", index_col=0)
    assert list(corr.index) == list(corr.columns)
    assert np.allclose(np.diag(corr.to_numpy()), 1.0)
    pngs = {p.name for p in result.plots if p.suffix == ".png"}
    pytest.importorskip("matplotlib")
    assert {"timeseries.png", "correlation_heatmap.png", "scatter_pairs.png"} <= pngs
    assert (out / "timeseries.png").read_bytes()[:4] == b"\x89PNG"


def test_prediction_is_scored_when_present(synth_run: Path) -> None:
    data = load_run(synth_run).dataset
    pred = data[["elapsed_s", "cpu_percent"]].copy()
    pred["cpu_percent"] = pred["cpu_percent"] + 2.0  # biased by +2 everywhere
    pred.loc[pred["elapsed_s"].between(60, 65), "cpu_percent"] += 40.0
    score = score_prediction(data, pred).set_index("metric")
    assert score.loc["cpu_percent", "bias"] == pytest.approx(2.0 + 40 * 6 / 120, abs=0.01)
    assert 60 <= score.loc["cpu_percent", "max_error_at_s"] <= 65
    pred.to_csv(synth_run / "prediction.csv", index=False)
    analyze_run(synth_run, with_plots=False)
    assert (synth_run / "analysis" / "fidelity.csv").is_file()
    assert "Twin fidelity" in (synth_run / "analysis" / "report.md").read_text()


def test_compare_two_runs_of_the_same_profile(tmp_path: Path) -> None:
    a = write_bundle(tmp_path / "a", EVENTS, duration_s=120.0, noise=0.3, seed=1)
    slower = [
        EVENTS[0].__class__(
            **{**EVENTS[0].__dict__, "responses": {"cpu_percent": Response(30.0, 3.0, 5.0, 4.0)}}
        ),
        EVENTS[1],
    ]
    b = write_bundle(tmp_path / "b", slower, duration_s=120.0, noise=0.3, seed=2)
    cmp = compare_results(analyze_run(a, with_plots=False), analyze_run(b, with_plots=False))
    changed = cmp.changed.set_index(["event_id", "metric"])
    assert ("e1", "cpu_percent") in changed.index
    assert changed.loc[("e1", "cpu_percent"), "change_delta"] == pytest.approx(-20.0, abs=1.5)
    assert ("e2", "mem_used_bytes") not in changed.index


def test_bad_input_raises() -> None:
    with pytest.raises(BadInput):
        load_run(Path("/nonexistent/run"))


def test_twin_analyze_subprocess(synth_run: Path, tmp_path: Path) -> None:
    ok = run_twin("analyze", str(synth_run), "--no-plots")
    assert ok.returncode == 0, ok.stderr
    assert "responses.csv" in ok.stdout
    bad = run_twin("analyze", str(tmp_path / "missing"))
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
    (tmp_path / "empty").mkdir()
    not_run = run_twin("analyze", str(tmp_path / "empty"))
    assert not_run.returncode == 2 and "not a run bundle" in not_run.stderr


def test_twin_compare_subprocess(tmp_path: Path) -> None:
    a = write_bundle(tmp_path / "a", EVENTS, duration_s=120.0, noise=0.3, seed=1)
    b = write_bundle(tmp_path / "b", EVENTS, duration_s=120.0, noise=0.3, seed=2)
    res = run_twin("compare", str(a), str(b), "--no-plots")
    assert res.returncode == 0, res.stderr
    out = b / "analysis" / "compare-a.csv"
    assert out.is_file() and str(out) in res.stdout
    assert json.loads((a / "analysis" / "quality.json").read_text())["samples"] == 120
