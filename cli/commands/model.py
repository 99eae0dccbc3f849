"""`twin model fit RUN_DIR... [-o MODEL]`, `twin model show [MODEL]`: the twin's model.

`fit` learns, per metric, a baseline plus each stressor kind's steady-state gain and rise/fall
time constants from the runs (see `core.model`), and writes the model as JSON (default:
`data/models/model-<host id>.json`); `fit --add RUN` refits a model with its training runs and
one more. `show` prints what a model learnt, and the fidelity trend of `fidelity.jsonl` beside it.

Exit codes: 0 done; 2 bad input (a directory that is not a run, an unreadable model), one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import EXIT_OK, BadInput
from core.model import (
    DEFAULT_MODELS_DIR,
    TwinModel,
    default_model_path,
    find_model,
    fit_runs,
    load_model,
)
from core.model.percpu import summary as lists_summary
from core.model.record import log_path, read_records, trend_lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twin model", description="fit or show the predictive twin's model"
    )
    sub = parser.add_subparsers(dest="action", required=True)
    fit = sub.add_parser("fit", help="learn a model from recorded runs")
    fit.add_argument("runs", nargs="*", type=Path, metavar="RUN_DIR")
    fit.add_argument(
        "--add",
        type=Path,
        default=None,
        metavar="RUN",
        help="refit the model (-o, else this host's newest) with its training runs and RUN",
    )
    fit.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help=f"model file (default: {DEFAULT_MODELS_DIR}/model-<host id>.json)",
    )
    show = sub.add_parser("show", help="print what a model learnt")
    show.add_argument("model", nargs="?", type=Path, default=None)
    for each in (fit, show):
        each.add_argument(
            "--models-dir", type=Path, default=DEFAULT_MODELS_DIR, help=argparse.SUPPRESS
        )
    return parser


def _fmt(value: float) -> str:
    a = abs(value)
    if a >= 1e9:
        return f"{value / 1e9:.3g}G"
    if a >= 1e6:
        return f"{value / 1e6:.3g}M"
    if a >= 1e4:
        return f"{value / 1e3:.3g}k"
    return f"{value:.3g}"


def describe(model: TwinModel) -> str:
    """A readable summary: host, training runs, and per metric the fit and each kind's term."""
    host = model.host
    used = model.metrics.get("mem_used_bytes")
    lines = [
        f"host {host.get('hostname', '?')} (id {model.host_id or '?'}): "
        f"{model.n_cpus} CPUs, {model.ram_bytes / 1024**3:.1f} GiB RAM; memory fills at "
        + (str(model.fill) if model.fill else "? (no memory event)"),
        "a memory release leaves to drain: "
        + (str(model.release) if model.release else "nothing learnt (too few releases)"),
        "the kernel's per-CPU free lists: "
        + lists_summary(model.pcp_ref_bytes, used.fit if used is not None else {}, model.lists),
        f"trained on {len(model.training_runs)} run(s): "
        + ", ".join(str(r.get("run_id")) for r in model.training_runs),
        "stressor kinds: "
        + (
            ", ".join(
                f"{k} ({v.get('events', 0)} events; {', '.join(v.get('features', []))})"
                for k, v in model.kinds.items()
            )
            or "none"
        ),
        "",
        f"{'metric':<28} {'baseline':>9} {'R2':>6} {'MAE':>9}  "
        "terms (gain per feature; tau rise/fall s)",
    ]
    for name, m in model.metrics.items():
        r2 = m.fit.get("r2")
        mae = m.fit.get("mae")
        terms = "; ".join(
            f"{kind}: "
            + " ".join(f"{f}={_fmt(g)}" for f, g in t.gains.items())
            + f" tau {t.tau_rise_s:g}/{t.tau_fall_s:g}"
            for kind, t in m.terms.items()
        )
        r2_text = f"{r2:.3f}" if isinstance(r2, float) else "-"
        mae_text = _fmt(float(mae)) if isinstance(mae, int | float) else "-"
        lines.append(f"{name:<28} {_fmt(m.baseline):>9} {r2_text:>6} {mae_text:>9}  {terms}")
    return "\n".join(lines)


def _this_host_model(models_dir: Path) -> Path:
    from core.host import host_fingerprint

    path = find_model(str(host_fingerprint()["id"]), models_dir)
    if path is None:
        raise BadInput(f"no model in {models_dir}: run `twin model fit RUN_DIR...`")
    return path


def _runs_to_fit(args: argparse.Namespace) -> tuple[list[Path], Path | None]:
    """The runs to fit and, with `--add`, the model file refitted in place."""
    if args.add is None:
        if not args.runs:
            raise BadInput("give the RUN_DIRs to learn from (or --add RUN to refit a model)")
        return list(args.runs), None
    path = args.output or _this_host_model(args.models_dir)
    old = load_model(path)
    runs = [Path(str(r.get("path", ""))) for r in old.training_runs]
    missing = [str(p) for p in runs if not p.is_dir()]
    if missing:
        raise BadInput(f"{path}: training run {missing[0]} is gone: refit from the runs you have")
    return [*runs, *args.runs, args.add], path


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.action == "fit":
        runs, refit = _runs_to_fit(args)
        model, notes = fit_runs(runs)
        out = (
            refit or args.output or default_model_path(model.host_id or "unknown", args.models_dir)
        )
        try:
            model.save(out)
        except OSError as exc:
            raise BadInput(f"{out}: cannot write the model: {exc.strerror or exc}") from None
        for note in notes:
            print(f"twin: note: {note}", file=sys.stderr)
        print(describe(model))
        print(f"\nmodel written to {out}", file=sys.stderr)
        print(out)
        return EXIT_OK
    path = args.model or _this_host_model(args.models_dir)
    print(describe(load_model(path)))
    trend = trend_lines(read_records(path.parent))
    print(f"\nfidelity on this host ({log_path(path.parent)}):")
    print("\n".join(trend) if trend else "no scored run yet (runs holding a prediction add one)")
    return EXIT_OK
