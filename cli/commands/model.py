"""`twin model fit RUN_DIR... [-o MODEL]`, `twin model show [MODEL]`: the twin's model.

`fit` learns, per metric, a baseline plus each stressor kind's steady-state gain and rise/fall
time constants from the runs (see `core.model`), and writes the model as JSON (default:
`data/models/model-<host id>.json`). `show` prints what a model learnt.

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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twin model", description="fit or show the predictive twin's model"
    )
    sub = parser.add_subparsers(dest="action", required=True)
    fit = sub.add_parser("fit", help="learn a model from recorded runs")
    fit.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR")
    fit.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help=f"model file (default: {DEFAULT_MODELS_DIR}/model-<host id>.json)",
    )
    show = sub.add_parser("show", help="print what a model learnt")
    show.add_argument("model", nargs="?", type=Path, default=None)
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
    lines = [
        f"host {host.get('hostname', '?')} (id {model.host_id or '?'}): "
        f"{model.n_cpus} CPUs, {model.ram_bytes / 1024**3:.1f} GiB RAM",
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


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.action == "fit":
        model, notes = fit_runs(args.runs)
        out = args.output or default_model_path(model.host_id or "unknown")
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
    path = args.model
    if path is None:
        from core.host import host_fingerprint

        path = find_model(str(host_fingerprint()["id"]))
        if path is None:
            raise BadInput(f"no model in {DEFAULT_MODELS_DIR}: run `twin model fit RUN_DIR...`")
    print(describe(load_model(path)))
    return EXIT_OK
