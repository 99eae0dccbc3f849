"""`twin capacity [PROFILE] [--model M] [--json] [--verify KIND]`: how much more this node takes.

Per stressor kind (cpu `load_percent` on all workers, memory `size_mb`, disk `rate_mb_s`,
network `rate_mbit_s`): how much more of it fits on top of PROFILE (its peak; none: an idle
node) before the first limit is crossed, with the interval's range and the limit that binds
(see `core.model.capacity`). Text: one line per kind. `--json`:
`{"background": NAME|null, "capacity": [{"kind", "param", "value", "lo", "hi", "limit"}]}`.

`--verify KIND` then runs a short real sweep of KIND across the predicted limit (a recorded run
in `--out`, default data/runs) and prints predicted against measured.
Exit codes: 0 done, 1 the verifying run failed, 2 bad input (profile, model, flags).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path

from cli.model_options import add_model_options, interval_level, load_chosen_model
from core.errors import EXIT_OK, BadInput
from core.model import measure_levels, predict_schedule
from core.model.capacity import MEMORY_RESERVE, MIB, PARAMS, UNITS, Capacity, capacity, capacity_of
from core.model.capacity_verify import (
    STEAL_COLUMN,
    STEAL_NOTED_PERCENT,
    binding_metric,
    measured_limit,
    settled_level,
    step_steal,
    verify_schedule,
    with_steal,
)
from core.model.predict import CPU_METRIC
from core.model.store import TwinModel
from core.probes.spec import Tolerance
from core.profile import load_profile, resolve_schedule
from core.rundir.layout import DEFAULT_RUNS_DIR
from core.rundir.read import load_run
from core.schedule import Schedule


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="twin capacity",
        description="how much more of each stressor kind this node can take, from the model",
    )
    p.add_argument("profile", nargs="?", type=Path, help="background load (its peak)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    add_model_options(p, interval_help="interval behind lo/hi (default 0.9)")
    p.add_argument(
        "--verify",
        choices=sorted(PARAMS),
        metavar="KIND",
        help="run a short real sweep of KIND across the predicted limit",
    )
    p.add_argument("--out", type=Path, default=None, help="parent directory of the verify run")
    return p


def _off_by(predicted: float, measured: float | None) -> str:
    """` (+2.3%)`: how far a predicted limit lies from the measured one (nothing to compare: "")."""
    return f" ({(predicted - measured) / measured * 100:+.1f}%)" if measured else ""


def _verify(model: TwinModel, kind: str, level: float, out: Path | None) -> int:
    """Sweep `kind` across the limit predicted from this machine's levels now; print both."""
    from cli.commands.batch import execute
    from core.rundir.write import check_output_parent

    levels = measure_levels(1.0)
    cap = capacity_of(model, kind, baseline=levels, level=level)
    if cap.limit == "none":
        raise BadInput(
            f"--verify {kind}: no limit predicted up to {cap.ceiling:g}: nothing to cross"
        )
    schedule = verify_schedule(model, kind, cap.value, model.interval_s)
    parent = check_output_parent(out or DEFAULT_RUNS_DIR)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = execute(schedule, parent, "")
    run_dir = Path(printed.getvalue().strip().splitlines()[-1])
    data = load_run(run_dir).dataset
    wanted = {*model.metrics, STEAL_COLUMN}
    columns = {c: data[c].to_numpy(dtype=float) for c in data.columns if c in wanted}
    t = data["elapsed_s"].to_numpy(dtype=float)
    steps, measured = measured_limit(model, kind, cap.limit, t, columns, schedule.events)
    pred = predict_schedule(model, schedule, levels, None)
    pt = pred["elapsed_s"].to_numpy(dtype=float)
    metric = binding_metric(cap.limit)
    unit = UNITS[kind]
    print(
        f"verify {kind}: {len(steps)} steps across the predicted limit ({cap.limit}); run {run_dir}"
    )
    # steal: CPU time other guests took, busy in cpu_percent; shown when a step lost much of it
    stolen = step_steal(t, columns, schedule.events) if metric == CPU_METRIC else []
    crossed_at = next((i for i, step in enumerate(steps) if step[2]), len(steps) - 1)
    bearing = stolen[: crossed_at + 1]  # steal past the first crossing moves no limit
    show_steal = bool(bearing) and max(bearing) >= STEAL_NOTED_PERCENT
    print(
        f"{'step ' + unit:>14} {'predicted':>12} {'measured':>12}  crossed"
        + ("  steal %" if show_steal else "")
    )
    predicted = pred[metric].to_numpy(dtype=float)
    for i, ((value, level_measured, crossed), event) in enumerate(
        zip(steps, schedule.events, strict=True)
    ):
        guess = settled_level(pt, predicted, event, metric)
        scale = 1 if metric == CPU_METRIC else MIB
        if cap.limit == MEMORY_RESERVE:  # the MiB the step added, against what it asked
            guess = min(value, cap.value)
            scale = 1
        print(
            f"{value:>14.0f} {guess / scale:>12.1f} {level_measured / scale:>12.1f}  "
            f"{'yes' if crossed else 'no ':<7}" + (f"  {stolen[i]:>7.1f}" if show_steal else "")
        )
    told = ""  # what the model predicts once told of the steal the sweep met
    if show_steal:
        print(
            f"steal: other guests took up to {max(bearing):.0f} % of the CPUs in a step up to the "
            "limit; busy as this node sees it, it lowers the measured limit"
        )
        steal = sum(bearing) / len(bearing)
        told_cap = capacity_of(model, kind, baseline=with_steal(levels, steal), level=level)
        told = (
            f"; told of the sweep's steal ({steal:.1f} % of the CPUs): "
            f"{told_cap.value:.0f} {unit}{_off_by(told_cap.value, measured)}"
        )
    found = (
        "; measured: not crossed within the sweep"
        if measured is None
        else f", measured {measured:.0f} {unit}{_off_by(cap.value, measured)}"
    )
    print(f"predicted limit {cap.value:.0f} {unit}{found}{told}")
    return code


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    level = interval_level(args)
    background: Schedule | None = None
    tolerances: tuple[Tolerance, ...] = ()
    if args.profile is not None:
        profile = load_profile(args.profile)
        background = resolve_schedule(profile)
        if profile.steady_state is not None:
            tolerances = profile.steady_state.tolerances
    model, _ = load_chosen_model(args.model, args.models_dir)
    if args.verify:
        return _verify(model, args.verify, level, args.out)
    answers: list[Capacity] = capacity(model, background, tolerances=tolerances, level=level)
    if args.json:
        name = background.name if background is not None else None
        print(json.dumps({"background": name, "capacity": [a.to_json() for a in answers]}))
    else:
        for answer in answers:
            print(answer.line())
    return EXIT_OK
