"""The options every command that reads a model shares: which model, and the interval level."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import BadInput
from core.host import host_fingerprint
from core.model import DEFAULT_INTERVAL, DEFAULT_MODELS_DIR, TwinModel, find_model, load_model
from core.model.intervals import check_level


def add_model_options(parser: argparse.ArgumentParser, interval_help: str) -> None:
    """`--model`, the hidden `--models-dir`, and `--interval P`."""
    parser.add_argument(
        "--model", type=Path, default=None, help="model file (default: newest here)"
    )
    parser.add_argument(
        "--models-dir", type=Path, default=DEFAULT_MODELS_DIR, help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--interval", type=float, default=DEFAULT_INTERVAL, metavar="P", help=interval_help
    )


def interval_level(args: argparse.Namespace) -> float:
    """`--interval` checked: a central level strictly between 0 and 1, else bad input."""
    try:
        return check_level(args.interval)
    except ValueError as exc:
        raise BadInput(f"--interval: {exc}") from None


def load_chosen_model(path: Path | None, models_dir: Path) -> tuple[TwinModel, Path]:
    """`--model`, else the newest model for this host in `models_dir`; one line when none."""
    if path is None:
        path = find_model(str(host_fingerprint()["id"]), models_dir)
        if path is None:
            raise BadInput(
                f"no model in {models_dir}: record runs, then `twin model fit RUN_DIR...` "
                "(or give --model)"
            )
    return load_model(path), path
