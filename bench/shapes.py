"""Tracking error of shaped events and of a replay against its source (issue 15); prints figures.

    .venv/bin/python bench/shapes.py [--seconds 20] [--interval 0.5]

1. A run with a CPU ramp (`target = "system"`), a memory ramp, a disk write-rate steps shape and
   a network sine, all at once: each metric against its planned shape, sample by sample.
2. That run replayed (`twin replay`) and run again: each metric against the source.
CPU: MAE in points; memory: MAE of `mem_used_bytes` in % of the source's change; disk and
network: MAE in % of the mean rate. Samples within one interval of an event's edges are left out.
The machine's own other load is in every figure: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.shapes import parse_shape  # noqa: E402

MIB = 1 << 20
SHAPES = {
    "cpu": ("load_percent", {"ramp": [20, 80]}, "cpu_percent", 1.0),
    "memory": ("size_mb", {"ramp": [64, 512]}, "mem_used_bytes", 1 / MIB),
    "disk": ("rate_mb_s", {"steps": [5, 20, 10]}, "disk_write_bytes_per_s", 1 / MIB),
    "network": (
        "rate_mbit_s",
        {"sine": {"mean": 200, "amplitude": 150, "period_s": 8}},
        "net_sent_bytes_per_s",
        8 / 1e6,
    ),
}


def _twin(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cli", *args], capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode != 0:
        raise SystemExit(f"twin {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def _toml(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def _profile(seconds: float, interval: float) -> str:
    lines = [
        'name = "bench-shapes"',
        f"[sampling]\ninterval_s = {interval}",
        '[run]\nmode = "parallel"\nbaseline_s = 2',
    ]
    for kind, (param, shape, _, _) in SHAPES.items():
        extra = ', target = "system"' if kind == "cpu" else ""
        extra += ', mode = "write", fsync = true' if kind == "disk" else ""
        lines.append(
            f'[[events]]\nstressor = "{kind}"\nduration_s = {seconds}\n'
            f"params = {{ {param} = {_toml(shape)}{extra} }}"
        )
    return "\n".join(lines) + "\n"


def _errors(measured: pd.DataFrame, wanted: dict[str, np.ndarray], mask: np.ndarray) -> str:
    out = []
    for kind, (_, _, column, scale) in SHAPES.items():
        got = measured[column].to_numpy() * scale
        want = wanted[kind]
        if kind == "memory":
            got, want = got - got[~mask][:3].mean(), want - want[~mask][:3].mean()
        err = float(np.abs(got[mask] - want[mask]).mean())
        if kind == "cpu":
            out.append(f"cpu MAE {err:.2f} points")
        elif kind == "memory":
            change = float(np.abs(want[mask]).max())
            out.append(f"memory MAE {100 * err / change:.1f} % of the change ({err:.0f} MiB)")
        else:
            out.append(
                f"{kind} MAE {100 * err / float(np.abs(want[mask]).mean()):.1f} % of the rate"
            )
    return "; ".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        work = Path(tmp)
        (work / "shapes.toml").write_text(_profile(args.seconds, args.interval))
        source = Path(_twin("--batch", str(work / "shapes.toml"), "--out", str(work / "runs")))
        data = pd.read_csv(source / "system_metrics_dataset.csv")
        t = data["elapsed_s"].to_numpy()
        start, end = 2.0, 2.0 + args.seconds
        mask = (t > start + args.interval) & (t <= end - args.interval)
        planned = {}
        for kind, (_, shape, column, scale) in SHAPES.items():
            s = parse_shape(shape)
            base = data[column].to_numpy()[t <= start].mean() * scale if kind == "cpu" else 0.0
            level = np.array([s.level_at(x - start - args.interval / 2, args.seconds) for x in t])
            planned[kind] = np.where(mask, level, base)
        print(
            f"shapes vs plan ({args.seconds:g} s at {args.interval:g} s): "
            + _errors(data, planned, mask)
        )
        profile = work / "replay.toml"
        _twin("replay", str(source), "-o", str(profile))
        replay = Path(_twin("--batch", str(profile), "--out", str(work / "replays")))
        again = pd.read_csv(replay / "system_metrics_dataset.csv")
        rows = min(len(again), len(data))
        source_levels = {
            kind: data[column].to_numpy()[:rows] * scale
            for kind, (_, _, column, scale) in SHAPES.items()
        }
        print("replay vs source: " + _errors(again.iloc[:rows], source_levels, mask[:rows]))


if __name__ == "__main__":
    main()
