"""Benchmark the predictive twin on real runs of this machine: record, fit, predict a held-out run.

    .venv/bin/python bench/model.py [--out DIR] [--reuse]

Records `profiles/train-contention.toml`, `profiles/train-cpu.toml` and
`profiles/train-memory.toml` (training, in that order: train-cpu holds no memory, so what
the contended fills free drains during it and train-memory starts on a settled idle) and
`profiles/holdout-mixed.toml` (held out: a schedule the model never saw) with `twin --batch`,
fits a model on the training runs only, predicts the held-out profile from its plan and scores
the prediction against what the held-out run measured: MAE and bias per metric, CPU in points,
memory used in % of its mean. Two predictions are scored: from the model's own idle baseline,
and "calibrated" with the idle levels measured in the held-out run's baseline (before any
event, as the runner can do when a run starts). `--reuse` takes the newest existing runs of
those profiles in `--out` instead of recording. Prints the table; writes `prediction.csv` into
the held-out run and the question's run so `twin analyze` scores them too.

Issue 14's figures too: the operator's question (two CPU workers at 80 % plus 4 GiB for 60 s,
recorded as `whatif-question`) scored like the held-out run; for both, the 90 % interval's
coverage and mean width and a flat guess (the training runs' mean) to beat; `--verify KIND`
(repeatable) also runs `twin capacity --verify KIND` and prints its last line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.analysis.fidelity import score_prediction  # noqa: E402
from core.event_lifecycle import PRELAUNCH_S  # noqa: E402
from core.model import (  # noqa: E402
    fit_runs,
    overload_warnings,
    predict_schedule,
    write_prediction,
)
from core.model.fills import MEMORY_FILL  # noqa: E402
from core.model.fit import load_training_run  # noqa: E402
from core.model.metric_fit import averaged  # noqa: E402
from core.model.percpu import summary as lists_summary  # noqa: E402
from core.model.predict import plan_pulses  # noqa: E402
from core.model.transients import MEMORY_RESIDUE, measured_releases  # noqa: E402
from core.profile import load_profile, resolve_schedule  # noqa: E402

TRAIN = ("train-contention", "train-cpu", "train-memory")
QUESTION = "whatif-question"
QUESTION_TOML = """\
name = "whatif-question"
description = "Two CPU workers at 80 % plus 4 GiB of memory for 60 s (issue 14's question)."
[sampling]
interval_s = 0.5
[run]
mode = "parallel"
baseline_s = 5
[[events]]
stressor = "cpu"
start_s = 0
duration_s = 60
params = { load_percent = 80, workers = 2 }
[[events]]
stressor = "memory"
start_s = 0
duration_s = 60
params = { size_mb = 4096 }
"""
HOLDOUT = "holdout-mixed"
TWIN = [sys.executable, "-m", "cli"]
SHOWN = (
    "cpu_percent",
    "mem_used_bytes",
    "mem_available_bytes",
    "load_1m",
    "net_sent_bytes_per_s",
    "disk_write_bytes_per_s",
    "psi_cpu_some_percent",
)


def profile_path(profile: str, out: Path) -> Path:
    if profile == QUESTION:
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{QUESTION}.toml"
        path.write_text(QUESTION_TOML)
        return path
    return ROOT / "profiles" / f"{profile}.toml"


def record(profile: str, out: Path) -> Path:
    proc = subprocess.run(
        [*TWIN, "--batch", str(profile_path(profile, out)), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode not in (0, 1) or not lines:
        sys.exit(f"recording {profile} failed:\n{proc.stderr}")
    if proc.returncode == 1:  # a failed event leaves a valid run: it is just not learnt from
        print(f"note: {profile}: {proc.stderr.strip().splitlines()[-1]}")
    return Path(lines[-1])


def newest(profile: str, out: Path) -> Path:
    runs = sorted(p for p in out.glob(f"*-{profile}*") if (p / "run.json").is_file())
    if not runs:
        sys.exit(f"no run of {profile} in {out}")
    return runs[-1]


def score(measured: pd.DataFrame, predicted: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    """metric -> (MAE, bias, mean measured), matched on elapsed_s (nearest sample)."""
    m = measured.sort_values("elapsed_s")
    p = predicted.sort_values("elapsed_s")
    joined = pd.merge_asof(m, p, on="elapsed_s", direction="nearest", suffixes=("", "_pred"))
    out: dict[str, tuple[float, float, float]] = {}
    for metric in predicted.columns:
        if metric == "elapsed_s" or metric not in measured.columns:
            continue
        err = (joined[f"{metric}_pred"] - joined[metric]).iloc[1:]  # the first row primes counters
        out[metric] = (
            float(err.abs().mean()),
            float(err.mean()),
            float(joined[metric].iloc[1:].mean()),
        )
    return out


def idle_levels(run: Path, first_event_s: float) -> dict[str, float]:
    """The run's idle before its first stressor launched, as `measure_levels` reads the machine
    when a run starts (one sample over the idle): a rate is the idle's mean (at 0.5 s on 2
    CPUs, CPU comes in whole points: a median of 0s and 1s is 0 or 1, never the 0.5 the idle
    burns), a level (memory) the median of its last second (memory freed just before the run
    may still be draining: 606 to 577 MiB over 5 s)."""
    data = pd.read_csv(run / "system_metrics_dataset.csv")
    launch = first_event_s - PRELAUNCH_S
    idle = data[(data["elapsed_s"] < launch) & (data.index > 0)]
    last = idle[idle["elapsed_s"] >= launch - 1.0]
    numeric = [c for c in idle.columns if pd.api.types.is_numeric_dtype(idle[c])]
    return {c: float(idle[c].mean() if averaged(c) else last[c].median()) for c in numeric}


def interval_scores(run: Path, prediction: pd.DataFrame, flat: dict[str, float]) -> None:
    """CPU and memory of one run: MAE (points, % of mean), the flat guess's, coverage, width."""
    scores = score_prediction(pd.read_csv(run / "system_metrics_dataset.csv"), prediction)
    rows = scores.set_index("metric")
    measured = pd.read_csv(run / "system_metrics_dataset.csv").iloc[1:]
    for metric, scale, unit in (("cpu_percent", 1.0, "points"), ("mem_used_bytes", 1024**2, "MiB")):
        if metric not in rows.index:
            continue
        r = rows.loc[metric]
        mean = float(measured[metric].mean())
        flat_mae = float((measured[metric] - flat.get(metric, mean)).abs().mean())
        print(
            f"  {metric}: MAE {r['mae'] / scale:.2f} {unit} "
            f"({r['mae'] / mean * 100:.1f}% of mean), "
            f"bias {r['bias'] / scale:+.2f}; flat guess {flat_mae / scale:.2f}; "
            f"90% coverage {r['coverage']:.0%}, mean width {r['mean_width'] / scale:.1f} {unit}"
        )
    saturated = [
        o
        for o in overload_warnings(
            MODEL[0],
            resolve_schedule(load_profile(profile_path(run.name.split("-", 1)[1], run.parent))),
        )
        if o.what == "cpu_saturated"
    ]
    print(f"  predicted CPU saturation: {', '.join(str(o) for o in saturated) or 'none'}")
    print(f"  measured CPU saturation (>= 98 %): {saturated_spans(measured) or 'none'}")


def release_lines(model: Any, run: Path, schedule: Any) -> None:
    """Per memory release of `run`: how long its event held the memory, what the release left
    counted as used (measured) and what the model predicted it would."""
    measured = load_training_run(run)
    planned = plan_pulses(model, schedule.events, schedule.total_s)
    left = {p.start_s: p.features["residue_mb"] for p in planned if p.kind == MEMORY_RESIDUE}
    ends = [p.end_s for p in planned if p.kind == "memory"]
    order = [p for p in measured.pulses if p.kind == "memory"]
    for release in measured_releases(measured.data, measured.pulses, measured.interval_s):
        planned_end = ends[order.index(release.pulse)] if len(ends) == len(order) else None
        predicted = left.get(planned_end, 0.0) if planned_end is not None else float("nan")
        print(
            f"  release of {release.pulse.features['size_mb']:.0f} MiB held "
            f"{release.hold_s:.1f} s: left {release.left_mb:.0f} MiB measured, "
            f"{predicted:.0f} MiB predicted"
        )


def saturated_spans(measured: pd.DataFrame) -> str:
    """The stretches of the run clock where the measured CPU was saturated (>= 98 %)."""
    busy = (measured["cpu_percent"] >= 98.0).to_numpy()
    t = measured["elapsed_s"].to_numpy()
    spans, start = [], None
    for i, flag in enumerate(busy):
        if flag and start is None:
            start = i
        if start is not None and (not flag or i == len(busy) - 1):
            end = i if flag else i - 1
            if end > start:  # one busy sample is noise, not saturation
                spans.append(f"{t[start]:.1f}-{t[end]:.1f} s")
            start = None
    return ", ".join(spans)


MODEL: list[Any] = []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/twin-model-runs"))
    parser.add_argument("--reuse", action="store_true", help="use existing runs in --out")
    parser.add_argument("--verify", action="append", default=[], choices=("cpu", "memory"))
    args = parser.parse_args()
    get = newest if args.reuse else record
    train = [get(p, args.out) for p in TRAIN]
    held = get(HOLDOUT, args.out)
    question = get(QUESTION, args.out)
    model, notes = fit_runs(train)
    MODEL[:] = [model]
    for note in notes:
        print(f"note: {note}")
    print(f"learnt fill: {model.fill or 'none'}")
    cpu_terms = model.metrics["cpu_percent"].terms if "cpu_percent" in model.metrics else {}
    if MEMORY_FILL in cpu_terms:
        fill_term = cpu_terms[MEMORY_FILL]
        print(
            f"  its CPU: {fill_term.gains.get('fill', 0.0):.1f} points per core at work"
            + (f", step {fill_term.gains['on']:+.1f}" if "on" in fill_term.gains else "")
            + f", lag {fill_term.tau_rise_s:g} s"
        )
    if "cpu" in cpu_terms:
        gains = cpu_terms["cpu"].gains
        print(
            f"learnt CPU stressor: {gains.get('drive', 0.0) + gains.get('on', 0.0):.1f} points "
            f"over idle at 100 % on every worker (step {gains.get('on', 0.0):+.1f})"
        )
    print(f"learnt release debt: {model.release or 'none'}")
    used_fit = model.metrics.get("mem_used_bytes")
    fit_of_used = used_fit.fit if used_fit is not None else {}
    lists = lists_summary(model.pcp_ref_bytes, fit_of_used, model.lists)
    print(f"learnt per-CPU free lists: {lists}")
    for run in map(load_training_run, train):
        for r in measured_releases(run.data, run.pulses, run.interval_s):
            print(
                f"  training release of {r.pulse.features['size_mb']:.0f} MiB held "
                f"{r.hold_s:.1f} s: left {r.left_mb:.0f} MiB"
            )
    schedule = resolve_schedule(load_profile(ROOT / "profiles" / f"{HOLDOUT}.toml"))
    measured = pd.read_csv(held / "system_metrics_dataset.csv")
    plain = predict_schedule(model, schedule)
    first = min(e.start_s for e in schedule.events)
    calibrated = predict_schedule(model, schedule, baseline=idle_levels(held, first))
    write_prediction(calibrated, held / "prediction.csv")
    s_plain, s_cal = score(measured, plain), score(measured, calibrated)
    host = json.loads((held / "run.json").read_text()).get("host", {})
    print(f"host {host.get('hostname')} ({host.get('logical_cpus')} CPUs)")
    print(f"training: {', '.join(p.name for p in train)}")
    print(f"held out: {held.name} ({len(measured)} samples)")
    idle = idle_levels(held, first)
    print(
        f"held-out idle (before its first event): cpu {idle['cpu_percent']:.0f}%, "
        f"mem used {idle['mem_used_bytes'] / 1024**3:.2f} GiB, load {idle['load_1m']:.2f} "
        "(a busy idle means other load shares the machine)"
    )
    heads = ("MAE", "bias", "MAE cal.", "bias cal.", "mean")
    print(f"{'metric':<24} " + " ".join(f"{h:>10}" for h in heads))
    for metric in SHOWN:
        if metric not in s_plain:
            continue
        (mae, bias, mean), (mae_c, bias_c, _) = s_plain[metric], s_cal[metric]
        scale = 1024**2 if "bytes" in metric else 1.0
        unit = " MiB" if scale > 1 else ""
        print(
            f"{metric + unit:<24} {mae / scale:>10.2f} {bias / scale:>10.2f} "
            f"{mae_c / scale:>10.2f} {bias_c / scale:>10.2f} {mean / scale:>10.1f}"
        )
    cpu, mem = s_plain["cpu_percent"], s_plain["mem_used_bytes"]
    cpu_c, mem_c = s_cal["cpu_percent"], s_cal["mem_used_bytes"]
    print(
        f"\nheld-out cpu_percent MAE {cpu[0]:.2f} points (calibrated {cpu_c[0]:.2f}); goal 3"
        f"\nheld-out mem_used_bytes MAE {mem[0] / mem[2] * 100:.2f}% of its mean "
        f"(calibrated {mem_c[0] / mem[2] * 100:.2f}%); goal 3%"
    )
    ok = cpu_c[0] <= 3 and mem_c[0] / mem[2] <= 0.03
    print("issue 14's held-out MAE goals met" if ok else "issue 14's held-out MAE goals NOT met")
    train_data = pd.concat([pd.read_csv(p / "system_metrics_dataset.csv") for p in train])
    flat = {m: float(train_data[m].mean()) for m in ("cpu_percent", "mem_used_bytes")}
    print(f"\nheld out {held.name}, calibrated, with 90% intervals:")
    interval_scores(held, calibrated, flat)
    release_lines(model, held, schedule)
    q_schedule = resolve_schedule(load_profile(profile_path(QUESTION, args.out)))
    q_first = min(e.start_s for e in q_schedule.events)
    q_pred = predict_schedule(model, q_schedule, baseline=idle_levels(question, q_first))
    write_prediction(q_pred, question / "prediction.csv")
    print(f"\nthe question ({question.name}: 2 x 80 % CPU + 4 GiB for 60 s), calibrated:")
    interval_scores(question, q_pred, flat)
    release_lines(model, question, q_schedule)
    for kind in args.verify:
        model_file = args.out / "bench-model.json"
        model.save(model_file)
        proc = subprocess.run(
            [
                *TWIN,
                "capacity",
                "--verify",
                kind,
                "--model",
                str(model_file),
                "--out",
                str(args.out),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        tail = proc.stdout.strip().splitlines()[-1:] or [proc.stderr.strip()]
        print(f"\ncapacity --verify {kind}: {tail[0]}")
    return 0 if bool(np.isfinite(cpu[0])) else 1


if __name__ == "__main__":
    sys.exit(main())
