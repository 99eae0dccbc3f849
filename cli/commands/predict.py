"""`twin predict PROFILE.toml [--model MODEL] [-o PREDICTION.csv]`: a run's metrics, before it runs.

Resolves the profile into its schedule, predicts every modelled metric on the run's sample
clock (`elapsed_s` = k x interval_s) and prints a summary and the stretches where the plan would
overload the node (memory available under 5%, swap in use, CPU pressure, CPU saturated).
`-o FILE` writes the series as CSV (`elapsed_s` + metric columns named as in the dataset; `-`
for stdout); saved as `RUN_DIR/prediction.csv`, `twin analyze` scores it against the run.

`twin predict --cpu 80 --memory-mb 4096 [--duration 60]` answers a one-off "what if" with the
steady-state levels and the same warnings.

Every metric gets `<metric>_lo`/`<metric>_hi`, the central `--interval P` band (default 0.9);
events whose parameters lie outside the training range warn, per event and parameter.
`--calibrate [S]` starts the prediction from this machine's levels now (one sample over S s)
instead of the model's idle baseline. Default model: the newest in data/models/ for this host;
a model from another host warns.
Exit codes: 0 done (warnings do not fail), 2 bad input (profile, model, flags).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from cli.model_options import add_model_options, interval_level, load_chosen_model
from core.errors import EXIT_OK, BadInput
from core.model import (
    TwinModel,
    forecast_schedule,
    measure_levels,
    whatif_schedule,
    write_prediction,
)
from core.profile import load_profile, resolve_schedule
from core.schedule import Schedule
from core.telemetry import columns as C
from core.telemetry import metric_lists


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="twin predict",
        description="predict a profile's metrics (or a one-off load) with a fitted model",
    )
    p.add_argument("profile", nargs="?", type=Path, help="profile to predict")
    p.add_argument("-o", "--output", default=None, help="write the series as CSV ('-': stdout)")
    p.add_argument(
        "--calibrate",
        type=float,
        nargs="?",
        const=2.0,
        default=None,
        metavar="S",
        help="start from this machine's levels now (one sample over S s, default 2) "
        "instead of the model's idle baseline",
    )
    add_model_options(
        p, interval_help="central prediction interval written as <metric>_lo/_hi (default 0.9)"
    )
    what = p.add_argument_group("one-off what-if (instead of a profile)")
    what.add_argument("--cpu", type=float, default=None, metavar="PERCENT", help="cpu load_percent")
    what.add_argument("--workers", type=int, default=None, help="cpu workers (default: all CPUs)")
    what.add_argument("--memory-mb", type=float, default=None, metavar="MIB", help="memory size")
    what.add_argument("--disk-mb-s", type=float, default=None, metavar="MIB_S", help="disk rate")
    what.add_argument("--disk-mode", default="write", choices=("write", "read", "mixed"))
    what.add_argument("--net-mbit-s", type=float, default=None, metavar="MBIT_S", help="net rate")
    what.add_argument("--duration", type=float, default=60.0, metavar="S", help="what-if length")
    return p


def _human(metric: str, value: float) -> str:
    if metric.endswith("_bytes"):
        return f"{value / 1024**3:.2f} GiB"
    if metric.endswith("_bytes_per_s"):
        return f"{value / 1024**2:.1f} MiB/s"
    if metric.endswith("_percent"):
        return f"{value:.1f}%"
    if metric.endswith("_c"):
        return f"{value:.1f} °C"
    return f"{value:.2f}"


def _load(args: argparse.Namespace) -> tuple[TwinModel, Path]:
    return load_chosen_model(args.model, args.models_dir)


def _summary_metrics(columns: pd.Index) -> list[str]:
    """The data dictionary's `SUMMARY_METRICS`, then CPU/memory/IO pressure and temperatures."""
    pressure = [C.psi_column(resource, "some").name for resource in C.PSI_RESOURCES]
    return metric_lists.pick(columns, (*metric_lists.SUMMARY_METRICS, *pressure), ("temp",))


def _under_load(prediction: pd.DataFrame, schedule: Schedule) -> np.ndarray:
    """Which samples fall inside a planned event (all of them when the plan has none)."""
    t = prediction["elapsed_s"].to_numpy(dtype=float)
    busy = np.zeros(len(t), dtype=bool)
    for e in schedule.events:
        busy |= (t > e.start_s) & (t <= e.end_s)
    return busy if busy.any() else np.ones(len(t), dtype=bool)


def _band(prediction: pd.DataFrame, metric: str, i: int) -> str:
    """`lo-hi` of the interval at sample `i`, when the prediction has one."""
    lo, hi = f"{metric}_lo", f"{metric}_hi"
    if lo not in prediction.columns or hi not in prediction.columns:
        return ""
    low, high = float(prediction[lo].iloc[i]), float(prediction[hi].iloc[i])
    return f"{_human(metric, low)}-{_human(metric, high)}"


def _moves(y: np.ndarray) -> bool:
    """Whether a predicted series changes at all (a flat one has no peak to point at)."""
    return bool(np.ptp(y) > 1e-6 * max(1.0, float(np.abs(y).max())))


def _summary(prediction: pd.DataFrame, schedule: Schedule) -> list[str]:
    """Per main metric: idle start, mean while events run, peak (or low) with its band."""
    metrics = _summary_metrics(prediction.columns)
    lines = [f"{'metric':<24} {'start':>11} {'under load':>11} {'peak':>11}  at      band"]
    t = prediction["elapsed_s"].to_numpy(dtype=float)
    busy = _under_load(prediction, schedule)
    for metric in metrics:
        y = prediction[metric].to_numpy(dtype=float)
        if not len(y):
            continue
        low_is_bad = metric == "mem_available_bytes"
        i = int(np.argmin(y) if low_is_bad else np.argmax(y))
        label = "low" if low_is_bad else "peak"
        where = f"{label} at {t[i]:.1f} s" if _moves(y) else "flat"
        lines.append(
            f"{metric:<24} {_human(metric, y[0]):>11} {_human(metric, float(y[busy].mean())):>11} "
            f"{_human(metric, y[i]):>11}  {where:<14} {_band(prediction, metric, i)}".rstrip()
        )
    return lines


def _whatif_lines(prediction: pd.DataFrame, schedule: Schedule) -> list[str]:
    end = schedule.baseline_s + max((e.duration_s for e in schedule.events), default=0.0)
    before = prediction[prediction["elapsed_s"] <= end]
    row = before.iloc[-1] if len(before) else prediction.iloc[-1]
    idle = prediction.iloc[0]
    lines = [f"{'metric':<24} {'idle':>11} {'steady state':>13}  band"]
    at = int(row.name) if isinstance(row.name, int | np.integer) else len(prediction) - 1
    for metric in prediction.columns:
        if metric == "elapsed_s" or metric.endswith(("_lo", "_hi")):
            continue
        lines.append(
            f"{metric:<24} {_human(metric, float(idle[metric])):>11} "
            f"{_human(metric, float(row[metric])):>13}  {_band(prediction, metric, at)}".rstrip()
        )
    return lines


def main(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    whatif = any(v is not None for v in (args.cpu, args.memory_mb, args.disk_mb_s, args.net_mbit_s))
    if args.profile is None and not whatif:
        raise BadInput("give a PROFILE.toml, or a what-if such as --cpu 80 --memory-mb 4096")
    if args.profile is not None and whatif:
        raise BadInput("give either a profile or what-if flags (--cpu, --memory-mb ...), not both")
    if args.duration <= 0:
        raise BadInput(f"--duration must be positive, not {args.duration:g}")
    if args.profile is not None:
        schedule = resolve_schedule(load_profile(args.profile))
        model, model_path = _load(args)
    else:
        model, model_path = _load(args)
        schedule = whatif_schedule(
            model,
            cpu_percent=args.cpu,
            workers=args.workers,
            memory_mb=args.memory_mb,
            disk_mb_s=args.disk_mb_s,
            disk_mode=args.disk_mode,
            net_mbit_s=args.net_mbit_s,
            duration_s=args.duration,
        )
    levels = None
    if args.calibrate is not None:
        if args.calibrate <= 0:
            raise BadInput(f"--calibrate must be positive, not {args.calibrate:g}")
        levels = measure_levels(args.calibrate)
    interval = interval_level(args)
    told = forecast_schedule(model, schedule, levels, interval)
    prediction = told.series
    to_stdout = args.output == "-"
    out = sys.stderr if to_stdout else sys.stdout
    print(
        f"prediction of {schedule.name}: {len(schedule.events)} event(s), "
        f"{schedule.total_s:g} s at {schedule.interval_s:g} s, {len(prediction)} samples "
        f"(model {model_path})",
        file=out,
    )
    lines = _whatif_lines(prediction, schedule) if whatif else _summary(prediction, schedule)
    for line in lines:
        print(line, file=out)
    for text in told.warnings:
        print(f"twin: warning: {text}", file=sys.stderr)
    for overload in told.overloads:
        print(f"twin: warning: overload: {overload}", file=sys.stderr)
    if not told.overloads:
        print("no overload predicted", file=out)
    if args.output is not None:
        if to_stdout:
            prediction.to_csv(sys.stdout, index=False, float_format="%.6g")
        else:
            try:
                write_prediction(prediction, Path(args.output))
            except OSError as exc:
                raise BadInput(f"{args.output}: cannot write: {exc.strerror or exc}") from None
            print(f"prediction written to {args.output}", file=out)
    return EXIT_OK
