"""Benchmark the predictive twin on real runs of this machine: record, fit, predict a held-out run.

    .venv/bin/python bench/model.py [--out DIR] [--reuse]

Records `profiles/train-cpu.toml` and `profiles/train-memory.toml` (training) and
`profiles/holdout-mixed.toml` (held out: a schedule the model never saw) with `twin --batch`,
fits a model on the training runs only, predicts the held-out profile from its plan and scores
the prediction against what the held-out run measured: MAE and bias per metric, CPU in points,
memory used in % of its mean. Two predictions are scored: from the model's own idle baseline,
and "calibrated" with the idle levels measured in the held-out run's baseline (before any
event, as the runner can do when a run starts). `--reuse` takes the newest existing runs of
those profiles in `--out` instead of recording. Prints the table; writes `prediction.csv` into
the held-out run so `twin analyze` scores it too.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.model import fit_runs, predict_schedule, write_prediction  # noqa: E402
from core.profile import load_profile, resolve_schedule  # noqa: E402

TRAIN = ("train-cpu", "train-memory")
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


def record(profile: str, out: Path) -> Path:
    proc = subprocess.run(
        [*TWIN, "--batch", str(ROOT / "profiles" / f"{profile}.toml"), "--out", str(out)],
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
    data = pd.read_csv(run / "system_metrics_dataset.csv")
    idle = data[(data["elapsed_s"] < first_event_s) & (data.index > 0)]
    numeric = [c for c in idle.columns if pd.api.types.is_numeric_dtype(idle[c])]
    return {c: float(idle[c].median()) for c in numeric}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/twin-model-runs"))
    parser.add_argument("--reuse", action="store_true", help="use existing runs in --out")
    args = parser.parse_args()
    get = newest if args.reuse else record
    train = [get(p, args.out) for p in TRAIN]
    held = get(HOLDOUT, args.out)
    model, notes = fit_runs(train)
    for note in notes:
        print(f"note: {note}")
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
        f"\nheld-out cpu_percent MAE {cpu[0]:.2f} points (calibrated {cpu_c[0]:.2f}); bar 5"
        f"\nheld-out mem_used_bytes MAE {mem[0] / mem[2] * 100:.2f}% of its mean "
        f"(calibrated {mem_c[0] / mem[2] * 100:.2f}%); bar 5%"
    )
    ok = cpu_c[0] < 5 and mem_c[0] / mem[2] < 0.05
    print("quality bar met" if ok else "quality bar NOT met")
    return 0 if bool(np.isfinite(cpu[0])) else 1


if __name__ == "__main__":
    sys.exit(main())
